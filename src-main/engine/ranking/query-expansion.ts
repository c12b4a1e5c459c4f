/**
 * Average query expansion (AQE; O. Chum, J. Philbin, J. Sivic, M. Isard, A. Zisserman, "Total
 * Recall", ICCV 2007) and its gallery-side counterpart, database-side augmentation (DBA;
 * R. Arandjelović, A. Zisserman, "Three things everyone should know to improve object retrieval",
 * CVPR 2012), in their plain unweighted form.
 *
 * AQE: q'_i = normalise( (q_i + Σ_{j ∈ N_k(q_i)} g_j) / (k + 1) ), where N_k(q_i) holds the k
 * gallery rows nearest to q_i by squared Euclidean distance (ties by gallery index).
 * DBA: g'_j = normalise( (g_j + Σ_{l ∈ N_k(g_j) \ {j}} g_l) / (k + 1) ), the k nearest *other*
 * gallery rows. Both use the original features for neighbours and means (one round, no
 * iteration), and L2-normalise the result (a zero mean stays zero). Feed L2-normalised features:
 * the output is unit-length, so it is only comparable with a unit-length gallery (on unit vectors
 * squared Euclidean = 2 − 2·cos, so the neighbours are the cosine ones too). Apply DBA to the
 * gallery and AQE against the augmented gallery, or either alone.
 *
 * Default k = 5: small, since every wrong neighbour pulls the query away (re-ID galleries hold
 * only a handful of true matches per identity).
 *
 * Memory: the nq×d (or ng×d) float32 output, plus distances for a block of 64 rows at a time
 * (64·ng·4 bytes: 4 MB for ng = 15,913) and the gallery norms; never the nq×ng matrix.
 * Time: one nq×ng×d (AQE) or ng×ng×d (DBA) distance computation.
 */
import { checkDim, RowSmallestK, rowsOf } from './matrix'
import { squaredEuclidean } from './distances'

export interface QueryExpansionOptions {
  /** Number of gallery neighbours averaged in; default 5 (capped at the number available). */
  k?: number
}

const BLOCK_ROWS = 64

/**
 * Average query expansion; see the module comment.
 * @param q queries, nq×d; @param g gallery, ng×d; @returns expanded, L2-normalised queries, nq×d
 */
export function averageQueryExpansion(
  q: Float32Array,
  g: Float32Array,
  d: number,
  options: QueryExpansionOptions = {},
): Float32Array {
  checkDim(d)
  rowsOf('q', q, d)
  const ng = rowsOf('g', g, d)
  return expand(q, g, d, Math.min(checkK(options.k), ng), false)
}

/**
 * Database-side augmentation of the gallery; see the module comment.
 * @param g gallery, ng×d; @returns augmented, L2-normalised gallery, ng×d
 */
export function databaseAugmentation(
  g: Float32Array,
  d: number,
  options: QueryExpansionOptions = {},
): Float32Array {
  checkDim(d)
  const ng = rowsOf('g', g, d)
  return expand(g, g, d, Math.min(checkK(options.k), Math.max(0, ng - 1)), true)
}

function expand(x: Float32Array, g: Float32Array, d: number, k: number, excludeSelf: boolean): Float32Array {
  const n = x.length / d
  const ng = g.length / d
  const out = new Float32Array(n * d)
  const dist = new Float32Array(k > 0 ? Math.min(BLOCK_ROWS, n) * ng : 0)
  const nearest = k > 0 ? new RowSmallestK(1, k) : null
  const sum = new Float64Array(d)
  for (let i0 = 0; i0 < n; i0 += BLOCK_ROWS) {
    const i1 = Math.min(n, i0 + BLOCK_ROWS)
    if (nearest) squaredEuclidean(x.subarray(i0 * d, i1 * d), g, d, dist.subarray(0, (i1 - i0) * ng))
    for (let i = i0; i < i1; i++) {
      for (let c = 0; c < d; c++) sum[c] = x[i * d + c]!
      if (nearest) {
        nearest.sizes[0] = 0
        const row = (i - i0) * ng
        for (let j = 0; j < ng; j++) if (!excludeSelf || j !== i) nearest.push(0, dist[row + j]!, j)
        for (let t = 0; t < k; t++) {
          const j = nearest.indices[t]!
          for (let c = 0; c < d; c++) sum[c] = sum[c]! + g[j * d + c]!
        }
      }
      // The 1/(k+1) of the mean cancels in the normalisation.
      let norm = 0
      for (let c = 0; c < d; c++) norm += sum[c]! * sum[c]!
      const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0
      for (let c = 0; c < d; c++) out[i * d + c] = sum[c]! * scale
    }
  }
  return out
}

function checkK(k: number | undefined): number {
  const value = k ?? 5
  if (!Number.isInteger(value) || value < 0)
    throw new RangeError(`k must be a non-negative integer, got ${value}`)
  return value
}
