import { dotRows } from '../../../src-main/engine/ranking/matrix'
import { gaussian, rng } from '../../reference/harness'

/** n random unit vectors of dimension d (row-major), seeded. */
export function unitRows(seed: number, n: number, d: number): Float32Array {
  const normal = gaussian(rng(seed))
  const x = new Float32Array(n * d)
  for (let i = 0; i < n; i++) {
    let s = 0
    for (let k = 0; k < d; k++) {
      const v = normal()
      x[i * d + k] = v
      s += v * v
    }
    const inv = 1 / Math.sqrt(s)
    for (let k = 0; k < d; k++) x[i * d + k]! *= inv
  }
  return x
}

/**
 * The brute-force ranking: similarity of every row to the query (the canonical dot product of
 * ranking/matrix.ts, rounded to float32 as the kernels return it), rows that pass `keep`, sorted
 * by similarity descending then row ascending.
 */
export function bruteForce(
  queries: Float32Array,
  gallery: Float32Array,
  d: number,
  fusion: 'mean' | 'max' = 'mean',
  keep: (row: number) => boolean = () => true,
): { rows: number[]; sims: Float64Array } {
  const n = gallery.length / d
  const nq = queries.length / d
  let q = queries
  if (fusion === 'mean' && nq > 1) {
    const mean = new Float64Array(d)
    for (let i = 0; i < nq; i++) for (let k = 0; k < d; k++) mean[k]! += queries[i * d + k]!
    q = Float32Array.from(mean, (v) => v / nq)
  }
  const sims = new Float64Array(n)
  for (let r = 0; r < n; r++) {
    if (fusion === 'mean' || nq === 1) sims[r] = Math.fround(dotRows(q, 0, gallery, r, d))
    else {
      let best = -Infinity
      for (let i = 0; i < nq; i++) best = Math.max(best, Math.fround(dotRows(queries, i, gallery, r, d)))
      sims[r] = best
    }
  }
  const rows = Array.from({ length: n }, (_, r) => r).filter(keep)
  rows.sort((a, b) => sims[b]! - sims[a]! || a - b)
  return { rows, sims }
}
