/** The projection head in plain TypeScript (src-main/engine/training/head.ts). */
import { describe, expect, it } from 'vitest'
import {
  applyHead,
  gatherRows,
  headHash,
  initHead,
  type HeadWeights,
} from '../../../src-main/engine/training/head'
import { mulberry32 } from '../ranking/helpers'

function normal(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand())
}

/** L2-normalised rows with a different spread per dimension (so the principal axes are distinct). */
function anisotropic(seed: number, rows: number, dim: number): Float32Array {
  const rand = mulberry32(seed)
  const x = new Float32Array(rows * dim)
  for (let r = 0; r < rows; r++) {
    let s = 0
    for (let k = 0; k < dim; k++) {
      const v = normal(rand) * (1 + k / 3) + (k === 0 ? 0.5 : 0)
      x[r * dim + k] = v
      s += v * v
    }
    for (let k = 0; k < dim; k++) x[r * dim + k]! /= Math.sqrt(s)
  }
  return x
}

function sqDistances(x: Float32Array, n: number, d: number): Float64Array {
  const D = new Float64Array(n * n)
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0
      for (let k = 0; k < d; k++) s += (x[i * d + k]! - x[j * d + k]!) ** 2
      D[i * n + j] = s
    }
  return D
}

/** Column gram matrix WᵀW of an inDim × outDim row-major W. */
function gram(h: HeadWeights): Float64Array {
  const { inDim, outDim, W } = h
  const G = new Float64Array(outDim * outDim)
  for (let a = 0; a < outDim; a++)
    for (let b = 0; b < outDim; b++) {
      let s = 0
      for (let i = 0; i < inDim; i++) s += W[i * outDim + a]! * W[i * outDim + b]!
      G[a * outDim + b] = s
    }
  return G
}

describe('initHead', () => {
  it('with outDim = inDim is a rotation: every pairwise-distance ranking is preserved exactly', () => {
    const n = 80
    const d = 24
    const x = anisotropic(1, n, d)
    const h = initHead(x, n, d, d)
    expect(h.b.every((v) => v === 0)).toBe(true)
    const G = gram(h)
    for (let a = 0; a < d; a++)
      for (let b = 0; b < d; b++) expect(Math.abs(G[a * d + b]! - (a === b ? 1 : 0))).toBeLessThan(1e-5)

    const f = applyHead(h, x)
    const D0 = sqDistances(x, n, d)
    const D1 = sqDistances(f, n, d)
    let pairsChecked = 0
    for (let q = 0; q < n; q++) {
      // The distances themselves agree to float precision...
      for (let j = 0; j < n; j++) expect(Math.abs(D1[q * n + j]! - D0[q * n + j]!)).toBeLessThan(1e-5)
      // ...and so does the order of every pair whose distances are not within that precision.
      const byRaw = Array.from({ length: n }, (_, j) => j)
        .filter((j) => j !== q)
        .sort((a, b) => D0[q * n + a]! - D0[q * n + b]!)
      for (let t = 0; t + 1 < byRaw.length; t++) {
        const a = byRaw[t]!
        const b = byRaw[t + 1]!
        if (D0[q * n + b]! - D0[q * n + a]! < 1e-5) continue
        pairsChecked++
        expect(D1[q * n + a]!).toBeLessThan(D1[q * n + b]!)
      }
    }
    expect(pairsChecked).toBeGreaterThan(n * (n - 2) * 0.95)
  })

  it('with outDim < inDim keeps the top principal axes (orthonormal columns, most energy first)', () => {
    const n = 200
    const d = 16
    const x = anisotropic(2, n, d)
    const h = initHead(x, n, d, 5)
    expect(h.W.length).toBe(d * 5)
    expect(h.b.length).toBe(5)
    const G = gram(h)
    for (let a = 0; a < 5; a++)
      for (let b = 0; b < 5; b++) expect(Math.abs(G[a * 5 + b]! - (a === b ? 1 : 0))).toBeLessThan(1e-5)
    // Energy Σ_r (x_r·w_k)² per column: non-increasing, and the top-5 subspace holds more energy than
    // any coordinate subspace of 5 dimensions (here the 5 widest: the last ones).
    const energy = (col: (r: number, i: number) => number, cols: number) => {
      const e = new Float64Array(cols)
      for (let r = 0; r < n; r++)
        for (let k = 0; k < cols; k++) {
          let s = 0
          for (let i = 0; i < d; i++) s += x[r * d + i]! * col(i, k)
          e[k]! += s * s
        }
      return e
    }
    const e = energy((i, k) => h.W[i * 5 + k]!, 5)
    for (let k = 1; k < 5; k++) expect(e[k]!).toBeLessThanOrEqual(e[k - 1]! * (1 + 1e-9))
    const coord = energy((i, k) => (i === d - 1 - k ? 1 : 0), 5)
    expect(e.reduce((a, b) => a + b, 0)).toBeGreaterThan(coord.reduce((a, b) => a + b, 0))
    // Signs fixed: each column's largest-magnitude entry is positive.
    for (let k = 0; k < 5; k++) {
      let best = 0
      for (let i = 0; i < d; i++) if (Math.abs(h.W[i * 5 + k]!) > Math.abs(best)) best = h.W[i * 5 + k]!
      expect(best).toBeGreaterThan(0)
    }
  })

  it('is deterministic, and refuses impossible shapes', () => {
    const x = anisotropic(3, 30, 8)
    expect(headHash(initHead(x, 30, 8, 4))).toBe(headHash(initHead(x, 30, 8, 4)))
    expect(() => initHead(x, 30, 8, 9)).toThrow(RangeError)
    expect(() => initHead(x, 30, 8, 9)).toThrow(/output \(9\) cannot exceed its input \(8\)/)
    expect(() => initHead(x, 0, 8, 4)).toThrow(/at least one feature row/)
  })
})

describe('applyHead', () => {
  function randomHead(seed: number, inDim: number, outDim: number): HeadWeights {
    const rand = mulberry32(seed)
    return {
      inDim,
      outDim,
      W: new Float32Array(inDim * outDim).map(() => rand() * 2 - 1),
      b: new Float32Array(outDim).map(() => rand() - 0.5),
    }
  }

  it.each([1, 2, 3, 4, 5, 7, 13])('gives unit-length rows equal to normalise(x·W + b), %i rows', (rows) => {
    const h = randomHead(rows, 12, 7)
    const x = anisotropic(rows + 100, rows, 12)
    const f = applyHead(h, x, rows)
    expect(f.length).toBe(rows * 7)
    for (let r = 0; r < rows; r++) {
      const y = Array.from({ length: 7 }, (_, k) => {
        let s = h.b[k]!
        for (let i = 0; i < 12; i++) s += x[r * 12 + i]! * h.W[i * 7 + k]!
        return s
      })
      const norm = Math.hypot(...y)
      let len = 0
      for (let k = 0; k < 7; k++) {
        expect(Math.abs(f[r * 7 + k]! - y[k]! / norm)).toBeLessThan(1e-6)
        len += f[r * 7 + k]! ** 2
      }
      expect(Math.abs(Math.sqrt(len) - 1)).toBeLessThan(1e-6)
    }
    // Without the row count, all rows.
    expect(applyHead(h, x)).toEqual(f)
  })

  it('leaves a zero output row zero, and refuses a ragged feature array', () => {
    const h: HeadWeights = { inDim: 3, outDim: 2, W: new Float32Array(6).fill(1), b: new Float32Array(2) }
    const f = applyHead(h, Float32Array.from([0, 0, 0, 1, 0, 0]))
    expect([...f.subarray(0, 2)]).toEqual([0, 0])
    expect(Math.hypot(f[2]!, f[3]!)).toBeCloseTo(1, 6)
    expect(() => applyHead(h, new Float32Array(7))).toThrow(RangeError)
    expect(() => applyHead(h, new Float32Array(6), 3)).toThrow(/not a whole number of 3-d rows/)
  })

  it('gatherRows copies the named rows in order', () => {
    const x = Float32Array.from([0, 1, 10, 11, 20, 21])
    expect([...gatherRows(x, 2, [2, 0, 2])]).toEqual([20, 21, 0, 1, 20, 21])
  })
})

describe('headHash', () => {
  const base = (): HeadWeights => ({
    inDim: 4,
    outDim: 3,
    W: Float32Array.from({ length: 12 }, (_, i) => i / 7),
    b: Float32Array.from([0.1, 0.2, 0.3]),
  })

  it('is a SHA-256 hex digest, equal for equal heads', () => {
    expect(headHash(base())).toMatch(/^[0-9a-f]{64}$/)
    expect(headHash(base())).toBe(headHash(base()))
  })

  it('changes when any one weight changes, even by one ulp', () => {
    const h0 = headHash(base())
    for (let i = 0; i < 12; i++) {
      const h = base()
      const bits = new Uint32Array(h.W.buffer)
      bits[i]! += 1
      expect(headHash(h), `W[${i}]`).not.toBe(h0)
    }
    for (let i = 0; i < 3; i++) {
      const h = base()
      h.b[i] = -h.b[i]!
      expect(headHash(h), `b[${i}]`).not.toBe(h0)
    }
  })

  it('tells shapes apart, and hashes only the viewed bytes of a subarray', () => {
    const h = base()
    expect(headHash({ ...h, inDim: 3, outDim: 4 })).not.toBe(headHash(h))
    const big = new Float32Array(20)
    big.set(h.W, 5)
    const bigB = new Float32Array(10)
    bigB.set(h.b, 2)
    expect(headHash({ ...h, W: big.subarray(5, 17), b: bigB.subarray(2, 5) })).toBe(headHash(h))
  })
})
