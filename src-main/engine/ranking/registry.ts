import type { ApVariant } from './ap'
import type { SquareMatrix } from './batch'
import type { LossResult } from './loss-types'
import { batchHardLoss, contrastiveLoss, quadrupletLoss, tripletLoss } from './losses'
import { rankTripletLoss } from './rank-triplet'

export interface LossOptions {
  /** Margin m (for quadruplet: m1; m2 stays 0.5 unless given). */
  margin: number
  margin2?: number
  ap?: ApVariant
}

export type BatchLoss = (D: SquareMatrix, labels: ArrayLike<number>, options: LossOptions) => LossResult

/** The list-wise and pair-based losses by name (STYLE.md §7). */
export const losses = {
  'rank-triplet': (D, l, o) => rankTripletLoss(D, l, { margin: o.margin, ap: o.ap ?? 'standard' }),
  baseline: (D, l, o) =>
    rankTripletLoss(D, l, { margin: o.margin, ap: o.ap ?? 'standard', weighting: 'baseline' }),
  contrastive: (D, l, o) => contrastiveLoss(D, l, o.margin, o.ap),
  triplet: (D, l, o) => tripletLoss(D, l, o.margin, o.ap),
  'batch-hard': (D, l, o) => batchHardLoss(D, l, o.margin, o.ap),
  quadruplet: (D, l, o) => quadrupletLoss(D, l, o.margin, o.margin2 ?? 0.5, o.ap),
} satisfies Record<string, BatchLoss>

export type LossName = keyof typeof losses
export const lossNames = Object.keys(losses) as LossName[]

/** Looks a loss up by name; an unknown name is an error listing the known ones. */
export function getLoss(name: string): BatchLoss {
  if (!Object.hasOwn(losses, name))
    throw new RangeError(`unknown loss "${name}"; known: ${lossNames.join(', ')}`)
  return losses[name as LossName]
}
