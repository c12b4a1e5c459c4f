/**
 * What a head fine-tune is configured by, with the defaults recorded in docs/TRAINING.md (tuned for
 * a head on cached features; the paper's full-network recipe is lr 1e-4, ×0.1 every 80 epochs, 200
 * epochs, weight decay 5e-4).
 */
import type { ApVariant } from '../ranking/ap'
import { lossNames, type LossName } from '../ranking/registry'

export const trainLossNames = [...lossNames, 'softmax'] as const
export type TrainLossName = LossName | 'softmax'

export interface TrainConfig {
  loss: TrainLossName
  /** The loss's margin m on squared distances of unit vectors (range 0–4); quadruplet: m1. */
  margin: number
  /** Quadruplet's second margin m2. */
  margin2: number
  ap: ApVariant
  /** Identities × images per batch. */
  p: number
  k: number
  /** Embedding size of the head (at most the backbone's). */
  outDim: number
  /** Upper bound on epochs (early stopping usually ends sooner). */
  epochs: number
  lr: number
  /** The learning rate is multiplied by lrGamma every lrStep epochs. */
  lrStep: number
  lrGamma: number
  weightDecay: number
  /** Stop when validation mAP has not improved for this many epochs (0 = never stop early). */
  patience: number
  /** Share of the identities held out for validation. */
  valShare: number
  seed: number
}

/** Per-loss margins: the triplet family pulls by 0.3 on the unit sphere; contrastive pushes negatives beyond 1. */
export const defaultMargins: Record<TrainLossName, number> = {
  'rank-triplet': 0.3,
  baseline: 0.3,
  triplet: 0.3,
  'batch-hard': 0.3,
  contrastive: 1,
  quadruplet: 1,
  softmax: 0,
}

export function defaultTrainConfig(loss: TrainLossName = 'rank-triplet', dim = 256): TrainConfig {
  return {
    loss,
    margin: defaultMargins[loss],
    margin2: 0.5,
    ap: 'standard',
    p: 32,
    k: 4,
    outDim: Math.min(256, dim),
    epochs: 80,
    lr: 3e-4,
    lrStep: 50,
    lrGamma: 0.1,
    weightDecay: 5e-4,
    patience: 15,
    valShare: 0.15,
    seed: 1,
  }
}

/** Checks a configuration; the message names the setting and what to do. */
export function checkTrainConfig(c: TrainConfig, inDim: number): void {
  const bad = (what: string) => {
    throw new RangeError(what)
  }
  if (!(trainLossNames as readonly string[]).includes(c.loss))
    bad(`unknown loss "${c.loss}"; known: ${trainLossNames.join(', ')}`)
  if (!Number.isInteger(c.outDim) || c.outDim < 1 || c.outDim > inDim)
    bad(`the head's size must be 1–${inDim} (the backbone's) (got ${c.outDim})`)
  if (!Number.isInteger(c.epochs) || c.epochs < 1) bad(`epochs must be a whole number ≥ 1 (got ${c.epochs})`)
  if (!(c.lr > 0 && c.lr < 1)) bad(`the learning rate must be in (0, 1) (got ${c.lr})`)
  if (!Number.isInteger(c.lrStep) || c.lrStep < 1)
    bad(`the learning-rate step must be ≥ 1 epoch (got ${c.lrStep})`)
  if (!(c.lrGamma > 0 && c.lrGamma <= 1)) bad(`the learning-rate factor must be in (0, 1] (got ${c.lrGamma})`)
  if (!(c.weightDecay >= 0 && c.weightDecay < 1)) bad(`weight decay must be in [0, 1) (got ${c.weightDecay})`)
  if (!(c.margin >= 0 && c.margin <= 4)) bad(`the margin must be in [0, 4] (got ${c.margin})`)
  if (!Number.isInteger(c.patience) || c.patience < 0)
    bad(`patience must be a whole number ≥ 0 (got ${c.patience})`)
  if (!(c.valShare >= 0 && c.valShare < 0.9))
    bad(`the validation share must be in [0, 0.9) (got ${c.valShare})`)
  if (!Number.isInteger(c.p) || c.p < 2) bad(`P (identities per batch) must be ≥ 2 (got ${c.p})`)
  if (!Number.isInteger(c.k) || c.k < 2) bad(`K (images per identity) must be ≥ 2 (got ${c.k})`)
  if (!Number.isInteger(c.seed) || c.seed < 0 || c.seed > 0xffffffff)
    bad(`the seed must be a whole number 0–4294967295 (got ${c.seed})`)
}
