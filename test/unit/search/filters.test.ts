import { describe, expect, it } from 'vitest'
import { filterMask, type FilterColumns } from '../../../src-main/engine/search/filters'

const cols: FilterColumns = {
  size: 6,
  ids: Int32Array.from([10, 11, 12, 13, 14, 15]),
  cameras: Int32Array.from([0, 1, 2, 70000, -1, 1]),
  identities: Int32Array.from([-1, 4, 4, 5, -1, 4]),
  timestamps: Float64Array.from([100, 200, NaN, 400, 500, 600]),
}
const rows = (f: Parameters<typeof filterMask>[0]) => {
  const m = filterMask(f, cols)
  return m === null ? null : { rows: [...m.mask.keys()].filter((r) => m.mask[r] === 1), total: m.total }
}

describe('filterMask', () => {
  it('is null (every row passes) for no filter or an empty one', () => {
    expect(rows(undefined)).toBeNull()
    expect(rows({})).toBeNull()
    expect(rows({ excludeIds: [] })).toBeNull()
  })

  it('keeps cameras in the list, large or negative ids included', () => {
    expect(rows({ cameras: [1] })).toEqual({ rows: [1, 5], total: 2 })
    expect(rows({ cameras: new Set([70000, -1]) })).toEqual({ rows: [3, 4], total: 2 })
    expect(rows({ cameras: [] })).toEqual({ rows: [], total: 0 })
  })

  it('drops excluded cameras and excluded crop ids', () => {
    expect(rows({ excludeCameras: [1, 70000] })).toEqual({ rows: [0, 2, 4], total: 3 })
    expect(rows({ excludeIds: new Set([12, 15, 99]) })).toEqual({ rows: [0, 1, 3, 4], total: 4 })
  })

  it('keeps one identity, and a closed time window that rows without a time never match', () => {
    expect(rows({ identity: 4 })).toEqual({ rows: [1, 2, 5], total: 3 })
    expect(rows({ identity: -1 })).toEqual({ rows: [0, 4], total: 2 })
    expect(rows({ timeFrom: 200, timeTo: 500 })).toEqual({ rows: [1, 3, 4], total: 3 })
    expect(rows({ timeTo: 1e9 })).toEqual({ rows: [0, 1, 3, 4, 5], total: 5 })
  })

  it('combines conditions with and', () => {
    expect(rows({ identity: 4, excludeCameras: [2], timeFrom: 300 })).toEqual({ rows: [5], total: 1 })
  })

  it('names the field of a malformed filter', () => {
    expect(() => filterMask({ cameras: [1.5] }, cols)).toThrow(/filter.cameras/)
    expect(() => filterMask({ excludeCameras: [NaN] }, cols)).toThrow(/filter.excludeCameras/)
    expect(() => filterMask({ identity: 0.5 }, cols)).toThrow(/filter.identity/)
    expect(() => filterMask({ timeFrom: NaN }, cols)).toThrow(/filter.timeFrom/)
    expect(() => filterMask({ excludeIds: ['x' as unknown as number] }, cols)).toThrow(/filter.excludeIds/)
  })
})
