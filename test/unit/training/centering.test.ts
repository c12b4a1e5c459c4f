/**
 * Camera centering (training/centering.ts): per-camera means with the library's mean as fallback,
 * normalise(x − μ) per row, stable bytes, and the stored form read back or refused.
 */
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { LineupError } from '../../../src-shared/errors'
import {
  centerRows,
  centeringFromStored,
  centeringMeansBytes,
  fitCentering,
  hashCentering,
} from '../../../src-main/engine/training/centering'

const D = 3
/** Rows: 3 of camera a, 2 of b, 1 of c, 1 unknown. */
const X = Float32Array.from([1, 0, 0, 0.6, 0.4, 0, 0, 1, 0, 0, 0, 1, 0, 0.6, 0.8, 1, 1, 1, -1, 0, 0])
const CAMS = ['a', 'a', 'a', 'b', 'b', 'c', null]

function mean(rows: number[]): number[] {
  return [0, 1, 2].map((k) => rows.reduce((s, r) => s + X[r * D + k]!, 0) / rows.length)
}

describe('fitCentering', () => {
  it('keeps a mean per camera with enough crops (sorted by name) and the mean of all rows first', () => {
    const c = fitCentering(X, 7, D, CAMS, 2)
    expect(c.cameras).toEqual(['a', 'b'])
    expect(Array.from(c.means.subarray(0, 3))).toEqual(mean([0, 1, 2, 3, 4, 5, 6]).map(Math.fround))
    expect(Array.from(c.means.subarray(3, 6))).toEqual(mean([0, 1, 2]).map(Math.fround))
    expect(Array.from(c.means.subarray(6, 9))).toEqual(mean([3, 4]).map(Math.fround))
    expect(c.means).toHaveLength(9)
  })

  it('gives the same bytes whatever order the cameras first appear in', () => {
    const order = [4, 3, 6, 5, 2, 1, 0]
    const x = new Float32Array(7 * D)
    order.forEach((r, i) => x.set(X.subarray(r * D, (r + 1) * D), i * D))
    const a = fitCentering(X, 7, D, CAMS, 2)
    const b = fitCentering(
      x,
      7,
      D,
      order.map((r) => CAMS[r]!),
      2,
    )
    expect(b.cameras).toEqual(a.cameras)
    for (let i = 0; i < a.means.length; i++) expect(b.means[i]).toBeCloseTo(a.means[i]!, 6)
  })

  it('uses the default minimum of 20 crops per camera', () => {
    expect(fitCentering(X, 7, D, CAMS).cameras).toEqual([])
  })

  it('refuses no rows or a camera list of another length', () => {
    expect(() => fitCentering(new Float32Array(0), 0, D, [])).toThrow(RangeError)
    expect(() => fitCentering(X, 7, D, CAMS.slice(1))).toThrow(/7 rows but 6 cameras/)
  })
})

describe('centerRows', () => {
  const c = fitCentering(X, 7, D, CAMS, 2)

  it('subtracts the camera mean (the library mean for unknown, unmeasured or absent cameras) and normalises', () => {
    const out = centerRows(c, X, 7, CAMS)
    const none = centerRows(c, X, 7)
    const expectRow = (r: number, mu: number[], got = out) => {
      const v = [0, 1, 2].map((k) => X[r * D + k]! - mu[k]!)
      const n = Math.hypot(...v)
      for (let k = 0; k < D; k++) expect(got[r * D + k]).toBeCloseTo(v[k]! / n, 6)
    }
    const all = Array.from(c.means.subarray(0, 3))
    expectRow(0, Array.from(c.means.subarray(3, 6)))
    expectRow(3, Array.from(c.means.subarray(6, 9)))
    expectRow(5, all) // camera c: too few crops
    expectRow(6, all) // no camera
    expectRow(0, all, none)
    for (let k = 0; k < D; k++) expect(none[6 * D + k]).toBe(out[6 * D + k])
    const unknown = centerRows(c, X, 7, ['z', 'z', 'z', 'z', 'z', 'z', 'z'])
    expect(Array.from(unknown)).toEqual(Array.from(none))
  })

  it('gives unit rows, and zeros for a row equal to its mean', () => {
    const out = centerRows(c, X, 7, CAMS)
    for (let r = 0; r < 7; r++) expect(Math.hypot(...out.subarray(r * D, (r + 1) * D))).toBeCloseTo(1, 6)
    const atMean = centerRows(c, c.means.slice(3, 6), 1, ['a'])
    expect(Array.from(atMean)).toEqual([0, 0, 0])
  })

  it('refuses too few values or a camera list of another length', () => {
    expect(() => centerRows(c, X, 8, null as never)).toThrow(RangeError)
    expect(() => centerRows(c, X, 7, ['a'])).toThrow(/7 rows but 1 cameras/)
  })
})

describe('stored form', () => {
  const c = fitCentering(X, 7, D, CAMS, 2)

  it('reads back what it wrote, and hashes cameras and means', () => {
    const back = centeringFromStored(D, JSON.stringify(c.cameras), centeringMeansBytes(c))
    expect(back).toEqual(c)
    const h = (x: typeof c) => {
      const hash = createHash('sha256')
      hashCentering(hash, x)
      return hash.digest('hex')
    }
    expect(h(back)).toBe(h(c))
    expect(h({ ...c, cameras: ['a', 'x'] })).not.toBe(h(c))
    const means = c.means.slice()
    means[4] = means[4]! + 1e-6
    expect(h({ ...c, means })).not.toBe(h(c))
  })

  it('refuses names that are not a list of strings, or means of the wrong size', () => {
    const bytes = centeringMeansBytes(c)
    for (const bad of ['', '{', '{"a":1}', '[1,2]'])
      expect(() => centeringFromStored(D, bad, bytes)).toThrow(LineupError)
    expect(() => centeringFromStored(D, '["a"]', bytes)).toThrow(/holds 36 bytes; 2 means of 3 need 24/)
  })
})
