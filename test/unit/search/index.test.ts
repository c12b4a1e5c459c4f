import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LineupError } from '../../../src-shared/errors'
import { VectorIndex, type SearchResult } from '../../../src-main/engine/search/index'
import { createScorer, JsPanelScorer, type PanelScorer } from '../../../src-main/engine/search/scoring'
import { bruteForce, unitRows } from './helpers'

const js = new JsPanelScorer()
let onnx: PanelScorer
beforeAll(async () => {
  onnx = await createScorer('onnx')
})
afterAll(async () => {
  await onnx.close()
})

function indexOf(
  gallery: Float32Array,
  d: number,
  scorer: PanelScorer,
  panelColumns: number,
  meta: { cameras?: number[]; identities?: number[]; timestamps?: number[] } = {},
): VectorIndex {
  const n = gallery.length / d
  const index = new VectorIndex(d, { scorer, panelColumns, modelKey: 'sha256:test' })
  // Appended in uneven batches so that panels fill, grow and split mid-batch.
  for (let r = 0; r < n;) {
    const m = Math.min(n - r, 1 + ((r * 7919) % 301))
    const slice = <T>(a: T[] | undefined) => a?.slice(r, r + m)
    index.append(
      Int32Array.from({ length: m }, (_, i) => 1000 + r + i),
      gallery.subarray(r * d, (r + m) * d),
      {
        cameras: slice(meta.cameras),
        identities: slice(meta.identities),
        timestamps: slice(meta.timestamps),
      },
    )
    r += m
  }
  return index
}

/** JS kernel: bit-identical to the brute force. ONNX: the i-th similarity agrees to 1e-5 (near-ties may swap). */
function expectRanking(
  got: SearchResult,
  ref: { rows: number[]; sims: Float64Array },
  k: number,
  offset: number,
  exact: boolean,
): void {
  const want = ref.rows.slice(offset, offset + k)
  expect(got.total).toBe(ref.rows.length)
  expect(got.offset).toBe(offset)
  expect([...got.ranks]).toEqual(want.map((_, i) => offset + i + 1))
  expect([...got.ids]).toEqual([...got.rows].map((r) => 1000 + r))
  if (exact) {
    expect([...got.rows]).toEqual(want)
    expect([...got.distances]).toEqual(want.map((r) => Math.max(0, 2 - 2 * ref.sims[r]!)))
    return
  }
  expect(got.rows.length).toBe(want.length)
  expect(new Set(got.rows).size).toBe(got.rows.length)
  for (let i = 0; i < want.length; i++) {
    expect(Math.abs(ref.sims[got.rows[i]!]! - ref.sims[want[i]!]!)).toBeLessThanOrEqual(1e-5)
    expect(Math.abs(got.distances[i]! - (2 - 2 * ref.sims[got.rows[i]!]!))).toBeLessThanOrEqual(2e-5)
  }
}

describe.each([
  ['plain JS', () => js, true],
  ['onnxruntime', () => onnx, false],
] as const)('VectorIndex with the %s kernel', (_name, scorer, exact) => {
  it.each([
    [3, 1000, 64],
    [17, 777, 100],
    [64, 2049, 512],
    [512, 1500, 256],
  ])('finds the exact top-k at d = %i, N = %i, panels of %i (brute force)', async (d, n, P) => {
    const gallery = unitRows(d * 31 + n, n, d)
    const index = indexOf(gallery, d, scorer(), P)
    expect(index.size).toBe(n)
    const q = unitRows(d + 5, 1, d)
    const ref = bruteForce(q, gallery, d)
    for (const k of [1, 10, 100]) expectRanking(await index.search(q, { k }), ref, k, 0, exact)
  })

  it('returns every row when k > N, and pages by offset through the same ranking', async () => {
    const d = 16
    const gallery = unitRows(7, 300, d)
    const index = indexOf(gallery, d, scorer(), 64)
    const q = unitRows(8, 1, d)
    const ref = bruteForce(q, gallery, d)
    expectRanking(await index.search(q, { k: 1000 }), ref, 1000, 0, exact)
    const pages: number[] = []
    for (let offset = 0; offset < 300; offset += 37) {
      const page = await index.search(q, { k: 37, offset })
      expectRanking(page, ref, 37, offset, exact)
      pages.push(...page.rows)
    }
    expect(new Set(pages).size).toBe(300)
    expect((await index.search(q, { k: 5, offset: 300 })).rows.length).toBe(0)
  })

  it('fuses several queries by mean and by max similarity', async () => {
    const d = 32
    const gallery = unitRows(11, 900, d)
    const index = indexOf(gallery, d, scorer(), 128)
    for (const nq of [2, 3, 7]) {
      const qs = unitRows(12 + nq, nq, d)
      for (const fusion of ['mean', 'max'] as const) {
        const got = await index.search(qs, { k: 50, fusion })
        expectRanking(got, bruteForce(qs, gallery, d, fusion), 50, 0, exact)
      }
    }
    // Default fusion is mean.
    const qs = unitRows(40, 3, d)
    expect(await index.search(qs, { k: 20 })).toEqual(await index.search(qs, { k: 20, fusion: 'mean' }))
  })

  it('answers a batch of independent queries like one search each', async () => {
    const d = 24
    const gallery = unitRows(21, 1200, d)
    const index = indexOf(gallery, d, scorer(), 256)
    for (const nq of [2, 9]) {
      const qs = unitRows(22 + nq, nq, d)
      const batch = await index.searchBatch(qs, { k: 30, offset: 5 })
      expect(batch).toHaveLength(nq)
      for (let i = 0; i < nq; i++) {
        expectRanking(batch[i]!, bruteForce(qs.subarray(i * d, (i + 1) * d), gallery, d), 30, 5, exact)
      }
    }
  })

  it('applies each filter, and all of them at once', async () => {
    const d = 20
    const n = 1000
    const gallery = unitRows(31, n, d)
    const cameras = Array.from({ length: n }, (_, r) => r % 7)
    const identities = Array.from({ length: n }, (_, r) => (r % 3 === 0 ? -1 : r % 11))
    const timestamps = Array.from({ length: n }, (_, r) => (r % 13 === 0 ? NaN : 1e12 + r * 1000))
    const index = indexOf(gallery, d, scorer(), 200, { cameras, identities, timestamps })
    const q = unitRows(32, 1, d)
    const cases: [object, (r: number) => boolean][] = [
      [{ cameras: [1, 4] }, (r) => cameras[r] === 1 || cameras[r] === 4],
      [{ cameras: new Set([100000, 2]) }, (r) => cameras[r] === 2],
      [{ excludeCameras: [0] }, (r) => cameras[r] !== 0],
      [{ identity: 5 }, (r) => identities[r] === 5],
      [{ identity: -1 }, (r) => identities[r] === -1],
      [{ timeFrom: 1e12 + 200_000 }, (r) => timestamps[r]! >= 1e12 + 200_000],
      [{ timeTo: 1e12 + 500_000 }, (r) => timestamps[r]! <= 1e12 + 500_000],
      [{ excludeIds: [1000, 1005, 1006, 99] }, (r) => ![0, 5, 6].includes(r)],
      [
        {
          cameras: [1, 2, 3],
          excludeCameras: [3],
          timeFrom: 1e12,
          timeTo: 1e12 + 800_000,
          excludeIds: new Set([1001]),
        },
        (r) => [1, 2].includes(cameras[r]!) && timestamps[r]! <= 1e12 + 800_000 && r !== 1,
      ],
      [{ cameras: [] }, () => false],
      [{}, () => true],
    ]
    for (const [filter, keep] of cases) {
      const ref = bruteForce(q, gallery, d, 'mean', keep)
      expectRanking(await index.search(q, { k: 40, filter }), ref, 40, 0, exact)
      expectRanking(await index.search(q, { k: 40, offset: 10, filter }), ref, 40, 10, exact)
    }
  })

  it('breaks ties by row order, whatever the panel', async () => {
    const d = 8
    const base = unitRows(41, 50, d)
    const gallery = new Float32Array(600 * d)
    for (let r = 0; r < 600; r++) gallery.set(base.subarray((r % 50) * d, ((r % 50) + 1) * d), r * d)
    const index = indexOf(gallery, d, scorer(), 64)
    const q = base.subarray(3 * d, 4 * d)
    const got = await index.search(q, { k: 30 })
    // Rows 3, 53, 103, … hold the query itself: they come first, in row order.
    expect([...got.rows.subarray(0, 12)]).toEqual(Array.from({ length: 12 }, (_, i) => 3 + 50 * i))
    expect(got.distances[0]).toBeLessThan(1e-6)
    const second = got.rows[12]!
    expect([...got.rows.subarray(12, 24)]).toEqual(Array.from({ length: 12 }, (_, i) => second + 50 * i))
    // The third group is cut by k: its first six rows in row order are kept, as a stable sort would.
    expect([...got.rows]).toEqual(bruteForce(q, gallery, d).rows.slice(0, 30))
    expect([...got.rows.subarray(24)]).toEqual(Array.from({ length: 6 }, (_, i) => got.rows[24]! + 50 * i))
    expect(await index.search(q, { k: 30 })).toEqual(got)
  })
})

describe('VectorIndex edge cases', () => {
  it('searches an empty index and an index whose filter keeps nothing', async () => {
    const index = new VectorIndex(4, { scorer: js })
    const q = new Float32Array([1, 0, 0, 0])
    const empty = await index.search(q, { k: 10 })
    expect(empty.total).toBe(0)
    expect(empty.rows.length).toBe(0)
    index.append([1], new Float32Array([0, 1, 0, 0]), { cameras: [2] })
    const none = await index.search(q, { k: 10, filter: { cameras: [3] } })
    expect(none.total).toBe(0)
    expect(none.ids.length).toBe(0)
  })

  it('refuses queries and vectors of the wrong dimension with a clear error', async () => {
    const index = new VectorIndex(4, { scorer: js, modelKey: 'osnet' })
    index.append([1], new Float32Array([0, 1, 0, 0]))
    const bad = index.search(new Float32Array([1, 0, 0]), { k: 1 })
    await expect(bad).rejects.toBeInstanceOf(LineupError)
    await expect(bad).rejects.toThrow(/not a multiple of 4: this index holds 4-d vectors of model osnet/)
    expect(() => index.append([2], new Float32Array(5))).toThrow(/expected 1 × 4/)
    expect(index.size).toBe(1)
  })

  it('refuses non-normalised, NaN and ill-shaped inputs, keeping the index unchanged', async () => {
    const index = new VectorIndex(2, { scorer: js })
    expect(() => index.append([1, 2], new Float32Array([1, 0, 3, 4]))).toThrow(
      /vector 1 of the batch \(crop 2\) has squared norm 25/,
    )
    expect(() => index.append([1], new Float32Array([NaN, 0]))).toThrow(/NaN/)
    expect(() => index.append([1.5], new Float32Array([1, 0]))).toThrow(/not an int32/)
    expect(() => index.append([1], new Float32Array([1, 0]), { cameras: [1, 2] })).toThrow(
      /cameras has 2 values/,
    )
    expect(index.size).toBe(0)
    index.append([1, 2], new Float32Array([1, 0, 0, 0])) // a zero vector is allowed: similarity 0
    const r = await index.search(new Float32Array([0, 1]), { k: 2 })
    expect([...r.distances]).toEqual([2, 2])
    await expect(index.search(new Float32Array([2, 0]), { k: 1 })).rejects.toThrow(
      /query vector 0 has squared norm 4/,
    )
    await expect(index.search(new Float32Array([1, 0]), { k: 0 })).rejects.toThrow(/k must be an integer ≥ 1/)
    await expect(index.search(new Float32Array([1, 0]), { k: 1, offset: -1 })).rejects.toThrow(/offset/)
    await expect(
      index.search(new Float32Array([1, 0, 0, 1]), { k: 1, fusion: 'min' as 'max' }),
    ).rejects.toThrow(/fusion/)
    await expect(index.search(new Float32Array([1, 0]), { k: 1, filter: { identity: 0.5 } })).rejects.toThrow(
      /identity/,
    )
  })

  it('gives back vectors and metadata by row, and rows by crop id', () => {
    const d = 5
    const gallery = unitRows(51, 70, d)
    const index = new VectorIndex(d, { scorer: js, panelColumns: 16 })
    index.append(
      Int32Array.from({ length: 40 }, (_, i) => 500 + i),
      gallery.subarray(0, 40 * d),
      {
        cameras: Array(40).fill(3),
      },
    )
    expect(index.rowOf(539)).toBe(39)
    index.append(
      Int32Array.from({ length: 30 }, (_, i) => 540 + i),
      gallery.subarray(40 * d),
      {
        timestamps: Array(30).fill(7),
      },
    )
    expect(index.rowOf(569)).toBe(69)
    index.append([500], gallery.subarray(0, d)) // a duplicate id: rowOf keeps the first row
    expect(index.rowOf(500)).toBe(0)
    expect(index.rowOf(1)).toBe(-1)
    for (const r of [0, 15, 16, 39, 40, 69])
      expect([...index.vector(r)]).toEqual([...gallery.subarray(r * d, (r + 1) * d)])
    expect(index.row(2)).toEqual({ id: 502, camera: 3, identity: -1, timestamp: NaN })
    expect(index.row(45)).toEqual({ id: 545, camera: -1, identity: -1, timestamp: 7 })
    expect(() => index.row(71)).toThrow(/out of range/)
  })

  it('reserves panels of exactly the announced size, and still grows past it', async () => {
    const d = 4
    const g = unitRows(71, 100, d)
    const index = new VectorIndex(d, { scorer: js, panelColumns: 32 })
    index.append(
      Int32Array.from({ length: 10 }, (_, i) => i),
      g.subarray(0, 10 * d),
    )
    index.reserve(70)
    const capacities = () => index.layout().panels.map((p) => p.capacity)
    expect(capacities()).toEqual([32, 32, 6])
    index.append(
      Int32Array.from({ length: 60 }, (_, i) => 10 + i),
      g.subarray(10 * d, 70 * d),
    )
    expect(capacities()).toEqual([32, 32, 6])
    index.append(
      Int32Array.from({ length: 30 }, (_, i) => 70 + i),
      g.subarray(70 * d),
    )
    expect(capacities()).toEqual([32, 32, 32, 32])
    expect(index.vector(69)).toEqual(g.subarray(69 * d, 70 * d))
    const q = g.subarray(50 * d, 51 * d)
    expect((await index.search(q, { k: 100 })).rows).toEqual(Int32Array.from(bruteForce(q, g, d).rows))
    expect(() => index.reserve(-1)).toThrow(/rows/)
  })

  it('ranks rows appended after a search on the next search', async () => {
    const d = 6
    const index = new VectorIndex(d, { scorer: js, panelColumns: 8 })
    const g = unitRows(61, 30, d)
    index.append(
      Int32Array.from({ length: 20 }, (_, i) => i),
      g.subarray(0, 20 * d),
    )
    const q = g.subarray(25 * d, 26 * d)
    expect((await index.search(q, { k: 1 })).ids[0]).not.toBe(25)
    index.append(
      Int32Array.from({ length: 10 }, (_, i) => 20 + i),
      g.subarray(20 * d),
    )
    expect((await index.search(q, { k: 1 })).ids[0]).toBe(25)
  })

  it('uses the default kernel when given none, and carries the model key', async () => {
    const index = new VectorIndex(3, { modelKey: 'builtin:stripes@1' })
    index.append([7, 8], new Float32Array([1, 0, 0, 0, 1, 0]))
    const r = await index.search(new Float32Array([0, 1, 0]), { k: 1 })
    expect(r.modelKey).toBe('builtin:stripes@1')
    expect([...r.ids]).toEqual([8])
    expect(index.scorer?.description).toMatch(/onnxruntime-node .* MatMul/)
  })
})
