import { describe, expect, it } from 'vitest'
import {
  cosine,
  cosineAllPairs,
  squaredEuclidean,
  squaredEuclideanAllPairs,
} from '../../../src-main/engine/ranking/distances'
import {
  dotRows,
  forEachDotTile,
  RowSmallestK,
  squaredDistance,
} from '../../../src-main/engine/ranking/matrix'
import { gaussian, rng } from '../../reference/harness'

function randomRows(seed: number, n: number, d: number): Float32Array {
  const normal = gaussian(rng(seed))
  return new Float32Array(n * d).map(() => normal())
}

/** The definitions, by naive double loops in doubles. */
function naiveSquared(q: Float32Array, g: Float32Array, d: number): Float64Array {
  const nq = q.length / d
  const ng = g.length / d
  const out = new Float64Array(nq * ng)
  for (let i = 0; i < nq; i++) {
    for (let j = 0; j < ng; j++) {
      let s = 0
      for (let k = 0; k < d; k++) s += (q[i * d + k]! - g[j * d + k]!) ** 2
      out[i * ng + j] = s
    }
  }
  return out
}

function naiveCosine(q: Float32Array, g: Float32Array, d: number): Float64Array {
  const nq = q.length / d
  const ng = g.length / d
  const out = new Float64Array(nq * ng)
  for (let i = 0; i < nq; i++) {
    for (let j = 0; j < ng; j++) {
      let dot = 0
      let a = 0
      let b = 0
      for (let k = 0; k < d; k++) {
        dot += q[i * d + k]! * g[j * d + k]!
        a += q[i * d + k]! ** 2
        b += g[j * d + k]! ** 2
      }
      out[i * ng + j] = a === 0 || b === 0 ? 1 : 1 - dot / Math.sqrt(a * b)
    }
  }
  return out
}

/** Largest |got − want| relative to the scale of the values (|q|² + |g|² for squared distances). */
function maxError(got: Float32Array, want: Float64Array, scale: number): number {
  let worst = 0
  for (let t = 0; t < want.length; t++) worst = Math.max(worst, Math.abs(got[t]! - want[t]!) / scale)
  return worst
}

// Shapes chosen to hit the kernel's edges: rows not multiples of its 3×4 block, more than one
// 48-row tile, several packed gallery blocks (at d = 600 a block holds 216 rows), and d = 1.
const shapes: [number, number, number][] = [
  [1, 1, 1],
  [5, 7, 1],
  [2, 3, 5],
  [50, 70, 16],
  [4, 450, 600],
  [49, 9, 33],
]

describe('squared Euclidean distances', () => {
  it.each(shapes)('match naive double loops for %i×%i queries×gallery, d = %i', (nq, ng, d) => {
    const q = randomRows(nq * 1000 + d, nq, d)
    const g = randomRows(ng * 1000 + d + 1, ng, d)
    const got = squaredEuclidean(q, g, d)
    expect(got.length).toBe(nq * ng)
    // Float32 output: relative error ~6e-8 of the norms involved (here ~2d).
    expect(maxError(got, naiveSquared(q, g, d), 4 * d)).toBeLessThan(1e-6)
  })

  it('are exactly 0 for identical rows, never negative, and equal for duplicate gallery rows', () => {
    const d = 37
    const q = randomRows(3, 10, d)
    const g = new Float32Array(60 * d)
    g.set(randomRows(4, 60, d))
    g.set(q.subarray(2 * d, 3 * d), 41 * d) // gallery 41 = query 2
    g.set(g.subarray(5 * d, 6 * d), 58 * d) // gallery 58 = gallery 5, in another tile position
    const D = squaredEuclidean(q, g, d)
    expect(D[2 * 60 + 41]).toBe(0)
    for (let i = 0; i < 10; i++) expect(D[i * 60 + 58]).toBe(D[i * 60 + 5])
    expect(Math.min(...D)).toBeGreaterThanOrEqual(0)
  })

  it('clamp at 0 the small negative values that cancellation leaves for near-identical rows', () => {
    // |a|² + |b|² − 2a·b in doubles: 1 + 1 − 2·(1 + 2⁻⁵²) = −2⁻⁵¹ before the clamp.
    expect(1 + 1 - 2 * (1 + 2 ** -52)).toBeLessThan(0)
    expect(squaredDistance(1, 1, 1 + 2 ** -52)).toBe(0)
    expect(squaredDistance(1, 4, 1)).toBe(3)
  })

  it('all-pairs equals query×gallery of the matrix with itself, exactly symmetric with a zero diagonal', () => {
    for (const [n, d] of [
      [1, 3],
      [7, 1],
      [101, 24],
    ] as const) {
      const x = randomRows(n + d, n, d)
      const all = squaredEuclideanAllPairs(x, d)
      expect(all).toEqual(squaredEuclidean(x, x, d))
      for (let i = 0; i < n; i++) {
        expect(all[i * n + i]).toBe(0)
        for (let j = 0; j < i; j++) expect(all[i * n + j]).toBe(all[j * n + i])
      }
    }
  })

  it('give NaN, not a clamped 0, for a row holding NaN', () => {
    const q = Float32Array.from([Number.NaN, 1, 0, 1])
    const D = squaredEuclidean(q, Float32Array.from([0, 1]), 2)
    expect(D[0]).toBeNaN()
    expect(D[1]).toBe(0)
  })

  it('writes into a caller buffer of the right size and returns it', () => {
    const q = randomRows(1, 3, 4)
    const g = randomRows(2, 5, 4)
    const out = new Float32Array(15).fill(-1)
    expect(squaredEuclidean(q, g, 4, out)).toBe(out)
    expect(out).toEqual(squaredEuclidean(q, g, 4))
  })

  it('handles empty inputs', () => {
    expect(squaredEuclidean(new Float32Array(0), randomRows(1, 3, 2), 2)).toEqual(new Float32Array(0))
    expect(squaredEuclideanAllPairs(new Float32Array(0), 4)).toEqual(new Float32Array(0))
  })

  it('refuses wrong shapes with a clear message', () => {
    expect(() => squaredEuclidean(new Float32Array(7), new Float32Array(6), 3)).toThrow(
      /q has 7 values, not a multiple of d = 3/,
    )
    expect(() => squaredEuclidean(new Float32Array(6), new Float32Array(7), 3)).toThrow(/g has 7 values/)
    expect(() => squaredEuclidean(new Float32Array(6), new Float32Array(6), 0)).toThrow(/positive integer/)
    expect(() => squaredEuclidean(new Float32Array(6), new Float32Array(6), 1.5)).toThrow(/positive integer/)
    expect(() => squaredEuclidean(new Float32Array(6), new Float32Array(9), 3, new Float32Array(5))).toThrow(
      /out has 5 values, expected nq×ng = 2×3 = 6/,
    )
    expect(() => squaredEuclideanAllPairs(new Float32Array(6), 3, new Float32Array(3))).toThrow(
      /n×n = 2×2 = 4/,
    )
  })
})

describe('cosine distances', () => {
  it.each(shapes)('match naive double loops for %i×%i, d = %i', (nq, ng, d) => {
    const q = randomRows(nq + 7, nq, d)
    const g = randomRows(ng + 9, ng, d)
    expect(maxError(cosine(q, g, d), naiveCosine(q, g, d), 1)).toBeLessThan(1e-6)
  })

  it('are 0 for parallel rows, 1 for orthogonal ones, 2 for opposite ones, whatever the length', () => {
    const q = Float32Array.from([3, 4])
    const g = Float32Array.from([6, 8, -4, 3, -0.3, -0.4])
    const D = cosine(q, g, 2)
    expect(D[0]).toBeCloseTo(0, 7)
    expect(D[1]).toBeCloseTo(1, 7)
    expect(D[2]).toBeCloseTo(2, 7)
  })

  it('put a zero vector at distance 1 from everything, and 0 from itself on the all-pairs diagonal', () => {
    const x = Float32Array.from([0, 0, 1, 2, 0, 0])
    expect(Array.from(cosine(x, x, 2))).toEqual([1, 1, 1, 1, 0, 1, 1, 1, 1])
    expect(Array.from(cosineAllPairs(x, 2))).toEqual([0, 1, 1, 1, 0, 1, 1, 1, 0])
  })

  it('all-pairs is exactly symmetric, zero on the diagonal, and equals query×gallery off it', () => {
    const n = 60
    const x = randomRows(5, n, 9)
    const all = cosineAllPairs(x, 9)
    const qg = cosine(x, x, 9)
    for (let i = 0; i < n; i++) {
      expect(all[i * n + i]).toBe(0)
      for (let j = 0; j < n; j++) if (i !== j) expect(all[i * n + j]).toBe(qg[i * n + j])
    }
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) expect(all[i * n + j]).toBe(all[j * n + i])
  })
})

describe('the blocked dot-product engine', () => {
  it('computes every pair exactly as the canonical sequential dot product, in any tile', () => {
    // d = 45: gallery blocks of 256 rows, so 600 rows make three blocks (256, 256, 88).
    const d = 45
    const a = randomRows(8, 53, d)
    const b = randomRows(9, 600, d)
    const seen = new Uint8Array(53 * 600)
    let wrong = 0
    forEachDotTile(a, b, d, (i0, i1, j0, j1, dots, stride) => {
      for (let i = i0; i < i1; i++) {
        for (let j = j0; j < j1; j++) {
          if (dots[(i - i0) * stride + (j - j0)] !== dotRows(a, i, b, j, d)) wrong++
          seen[i * 600 + j]!++
        }
      }
    })
    expect(wrong).toBe(0)
    expect(seen.every((c) => c === 1)).toBe(true)
  })

  it('in symmetric mode visits every pair with i ≤ j at least once, across blocks', () => {
    const d = 3
    const n = 700
    const x = randomRows(10, n, d)
    const seen = new Uint8Array(n * n)
    forEachDotTile(
      x,
      x,
      d,
      (i0, i1, j0, j1) => {
        for (let i = i0; i < i1; i++) for (let j = j0; j < j1; j++) seen[i * n + j] = 1
      },
      true,
    )
    let missed = 0
    for (let i = 0; i < n; i++) for (let j = i; j < n; j++) missed += 1 - seen[i * n + j]!
    expect(missed).toBe(0)
  })
})

describe('RowSmallestK', () => {
  it('keeps the k smallest of each row as a stable sort would, whatever the arrival order', () => {
    const rand = rng(77)
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + Math.floor(rand() * 40)
      const k = 1 + Math.floor(rand() * 10)
      const values = Array.from({ length: n }, () => Math.floor(rand() * 6))
      const arrival = [...values.keys()].sort(() => rand() - 0.5)
      const top = new RowSmallestK(1, k)
      for (const j of arrival) top.push(0, values[j]!, j)
      const want = [...values.keys()].sort((a, b) => values[a]! - values[b]! || a - b).slice(0, k)
      expect(Array.from(top.indices.subarray(0, top.sizes[0]))).toEqual(want)
    }
  })
})
