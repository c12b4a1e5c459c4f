/**
 * Dense distance matrices between feature rows (DESIGN.md §4 step 1, §5): squared Euclidean and
 * cosine, query×gallery and all-pairs.
 *
 * Shapes: features are row-major Float32Arrays, q is nq×d and g is ng×d (nq = q.length / d); the
 * result is row-major nq×ng Float32 (entry i·ng + j is the distance of query i to gallery j).
 *
 * Method: D = |q|² + |g|² − 2 q·g from precomputed norms and dot products (matrix.ts), blocked
 * over query and gallery rows. Memory: the one output buffer (pass `out` to reuse one), the norms
 * (8·(nq + ng) bytes) and a tile scratch of about 1.1 MiB (32·d bytes beyond d = 8,192), whatever
 * nq and ng: a 3,368 × 15,913 × 2,048 problem needs its 214 MB output and nothing else of that
 * order.
 *
 * Numerics: products and sums in doubles, rounded once to float32 on store. A pair's value does
 * not depend on the tiling (matrix.ts), so all-pairs matrices are exactly symmetric. Inputs are
 * not checked for NaN (validate at the edge): a row holding NaN gets NaN distances.
 */
import { checkDim, forEachDotTile, outputBuffer, rowsOf, squaredDistance, squaredNorms } from './matrix'

/**
 * Squared Euclidean distances ||q_i − g_j||², clamped at 0.
 *
 * @param q queries, nq×d
 * @param g gallery, ng×d
 * @param d feature dimension (≥ 1)
 * @param out optional nq×ng output to fill
 * @returns nq×ng, row-major
 */
export function squaredEuclidean(
  q: Float32Array,
  g: Float32Array,
  d: number,
  out?: Float32Array,
): Float32Array {
  const { ng, result } = prepare(q, g, d, out)
  const qn = squaredNorms(q, d)
  const gn = squaredNorms(g, d)
  forEachDotTile(q, g, d, (i0, i1, j0, j1, dots, stride) => {
    for (let i = i0; i < i1; i++) {
      const ni = qn[i]!
      const row = i * ng
      const t = (i - i0) * stride - j0
      for (let j = j0; j < j1; j++) result[row + j] = squaredDistance(ni, gn[j]!, dots[t + j]!)
    }
  })
  return result
}

/**
 * Squared Euclidean distances between all rows of `x` (n×d): n×n, exactly symmetric, zero diagonal.
 * Each unordered pair is computed once (half the arithmetic of `squaredEuclidean(x, x, d)`, same values).
 */
export function squaredEuclideanAllPairs(x: Float32Array, d: number, out?: Float32Array): Float32Array {
  const n = rowsOf('x', x, d)
  const result = outputBuffer(out, n * n, `n×n = ${n}×${n}`)
  const norms = squaredNorms(x, d)
  forEachDotTile(
    x,
    x,
    d,
    (i0, i1, j0, j1, dots, stride) => {
      for (let i = i0; i < i1; i++) {
        const ni = norms[i]!
        const t = (i - i0) * stride - j0
        for (let j = Math.max(j0, i); j < j1; j++) {
          const v = squaredDistance(ni, norms[j]!, dots[t + j]!)
          result[i * n + j] = v
          result[j * n + i] = v
        }
      }
    },
    true,
  )
  return result
}

/**
 * Cosine distances 1 − q_i·g_j / (|q_i| |g_j|), in [0, 2].
 *
 * Zero vectors: a zero row has no direction; its cosine similarity to anything is taken as 0, so
 * its distance to every row is 1 (the convention of scikit-learn's `cosine_distances`; SciPy's
 * `cdist(..., 'cosine')` gives NaN instead).
 *
 * @returns nq×ng, row-major
 */
export function cosine(q: Float32Array, g: Float32Array, d: number, out?: Float32Array): Float32Array {
  const { ng, result } = prepare(q, g, d, out)
  const qi = inverseNorms(q, d)
  const gi = inverseNorms(g, d)
  forEachDotTile(q, g, d, (i0, i1, j0, j1, dots, stride) => {
    for (let i = i0; i < i1; i++) {
      const row = i * ng
      const t = (i - i0) * stride - j0
      for (let j = j0; j < j1; j++) result[row + j] = cosineFromDot(dots[t + j]!, qi[i]!, gi[j]!)
    }
  })
  return result
}

/**
 * Cosine distances between all rows of `x` (n×d): n×n, exactly symmetric. The diagonal is 0 for
 * every row, zero rows included (an item is at distance 0 from itself, as in scikit-learn);
 * a zero row is at distance 1 from every other row.
 */
export function cosineAllPairs(x: Float32Array, d: number, out?: Float32Array): Float32Array {
  const n = rowsOf('x', x, d)
  const result = outputBuffer(out, n * n, `n×n = ${n}×${n}`)
  const inv = inverseNorms(x, d)
  forEachDotTile(
    x,
    x,
    d,
    (i0, i1, j0, j1, dots, stride) => {
      for (let i = i0; i < i1; i++) {
        const t = (i - i0) * stride - j0
        for (let j = Math.max(j0, i + 1); j < j1; j++) {
          const v = cosineFromDot(dots[t + j]!, inv[i]!, inv[j]!)
          result[i * n + j] = v
          result[j * n + i] = v
        }
      }
    },
    true,
  )
  for (let i = 0; i < n; i++) result[i * n + i] = 0
  return result
}

function prepare(
  q: Float32Array,
  g: Float32Array,
  d: number,
  out: Float32Array | undefined,
): { nq: number; ng: number; result: Float32Array } {
  checkDim(d)
  const nq = rowsOf('q', q, d)
  const ng = rowsOf('g', g, d)
  return { nq, ng, result: outputBuffer(out, nq * ng, `nq×ng = ${nq}×${ng}`) }
}

/** 1/|x_i| per row, 0 for a zero row (which makes its cosine similarity 0). */
function inverseNorms(x: Float32Array, d: number): Float64Array {
  const norms = squaredNorms(x, d)
  for (let i = 0; i < norms.length; i++) {
    const n = norms[i]!
    norms[i] = n > 0 ? 1 / Math.sqrt(n) : 0
  }
  return norms
}

function cosineFromDot(dot: number, invA: number, invB: number): number {
  const v = 1 - dot * invA * invB
  return v < 0 ? 0 : v > 2 ? 2 : v
}
