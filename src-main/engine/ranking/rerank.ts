/**
 * k-reciprocal re-ranking: Z. Zhong, L. Zheng, D. Cao, S. Li, "Re-ranking Person
 * Re-identification with k-reciprocal Encoding", CVPR 2017 (DESIGN.md §5). Defaults are the
 * paper's: k1 = 20, k2 = 6, λ = 0.3.
 *
 * It computes exactly what the widely used Python `re_ranking(q_g_dist, q_q_dist, g_g_dist, k1,
 * k2, lambda_value)` (Zhong's code as adapted in torchreid and most re-ID repositories) computes,
 * with these steps over all N = nq + ng items (queries are neighbours too):
 * 1. d(i, j) = squared Euclidean distance divided by its row's maximum over all N items, so
 *    d ∈ [0, 1] (float32, as in the reference). The matrix version of the reference squares the
 *    Euclidean distances it is given; the feature version (luohao's, reid-strong-baseline)
 *    computes squared distances itself: both work on squared Euclidean distances, and so does
 *    this module. `kReciprocalRerank` therefore expects Euclidean (not squared) distances unless
 *    told `squared: true`. (torchreid's engine hands the matrix version its squared distances, so
 *    it ranks on Euclidean⁴; same order, different weights and blend.)
 * 2. N(i, k) = the k nearest items of i by d (itself included), ties by index (a stable sort).
 *    R(i, k1) = {j ∈ N(i, k1+1) : i ∈ N(j, k1+1)} (k-reciprocal neighbours, Eq. 2 and 4).
 * 3. Expansion (Eq. 6): for each c ∈ R(i, k1), R(c, h) with h = round(k1/2) (half to even, as
 *    NumPy rounds) is merged into R*(i) when more than 2/3 of it lies in R(i, k1).
 * 4. V_i,j = exp(−d(i, j)) / Σ_{j' ∈ R*(i)} exp(−d(i, j')) for j ∈ R*(i), else 0 (Eq. 7).
 * 5. Local query expansion (Eq. 11), when k2 ≠ 1: V_i ← mean of V_j over j ∈ N(i, k2).
 * 6. Jaccard distance (Eq. 10): d_J(i, j) = 1 − m/(2 − m), m = Σ_k min(V_i,k, V_j,k).
 * 7. Final distance (Eq. 12): d* = (1 − λ) d_J + λ d, returned for query rows × gallery columns.
 *
 * What differs from the reference is only how it is computed: V, its expansion and its inverted
 * index are sparse rows (tens of non-zeros per row, not N), the neighbour lists keep
 * only each row's max(k1 + 1, k2) nearest items (bounded selection, no full sort), and no N×N
 * matrix is ever allocated.
 *
 * Memory, besides the caller's inputs (N = nq + ng, L = max(k1 + 1, k2), h = round(k1/2)):
 * - output: 4·nq·ng bytes;
 * - neighbour lists: 4·N·L (matrices path: 12·N·L while selecting; features path: 12·N·(L + 8))
 *   plus 4·N·(h + 1) for the R(c, h) sets;
 * - sparse V, expanded V and the inverted index of its gallery rows: 12 bytes per non-zero, so
 *   ≈ 12·N·(z_V + 2·z_qe), up to 1.5× that while the arrays grow; z_V = |R*| per row and z_qe per
 *   expanded row (measured at k1 = 20, k2 = 6 on Market-shaped data: z_V ≈ 20, z_qe ≈ 66);
 * - the features path adds the norms (8·N) and a tile scratch (≈ 1.1 MiB).
 * For 1,676 × 9,311 (N = 10,987): 62 MB of output and ≈ 25–35 MB for the rest (measured: peak RSS
 * 90 MB above the process holding its features), against ≈ 2.4 GB for the dense reference (N×N
 * float32 distances, V and V_qe at 483 MB each, NumPy's int64 argsort at 966 MB).
 * `kReciprocalRerank` also needs the caller's gallery×gallery matrix (4·ng² bytes: 347 MB here);
 * `kReciprocalRerankFeatures` does not.
 */
import {
  checkDim,
  forEachDotTile,
  RowSmallestK,
  dotRows,
  rowsOf,
  squaredDistance,
  squaredNorms,
} from './matrix'

export interface RerankOptions {
  /** Neighbourhood size for the k-reciprocal sets; default 20. */
  k1?: number
  /** Neighbourhood size of the local query expansion (1 = none); default 6. */
  k2?: number
  /** Weight of the original distance in the final distance, in [0, 1]; default 0.3. */
  lambda?: number
}

export interface RerankMatrices {
  /** Query×gallery distances, nq×ng, row-major. */
  qg: Float32Array
  /** Query×query distances, nq×nq, symmetric. */
  qq: Float32Array
  /** Gallery×gallery distances, ng×ng, symmetric. */
  gg: Float32Array
  nq: number
  ng: number
  /**
   * false (default): the matrices hold Euclidean distances, squared here as the reference does.
   * true: they already hold squared Euclidean distances (e.g. from `squaredEuclidean`) and are
   * used as they are.
   */
  squared?: boolean
}

/** Candidates kept per row beyond L while distances stream past, to see ties that normalising creates. */
const SLACK = 8

/**
 * k-reciprocal re-ranking from distance matrices (the reference's interface); see the module
 * comment. `qq` and `gg` must be symmetric, as distance matrices are (rows are read, where the
 * reference reads columns). Distances must be finite and ≥ 0.
 *
 * @returns re-ranked query×gallery distances, nq×ng row-major, in [0, 1]
 */
export function kReciprocalRerank(m: RerankMatrices, options: RerankOptions = {}): Float32Array {
  const { qg, qq, gg, nq, ng } = m
  const squared = m.squared ?? false
  const params = checkOptions(options)
  if (!Number.isInteger(nq) || nq < 0 || !Number.isInteger(ng) || ng < 0) {
    throw new RangeError(`nq and ng must be non-negative integers, got ${nq} and ${ng}`)
  }
  expectLength('qg', qg, nq * ng, `nq×ng = ${nq}×${ng}`)
  expectLength('qq', qq, nq * nq, `nq×nq = ${nq}×${nq}`)
  expectLength('gg', gg, ng * ng, `ng×ng = ${ng}×${ng}`)
  const out = new Float32Array(nq * ng)
  if (nq === 0 || ng === 0) return out
  const n = nq + ng
  const sq = (x: number): number => (squared ? x : Math.fround(x * x))
  const raw = (i: number, j: number): number =>
    sq(
      i < nq
        ? j < nq
          ? qq[i * nq + j]!
          : qg[i * ng + j - nq]!
        : j < nq
          ? qg[j * ng + i - nq]!
          : gg[(i - nq) * ng + j - nq]!,
    )

  const rowMax = new Float64Array(n)
  const check = (name: string, x: Float32Array): void => {
    for (let t = 0; t < x.length; t++) {
      const v = x[t]!
      if (!(v >= 0 && v < Infinity))
        throw new RangeError(`${name}[${t}] = ${v}: distances must be finite and ≥ 0`)
    }
  }
  check('qg', qg)
  check('qq', qq)
  check('gg', gg)
  for (let i = 0; i < nq; i++) {
    let mx = 0
    for (let j = 0; j < nq; j++) mx = Math.max(mx, sq(qq[i * nq + j]!))
    for (let j = 0; j < ng; j++) {
      const v = sq(qg[i * ng + j]!)
      mx = Math.max(mx, v)
      if (v > rowMax[nq + j]!) rowMax[nq + j] = v
    }
    rowMax[i] = mx
  }
  for (let i = 0; i < ng; i++) {
    let mx = rowMax[nq + i]!
    for (let j = 0; j < ng; j++) mx = Math.max(mx, sq(gg[i * ng + j]!))
    rowMax[nq + i] = mx
  }
  const value = (i: number, j: number): number => normalise(raw(i, j), rowMax[i]!)

  const width = Math.min(n, Math.max(params.k1 + 1, params.k2))
  const lists = new RowSmallestK(n, width)
  for (let i = 0; i < nq; i++) {
    for (let j = 0; j < nq; j++) lists.push(i, value(i, j), j)
    for (let j = 0; j < ng; j++) {
      const v = sq(qg[i * ng + j]!)
      lists.push(i, normalise(v, rowMax[i]!), nq + j)
      lists.push(nq + j, normalise(v, rowMax[nq + j]!), i)
    }
  }
  for (let i = 0; i < ng; i++) {
    for (let j = 0; j < ng; j++) lists.push(nq + i, normalise(sq(gg[i * ng + j]!), rowMax[nq + i]!), nq + j)
  }
  rerankFromNeighbours({ n, nq, ng, width, top: lists.indices, value }, params, out, (i, j) =>
    normalise(sq(qg[i * ng + j]!), rowMax[i]!),
  )
  return out
}

/**
 * k-reciprocal re-ranking from features: squared Euclidean distances (distances.ts) are computed
 * here in tiles and never stored beyond the nq×ng output, so no gallery×gallery matrix is needed.
 * Same result as `kReciprocalRerank` on `squaredEuclidean(q, g)`, `squaredEuclideanAllPairs(q)`,
 * `squaredEuclideanAllPairs(g)` with `squared: true` (pinned by a test).
 *
 * Time: one pass over all N(N+1)/2 pairs (N = nq + ng) of d-dimensional dot products, plus a few
 * recomputed single pairs (expansion weights, and whole rows only where normalising creates ties at
 * the selection boundary, e.g. duplicate features).
 *
 * @param q queries, nq×d; @param g gallery, ng×d; @returns nq×ng re-ranked distances in [0, 1]
 */
export function kReciprocalRerankFeatures(
  q: Float32Array,
  g: Float32Array,
  d: number,
  options: RerankOptions = {},
): Float32Array {
  checkDim(d)
  const params = checkOptions(options)
  const nq = rowsOf('q', q, d)
  const ng = rowsOf('g', g, d)
  const out = new Float32Array(nq * ng)
  if (nq === 0 || ng === 0) return out
  const n = nq + ng
  const qn = squaredNorms(q, d)
  const gn = squaredNorms(g, d)
  const raw = (i: number, j: number): number => {
    const a = i < nq ? q : g
    const ia = i < nq ? i : i - nq
    const b = j < nq ? q : g
    const jb = j < nq ? j : j - nq
    const normI = i < nq ? qn[ia]! : gn[ia]!
    const normJ = j < nq ? qn[jb]! : gn[jb]!
    return Math.fround(squaredDistance(normI, normJ, dotRows(a, ia, b, jb, d)))
  }

  const width = Math.min(n, Math.max(params.k1 + 1, params.k2))
  const candidates = new RowSmallestK(n, Math.min(n, width + SLACK))
  const rowMax = new Float64Array(n)
  let bad = false
  const visitPair = (i: number, j: number, v: number, qgPair: boolean): void => {
    if (!(v < Infinity)) bad = true
    if (v > rowMax[i]!) rowMax[i] = v
    candidates.push(i, v, j)
    if (i !== j) {
      if (v > rowMax[j]!) rowMax[j] = v
      candidates.push(j, v, i)
    }
    if (qgPair) out[i * ng + j - nq] = v
  }
  const pass = (
    a: Float32Array,
    aNorms: Float64Array,
    aOff: number,
    b: Float32Array,
    bNorms: Float64Array,
    bOff: number,
    symmetric: boolean,
  ): void =>
    forEachDotTile(
      a,
      b,
      d,
      (i0, i1, j0, j1, dots, stride) => {
        for (let i = i0; i < i1; i++) {
          const t = (i - i0) * stride - j0
          for (let j = symmetric ? Math.max(i, j0) : j0; j < j1; j++) {
            const v = Math.fround(squaredDistance(aNorms[i]!, bNorms[j]!, dots[t + j]!))
            visitPair(aOff + i, bOff + j, v, !symmetric)
          }
        }
      },
      symmetric,
    )
  pass(q, qn, 0, q, qn, 0, true)
  pass(q, qn, 0, g, gn, nq, false)
  pass(g, gn, nq, g, gn, nq, true)
  if (bad) throw new RangeError('features contain NaN or infinite values')

  // Normalise each row's candidates and keep the first `width` by (normalised value, index).
  // Normalising can round distinct distances to one float32; if such a tie straddles the kept
  // candidates' boundary, the row is recomputed in full (see SLACK).
  const top = new Int32Array(n * width)
  const cap = candidates.capacity
  const row = new RowSmallestK(1, width)
  for (let i = 0; i < n; i++) {
    row.sizes[0] = 0
    const size = candidates.sizes[i]!
    const start = i * cap
    for (let t = 0; t < size; t++) {
      row.push(0, normalise(candidates.values[start + t]!, rowMax[i]!), candidates.indices[start + t]!)
    }
    const lastKept = normalise(candidates.values[start + size - 1]!, rowMax[i]!)
    if (size === cap && cap < n && lastKept === row.values[width - 1]) {
      row.sizes[0] = 0
      for (let j = 0; j < n; j++) row.push(0, normalise(raw(i, j), rowMax[i]!), j)
    }
    top.set(row.indices.subarray(0, width), i * width)
  }
  rerankFromNeighbours(
    { n, nq, ng, width, top, value: (i, j) => normalise(raw(i, j), rowMax[i]!) },
    params,
    out,
    (i, j) => normalise(out[i * ng + j]!, rowMax[i]!),
  )
  return out
}

interface Params {
  k1: number
  k2: number
  lambda: number
}

/** The nearest-neighbour lists of all N items, and the normalised distance d(i, j). */
interface Neighbours {
  n: number
  nq: number
  ng: number
  /** Entries per row of `top` (min(N, max(k1 + 1, k2))). */
  width: number
  /** N×width: each row's nearest items by (d, index), itself normally first. */
  top: Int32Array
  value: (i: number, j: number) => number
}

/** Steps 2–7 of the module comment; writes the nq×ng result into `out`. */
function rerankFromNeighbours(
  nb: Neighbours,
  { k1, k2, lambda }: Params,
  out: Float32Array,
  original: (i: number, j: number) => number,
): void {
  const { n, nq, ng, width, top, value } = nb
  const len1 = Math.min(k1 + 1, n)
  const lenHalf = Math.min(roundHalfEven(k1 / 2) + 1, n)
  const inList = (owner: number, x: number, len: number): boolean => {
    const start = owner * width
    for (let t = 0; t < len; t++) if (top[start + t] === x) return true
    return false
  }
  const reciprocal = (i: number, len: number, into: number[]): void => {
    into.length = 0
    for (let t = 0; t < len; t++) {
      const f = top[i * width + t]!
      if (inList(f, i, len)) into.push(f)
    }
  }

  // R(c, h) for every item, used as expansion candidates by all its neighbours.
  const halfStart = new Int32Array(n + 1)
  const halfItems = new Int32Array(n * lenHalf)
  const scratch: number[] = []
  for (let c = 0; c < n; c++) {
    reciprocal(c, lenHalf, scratch)
    halfItems.set(scratch, halfStart[c]!)
    halfStart[c + 1] = halfStart[c]! + scratch.length
  }

  // Sparse V (Eq. 7), one row per item, columns ascending.
  const v = new SparseRows(n, n * (k1 + 1))
  const inR = new Int32Array(n)
  const inExpansion = new Int32Array(n)
  const kRecip: number[] = []
  const expansion: number[] = []
  for (let i = 0; i < n; i++) {
    const stamp = i + 1
    reciprocal(i, len1, kRecip)
    expansion.length = 0
    for (const f of kRecip) {
      inR[f] = stamp
      inExpansion[f] = stamp
      expansion.push(f)
    }
    for (const c of kRecip) {
      const from = halfStart[c]!
      const to = halfStart[c + 1]!
      let shared = 0
      for (let t = from; t < to; t++) if (inR[halfItems[t]!] === stamp) shared++
      if (shared > (2 / 3) * (to - from)) {
        for (let t = from; t < to; t++) {
          const x = halfItems[t]!
          if (inExpansion[x] !== stamp) {
            inExpansion[x] = stamp
            expansion.push(x)
          }
        }
      }
    }
    expansion.sort((a, b) => a - b)
    let total = 0
    const weights = expansion.map((j) => Math.exp(-value(i, j)))
    for (const w of weights) total += w
    v.startRow()
    for (let t = 0; t < expansion.length; t++) v.add(expansion[t]!, weights[t]! / total)
  }

  // Local query expansion (Eq. 11): mean of the V rows of the k2 nearest items.
  let ve = v
  if (k2 !== 1) {
    const len2 = Math.min(k2, n)
    const acc = new Float64Array(n)
    const touched: number[] = []
    ve = new SparseRows(n, v.nnz * 2)
    for (let i = 0; i < n; i++) {
      touched.length = 0
      for (let t = 0; t < len2; t++) {
        const r = top[i * width + t]!
        for (let p = v.start[r]!; p < v.start[r + 1]!; p++) {
          const c = v.cols[p]!
          if (acc[c] === 0) touched.push(c)
          acc[c] = acc[c]! + v.vals[p]!
        }
      }
      touched.sort((a, b) => a - b)
      ve.startRow()
      for (const c of touched) {
        ve.add(c, acc[c]! / len2)
        acc[c] = 0
      }
    }
  }

  // Inverted index over gallery rows only: the output needs no query×query Jaccard distances.
  const colStart = new Int32Array(n + 1)
  for (let r = nq; r < n; r++)
    for (let p = ve.start[r]!; p < ve.start[r + 1]!; p++) colStart[ve.cols[p]! + 1]!++
  for (let c = 0; c < n; c++) colStart[c + 1] = colStart[c + 1]! + colStart[c]!
  const fill = colStart.slice(0, n)
  const invRow = new Int32Array(colStart[n]!)
  const invVal = new Float64Array(colStart[n]!)
  for (let r = nq; r < n; r++) {
    for (let p = ve.start[r]!; p < ve.start[r + 1]!; p++) {
      const at = fill[ve.cols[p]!]!++
      invRow[at] = r - nq
      invVal[at] = ve.vals[p]!
    }
  }

  // Jaccard (Eq. 10) and the final blend (Eq. 12), one query row at a time.
  const shared = new Float64Array(ng)
  for (let i = 0; i < nq; i++) {
    for (let p = ve.start[i]!; p < ve.start[i + 1]!; p++) {
      const c = ve.cols[p]!
      const vi = ve.vals[p]!
      for (let t = colStart[c]!; t < colStart[c + 1]!; t++) {
        const r = invRow[t]!
        shared[r] = shared[r]! + Math.min(vi, invVal[t]!)
      }
    }
    for (let j = 0; j < ng; j++) {
      const s = shared[j]!
      // Clamped: rounding can push m a hair above 1 for identical neighbourhoods.
      const jaccard = Math.max(0, 1 - s / (2 - s))
      out[i * ng + j] = (1 - lambda) * jaccard + lambda * original(i, j)
      shared[j] = 0
    }
  }
}

/** Compressed sparse rows, appended row by row. */
class SparseRows {
  readonly start: Int32Array
  cols: Int32Array
  vals: Float64Array
  nnz = 0
  private rows = 0

  constructor(n: number, capacity: number) {
    this.start = new Int32Array(n + 1)
    this.cols = new Int32Array(Math.max(16, capacity))
    this.vals = new Float64Array(Math.max(16, capacity))
  }

  startRow(): void {
    this.start[this.rows] = this.nnz
    this.rows++
    this.start[this.rows] = this.nnz
  }

  add(col: number, value: number): void {
    if (this.nnz === this.cols.length) {
      const grown = Math.ceil(this.cols.length * 1.5)
      const cols = new Int32Array(grown)
      cols.set(this.cols)
      const vals = new Float64Array(grown)
      vals.set(this.vals)
      this.cols = cols
      this.vals = vals
    }
    this.cols[this.nnz] = col
    this.vals[this.nnz] = value
    this.nnz++
    this.start[this.rows] = this.nnz
  }
}

/** d(i, j) = raw / row maximum, rounded to float32 as the reference's float32 arrays are; 0 for an all-zero row. */
function normalise(raw: number, max: number): number {
  return max > 0 ? Math.fround(raw / max) : 0
}

/** NumPy's `around` for halves: round half to even (round(10) = 10, round(2.5) = 2, round(3.5) = 4). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x)
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r
}

function checkOptions(options: RerankOptions): Params {
  const k1 = options.k1 ?? 20
  const k2 = options.k2 ?? 6
  const lambda = options.lambda ?? 0.3
  if (!Number.isInteger(k1) || k1 < 1) throw new RangeError(`k1 must be a positive integer, got ${k1}`)
  if (!Number.isInteger(k2) || k2 < 1) throw new RangeError(`k2 must be a positive integer, got ${k2}`)
  if (!(lambda >= 0 && lambda <= 1)) throw new RangeError(`lambda must be in [0, 1], got ${lambda}`)
  return { k1, k2, lambda }
}

function expectLength(name: string, x: Float32Array, n: number, shape: string): void {
  if (x.length !== n) throw new RangeError(`${name} has ${x.length} values, expected ${shape} = ${n}`)
}
