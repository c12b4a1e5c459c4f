/**
 * The fine-tune charts' data (paper Fig. 5) from the points a run pushed: columns as uPlot takes
 * them (`[xs, ...ys]`, nulls for gaps). The engine samples step points (at most one per 0.1 s) and
 * sends every epoch's mean at the epoch's last step; per step, a step point is preferred.
 */
import type { TrainPoint } from '../../../src-shared/domain'

export type Columns = [number[], ...(number | null)[][]]

export interface TrainSeries {
  /** x = step: loss. */
  loss: Columns
  /** x = step: batch mAP, batch R1 (0–1). */
  batch: Columns
  /** x = step: mis-ranked (positive, negative) pairs per query. */
  misranked: Columns
  /** x = epoch: validation mAP, validation R1; null when no epoch had a validation. */
  validation: Columns | null
}

const finite = (x: number | null | undefined): number | null =>
  typeof x === 'number' && Number.isFinite(x) ? x : null

export function trainSeries(points: readonly TrainPoint[]): TrainSeries {
  const byStep = new Map<number, TrainPoint>()
  for (const p of points) {
    const known = byStep.get(p.step)
    if (!known || (known.type === 'epoch' && p.type === 'step')) byStep.set(p.step, p)
  }
  const steps = [...byStep.values()].sort((a, b) => a.step - b.step)
  const xs = steps.map((p) => p.step)
  const epochs = new Map<number, TrainPoint>()
  for (const p of points) if (p.type === 'epoch') epochs.set(p.epoch, p)
  const val = [...epochs.values()]
    .filter((p) => finite(p.valMAP) !== null || finite(p.valR1) !== null)
    .sort((a, b) => a.epoch - b.epoch)
  return {
    loss: [xs, steps.map((p) => finite(p.loss))],
    batch: [xs, steps.map((p) => finite(p.batchMAP)), steps.map((p) => finite(p.batchR1))],
    misranked: [xs, steps.map((p) => finite(p.misranked))],
    validation:
      val.length === 0
        ? null
        : [val.map((p) => p.epoch), val.map((p) => finite(p.valMAP)), val.map((p) => finite(p.valR1))],
  }
}
