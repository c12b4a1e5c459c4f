import { averagePrecision, deltaApSwap, inverseRankPrefix, type ApVariant } from './ap'
import { QueryRanking, type SquareMatrix } from './batch'
import { checkBatch, type LossResult } from './loss-types'

export interface RankTripletOptions {
  /** Margin m added to positive distances before ranking (DESIGN.md §4.2). */
  margin: number
  /** AP definition used for the weights. Default 'standard'. */
  ap?: ApVariant
  /** 'rank-triplet' (w = ΔAP + ΔR1) or 'baseline' (w = 1). Default 'rank-triplet'. */
  weighting?: 'rank-triplet' | 'baseline'
}

/**
 * The Rank-Triplet loss (Chen et al., MVA 2021; DESIGN.md §4), and its baseline with all weights 1.
 *
 * For each query i and each mis-ranked pair (positive j, negative k ranked before it in the list
 * ranked by D' = D + m on positives):
 *
 *   w_ijk = ΔAP_ijk + ΔR1_ijk            (Eq. 7: ΔAP from swapping j and k, ΔR1 = 1 iff r_k = 1)
 *   L = (1/n) Σ_i (1/K_i) Σ_(j,k) (D_ij + m − D_ik) · w_ijk
 *
 * with K_i the number of mis-ranked pairs of query i (queries with K_i = 0 contribute 0). The
 * weights are constants, so L = Σ_ij C_ij D_ij + constant (§4.7): `coeff` is C, whose product
 * with ∂D/∂f is the gradient. Cost: O(n² log n) for the rankings plus O(1) per mis-ranked pair.
 *
 * @param D n×n squared Euclidean distances (row-major)
 * @param labels identity of each batch item (length n)
 */
export function rankTripletLoss(
  D: SquareMatrix,
  labels: ArrayLike<number>,
  options: RankTripletOptions,
): LossResult {
  const n = checkBatch(D, labels)
  const margin = options.margin
  const variant = options.ap ?? 'standard'
  const baseline = options.weighting === 'baseline'
  const coeff = new Float64Array(n * n)
  const q = new QueryRanking(n)
  const wPos = new Float64Array(n)
  let loss = 0
  let constant = 0
  let misranked = 0

  for (let i = 0; i < n; i++) {
    q.rank(D, labels, i, margin)
    const { m, negCount } = q
    // K_i: every negative ranked before positive t forms a pair with it (q holds only those).
    let k = 0
    for (let u = 0; u < negCount; u++) k += m - q.negBefore[u]!
    if (k === 0) continue
    misranked += k
    if (!baseline) inverseRankPrefix(q.posRank, m, q.prefix)
    const scale = 1 / (n * k)
    const row = i * n
    wPos.fill(0, 0, m)
    let lossI = 0
    for (let u = 0; u < negCount; u++) {
      const s = q.negBefore[u]!
      const kIdx = q.neg[u]!
      const rk = q.negRank[u]!
      const dik = D[row + kIdx]!
      let wNeg = 0
      for (let t = s + 1; t <= m; t++) {
        let w = 1
        if (!baseline) {
          w = deltaApSwap(q.posRank, q.prefix, m, t, rk, s, variant) + (rk === 1 ? 1 : 0)
        }
        const j = q.pos[t - 1]!
        lossI += (D[row + j]! + margin - dik) * w
        wPos[t - 1]! += w
        wNeg += w
      }
      coeff[row + kIdx] = -wNeg * scale
    }
    let wSum = 0
    for (let t = 0; t < m; t++) {
      coeff[row + q.pos[t]!] = wPos[t]! * scale
      wSum += wPos[t]!
    }
    loss += lossI / k
    constant += margin * wSum * scale
  }
  loss /= n
  const metrics = batchMetrics(D, labels, variant, q)
  return { loss, coeff, constant, misranked, ...metrics }
}

/**
 * The paper's online training metrics (Fig. 5) on the batch itself: each item queries the other
 * n−1 by plain D (no margin); mean AP and R1 over the queries that have at least one positive.
 */
export function batchMetrics(
  D: SquareMatrix,
  labels: ArrayLike<number>,
  variant: ApVariant = 'standard',
  workspace?: QueryRanking,
): { batchMAP: number; batchR1: number; validQueries: number } {
  const n = labels.length
  const q = workspace ?? new QueryRanking(n)
  let ap = 0
  let r1 = 0
  let valid = 0
  for (let i = 0; i < n; i++) {
    q.rank(D, labels, i, 0, false)
    if (q.m === 0) continue
    valid++
    ap += averagePrecision(q.posRank, q.m, variant)
    if (q.posRank[0] === 1) r1++
  }
  return valid === 0
    ? { batchMAP: 0, batchR1: 0, validQueries: 0 }
    : { batchMAP: ap / valid, batchR1: r1 / valid, validQueries: valid }
}

/**
 * Mis-ranked (query, positive, negative) triples under margin m: the Rank-Triplet K summed over
 * the batch. Reported for every loss as the paper's "number of mis-ranked pairs".
 */
export function countMisranked(D: SquareMatrix, labels: ArrayLike<number>, margin: number): number {
  const n = labels.length
  const q = new QueryRanking(n)
  let total = 0
  for (let i = 0; i < n; i++) {
    q.rank(D, labels, i, margin, false)
    for (let u = 0; u < q.negCount; u++) total += q.m - q.negBefore[u]!
  }
  return total
}
