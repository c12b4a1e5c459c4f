/**
 * The comparison losses of the paper's Table 2 (Chen et al., MVA 2021), in the same form as
 * Rank-Triplet: a value and a coefficient matrix C with loss = Σ C_ij D_ij + constant, on the
 * batch's squared Euclidean distances D. Every hinge is piecewise linear in D, so C is exact
 * wherever no hinge sits at its kink. Softmax classification lives with the trainer.
 *
 * Normalisation: each term is averaged over the pairs, triplets or quadruplets it sums, so losses
 * are comparable across batch sizes. Hinges at exactly 0 count as inactive.
 */
import type { ApVariant } from './ap'
import type { SquareMatrix } from './batch'
import { checkBatch, type LossResult } from './loss-types'
import { batchMetrics, countMisranked } from './rank-triplet'

function finish(
  D: SquareMatrix,
  labels: ArrayLike<number>,
  margin: number,
  loss: number,
  coeff: Float64Array,
  constant: number,
  ap: ApVariant,
): LossResult {
  return {
    loss,
    coeff,
    constant,
    misranked: countMisranked(D, labels, margin),
    ...batchMetrics(D, labels, ap),
  }
}

/**
 * Contrastive loss (Eq. 10; Hadsell et al. 2006) on squared distances, over the ordered pairs
 * i ≠ j of the batch:
 *   L = (1/P) Σ_{y_i = y_j} D_ij + (1/N) Σ_{y_i ≠ y_j} max(0, m − D_ij)
 * with P and N the numbers of positive and negative pairs (a missing kind contributes 0).
 */
export function contrastiveLoss(
  D: SquareMatrix,
  labels: ArrayLike<number>,
  margin: number,
  ap: ApVariant = 'standard',
): LossResult {
  const n = checkBatch(D, labels)
  let p = 0
  let q = 0
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i === j) continue
      if (labels[i] === labels[j]) p++
      else q++
    }
  }
  const coeff = new Float64Array(n * n)
  let loss = 0
  let constant = 0
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i === j) continue
      const d = D[i * n + j]!
      if (labels[i] === labels[j]) {
        loss += d / p
        coeff[i * n + j] = 1 / p
      } else if (margin - d > 0) {
        loss += (margin - d) / q
        coeff[i * n + j] = -1 / q
        constant += margin / q
      }
    }
  }
  return finish(D, labels, margin, loss, coeff, constant, ap)
}

/**
 * Triplet loss over all valid triplets of the batch (Eq. 8; Schroff et al. 2015, "batch all"):
 *   L = (1/T) Σ_{a, p ≠ a: y_p = y_a; n: y_n ≠ y_a} max(0, D_ap − D_an + m)
 * with T the number of valid triplets (active or not).
 */
export function tripletLoss(
  D: SquareMatrix,
  labels: ArrayLike<number>,
  margin: number,
  ap: ApVariant = 'standard',
): LossResult {
  const n = checkBatch(D, labels)
  let count = 0
  for (let a = 0; a < n; a++) {
    let pos = 0
    for (let j = 0; j < n; j++) if (j !== a && labels[j] === labels[a]) pos++
    count += pos * (n - 1 - pos)
  }
  const coeff = new Float64Array(n * n)
  let loss = 0
  let constant = 0
  if (count > 0) {
    const w = 1 / count
    for (let a = 0; a < n; a++) {
      const row = a * n
      for (let p = 0; p < n; p++) {
        if (p === a || labels[p] !== labels[a]) continue
        const dap = D[row + p]! + margin
        for (let k = 0; k < n; k++) {
          if (labels[k] === labels[a]) continue
          const v = dap - D[row + k]!
          if (v > 0) {
            loss += v * w
            coeff[row + p]! += w
            coeff[row + k]! -= w
            constant += margin * w
          }
        }
      }
    }
  }
  return finish(D, labels, margin, loss, coeff, constant, ap)
}

/**
 * Batch-hard triplet loss (Eq. 11; Hermans et al. 2017): for each anchor, its farthest positive
 * and nearest negative,
 *   L = (1/n_a) Σ_a max(0, m + max_p D_ap − min_k D_ak)
 * over the n_a anchors that have both a positive and a negative. Ties pick the lowest index.
 */
export function batchHardLoss(
  D: SquareMatrix,
  labels: ArrayLike<number>,
  margin: number,
  ap: ApVariant = 'standard',
): LossResult {
  const n = checkBatch(D, labels)
  const coeff = new Float64Array(n * n)
  const hardest: [number, number, number][] = []
  for (let a = 0; a < n; a++) {
    const row = a * n
    let p = -1
    let k = -1
    for (let j = 0; j < n; j++) {
      if (j === a) continue
      if (labels[j] === labels[a]) {
        if (p < 0 || D[row + j]! > D[row + p]!) p = j
      } else if (k < 0 || D[row + j]! < D[row + k]!) k = j
    }
    if (p >= 0 && k >= 0) hardest.push([a, p, k])
  }
  let loss = 0
  let constant = 0
  const w = hardest.length > 0 ? 1 / hardest.length : 0
  for (const [a, p, k] of hardest) {
    const v = margin + D[a * n + p]! - D[a * n + k]!
    if (v > 0) {
      loss += v * w
      coeff[a * n + p]! += w
      coeff[a * n + k]! -= w
      constant += margin * w
    }
  }
  return finish(D, labels, margin, loss, coeff, constant, ap)
}

/**
 * Quadruplet loss (Eq. 12; Chen et al. 2017) with m1 = 1, m2 = 0.5 by default:
 *   L = (1/T) Σ_{(i,j,k)} max(0, D_ij − D_ik + m1) + (1/Q) Σ_{(i,j,l,k)} max(0, D_ij − D_lk + m2)
 * where (i, j) is a positive pair, k a negative of i, and (l, k) an unordered negative pair whose
 * two identities both differ from i's. T and Q count the valid triplets and quadruplets.
 * Cost O(P·N) for P positive pairs and N negative pairs of the batch (≈ 6·10⁶ for 32 × 4).
 */
export function quadrupletLoss(
  D: SquareMatrix,
  labels: ArrayLike<number>,
  m1 = 1,
  m2 = 0.5,
  ap: ApVariant = 'standard',
): LossResult {
  const n = checkBatch(D, labels)
  const triplet = tripletLoss(D, labels, m1, ap)
  const coeff = triplet.coeff
  let loss = triplet.loss
  let constant = triplet.constant
  // Unordered negative pairs (l < k) once, with their identities.
  const negL: number[] = []
  const negK: number[] = []
  for (let l = 0; l < n; l++) {
    for (let k = l + 1; k < n; k++) {
      if (labels[l] === labels[k]) continue
      negL.push(l)
      negK.push(k)
    }
  }
  let count = 0
  const valid: number[] = []
  for (let i = 0; i < n; i++) {
    let pos = 0
    for (let j = 0; j < n; j++) if (j !== i && labels[j] === labels[i]) pos++
    if (pos === 0) continue
    let neg = 0
    for (let e = 0; e < negL.length; e++)
      if (labels[negL[e]!] !== labels[i] && labels[negK[e]!] !== labels[i]) neg++
    count += pos * neg
    valid.push(i)
  }
  if (count > 0) {
    const w = 1 / count
    for (const i of valid) {
      for (let j = 0; j < n; j++) {
        if (j === i || labels[j] !== labels[i]) continue
        const dij = D[i * n + j]! + m2
        let active = 0
        for (let e = 0; e < negL.length; e++) {
          const l = negL[e]!
          const k = negK[e]!
          if (labels[l] === labels[i] || labels[k] === labels[i]) continue
          const v = dij - D[l * n + k]!
          if (v > 0) {
            loss += v * w
            coeff[l * n + k]! -= w
            active++
          }
        }
        coeff[i * n + j]! += active * w
        constant += active * m2 * w
      }
    }
  }
  return { ...triplet, loss, coeff, constant, misranked: countMisranked(D, labels, m1) }
}
