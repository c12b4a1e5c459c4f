import type { SquareMatrix } from './batch'

/**
 * What every batch loss returns (DESIGN.md §4.7): the value, and the coefficient matrix C with
 * loss = Σ_ij C_ij · D_ij + constant, where D is the batch's squared-distance matrix. C is
 * the gradient of the loss with respect to D (the loss weights are constants), so the trainer
 * differentiates only D. Plus the paper's online metrics (Fig. 5).
 */
export interface LossResult {
  loss: number
  /** n×n, row-major. */
  coeff: Float64Array
  constant: number
  /** Mis-ranked (query, positive, negative) triples under the loss's margin. */
  misranked: number
  /** Mean AP of the batch ranking itself (each item queries the others by D). */
  batchMAP: number
  /** Share of batch queries whose nearest other item is a positive. */
  batchR1: number
  /** Batch items with at least one positive (the queries the metrics average over). */
  validQueries: number
}

/** Checks D is n×n for n labels and finite; returns n. Throws a RangeError naming the problem. */
export function checkBatch(D: SquareMatrix, labels: ArrayLike<number>): number {
  const n = labels.length
  if (n < 2) throw new RangeError(`a batch needs at least 2 items (got ${n})`)
  if (D.length !== n * n)
    throw new RangeError(`distance matrix has ${D.length} entries; ${n} labels need ${n}×${n} = ${n * n}`)
  for (let i = 0; i < D.length; i++) {
    if (!Number.isFinite(D[i]!))
      throw new RangeError(`distance matrix entry (${Math.floor(i / n)}, ${i % n}) is not finite`)
  }
  return n
}
