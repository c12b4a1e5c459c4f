import { describe, expect, it } from 'vitest'
import type { TrainPoint } from '../../../src-shared/domain'
import { trainSeries, type Columns } from '../../../src-renderer/src/lib/train-series'

/** A step point whose values are derived from its step, so a column shows which point won. */
const step = (s: number, epoch = 1, over: Partial<TrainPoint> = {}): TrainPoint => ({
  type: 'step',
  step: s,
  epoch,
  loss: s / 10,
  batchMAP: s / 100,
  batchR1: s / 200,
  misranked: s,
  ...over,
})

/** An epoch point (the epoch's mean) at the epoch's last step. */
const epoch = (e: number, s: number, over: Partial<TrainPoint> = {}): TrainPoint => ({
  type: 'epoch',
  step: s,
  epoch: e,
  loss: 1000 + e,
  batchMAP: 0.5,
  batchR1: 0.25,
  misranked: 100 + e,
  valMAP: null,
  valR1: null,
  ...over,
})

/** Every step column has the x column's length. */
function expectAligned(columns: Columns): void {
  const [xs, ...ys] = columns
  for (const y of ys) expect(y).toHaveLength(xs.length)
}

describe('trainSeries', () => {
  it('gives empty columns and no validation for no points', () => {
    const s = trainSeries([])
    expect(s.loss).toEqual([[], []])
    expect(s.batch).toEqual([[], [], []])
    expect(s.misranked).toEqual([[], []])
    expect(s.validation).toBeNull()
  })

  it('turns step points into uPlot columns (xs, then one column per series)', () => {
    const s = trainSeries([step(1), step(2), step(5)])
    expect(s.loss).toEqual([
      [1, 2, 5],
      [0.1, 0.2, 0.5],
    ])
    expect(s.batch).toEqual([
      [1, 2, 5],
      [0.01, 0.02, 0.05],
      [0.005, 0.01, 0.025],
    ])
    expect(s.misranked).toEqual([
      [1, 2, 5],
      [1, 2, 5],
    ])
    expect(s.validation).toBeNull()
  })

  it('handles a single point', () => {
    const s = trainSeries([step(7)])
    expect(s.loss).toEqual([[7], [0.7]])
    expect(s.batch[0]).toEqual([7])
    expect(s.misranked).toEqual([[7], [7]])
  })

  it('sorts points by step, whatever their arrival order', () => {
    const s = trainSeries([step(30), step(10), step(20), step(5)])
    expect(s.loss[0]).toEqual([5, 10, 20, 30])
    expect(s.loss[1]).toEqual([0.5, 1, 2, 3])
    expect(s.misranked[1]).toEqual([5, 10, 20, 30])
  })

  describe('step and epoch points at the same step', () => {
    it('prefers the step point when the epoch point comes after it', () => {
      const s = trainSeries([step(10), epoch(1, 10)])
      expect(s.loss).toEqual([[10], [1]])
      expect(s.misranked).toEqual([[10], [10]])
      expect(s.batch).toEqual([[10], [0.1], [0.05]])
    })

    it('prefers the step point when the epoch point comes first', () => {
      const s = trainSeries([epoch(1, 10), step(10)])
      expect(s.loss).toEqual([[10], [1]])
      expect(s.misranked).toEqual([[10], [10]])
    })

    it("uses the epoch point (the epoch's mean) where no step point was sampled", () => {
      const s = trainSeries([step(3), step(7), epoch(1, 10), step(12, 2), epoch(2, 20)])
      expect(s.loss).toEqual([
        [3, 7, 10, 12, 20],
        [0.3, 0.7, 1001, 1.2, 1002],
      ])
      expect(s.misranked[1]).toEqual([3, 7, 101, 12, 102])
      expect(s.batch[1]).toEqual([0.03, 0.07, 0.5, 0.12, 0.5])
    })

    it('keeps one x per step', () => {
      const points = [step(1), epoch(1, 2), step(2), step(3, 2), epoch(2, 4), epoch(3, 6), step(6, 3)]
      const s = trainSeries(points)
      expect(s.loss[0]).toEqual([1, 2, 3, 4, 6])
      expect(s.loss[1]).toEqual([0.1, 0.2, 0.3, 1002, 0.6])
    })
  })

  it('keeps the first of two step points at the same step (a point sent twice)', () => {
    const s = trainSeries([step(4, 1, { loss: 0.9 }), step(4, 1, { loss: 0.1 }), step(5)])
    expect(s.loss).toEqual([
      [4, 5],
      [0.9, 0.5],
    ])
  })

  it('keeps the first of two epoch points at the same step when no step point is there', () => {
    const s = trainSeries([epoch(1, 10, { loss: 2 }), epoch(1, 10, { loss: 3 })])
    expect(s.loss).toEqual([[10], [2]])
  })

  describe('values that are not finite numbers become gaps (null)', () => {
    it.each<[string, number | null]>([
      ['null', null],
      ['NaN', Number.NaN],
      ['Infinity', Number.POSITIVE_INFINITY],
      ['-Infinity', Number.NEGATIVE_INFINITY],
    ])('a %s loss', (_name, loss) => {
      const s = trainSeries([step(1), step(2, 1, { loss }), step(3)])
      expect(s.loss).toEqual([
        [1, 2, 3],
        [0.1, null, 0.3],
      ])
      // The other series of the point are unaffected.
      expect(s.misranked[1]).toEqual([1, 2, 3])
    })

    it('a NaN or infinite batch mAP, batch R1 or mis-ranked count', () => {
      const s = trainSeries([
        step(1, 1, { batchMAP: Number.NaN }),
        step(2, 1, { batchR1: Number.POSITIVE_INFINITY }),
        step(3, 1, { misranked: Number.NaN }),
      ])
      expect(s.batch).toEqual([
        [1, 2, 3],
        [null, 0.02, 0.03],
        [0.005, null, 0.015],
      ])
      expect(s.misranked).toEqual([
        [1, 2, 3],
        [1, 2, null],
      ])
    })

    it('a value that is missing or not a number at all (points come over IPC)', () => {
      const odd = { ...step(1), loss: undefined, batchMAP: '0.5', misranked: undefined }
      const s = trainSeries([odd as unknown as TrainPoint])
      expect(s.loss).toEqual([[1], [null]])
      expect(s.batch).toEqual([[1], [null], [0.005]])
      expect(s.misranked).toEqual([[1], [null]])
    })

    it('but keeps zeros and negative numbers', () => {
      const s = trainSeries([
        step(1, 1, { loss: 0, batchMAP: 0, batchR1: 0, misranked: 0 }),
        step(2, 1, { loss: -0.5 }),
      ])
      expect(s.loss[1]).toEqual([0, -0.5])
      expect(s.batch).toEqual([
        [1, 2],
        [0, 0.02],
        [0, 0.01],
      ])
      expect(s.misranked[1]).toEqual([0, 2])
    })

    it('keeps the x of a point whose values are all gaps', () => {
      const s = trainSeries([
        step(1, 1, { loss: null, batchMAP: Number.NaN, batchR1: Number.NaN, misranked: Number.NaN }),
      ])
      expect(s.loss).toEqual([[1], [null]])
      expect(s.batch).toEqual([[1], [null], [null]])
      expect(s.misranked).toEqual([[1], [null]])
    })
  })

  describe('validation', () => {
    it('is null when only step points came', () => {
      expect(trainSeries([step(1), step(2)]).validation).toBeNull()
    })

    it('is null when no epoch had a validation (nulls, missing, NaN)', () => {
      const points = [
        epoch(1, 10),
        epoch(2, 20, { valMAP: undefined, valR1: undefined }),
        epoch(3, 30, { valMAP: Number.NaN, valR1: null }),
      ]
      expect(trainSeries(points).validation).toBeNull()
    })

    it('ignores validation values on step points', () => {
      expect(trainSeries([step(1, 1, { valMAP: 0.4, valR1: 0.6 })]).validation).toBeNull()
    })

    it('has x = epoch, then validation mAP and R1, sorted by epoch', () => {
      const s = trainSeries([
        epoch(2, 20, { valMAP: 0.5, valR1: 0.7 }),
        step(5),
        epoch(1, 10, { valMAP: 0.4, valR1: 0.6 }),
        epoch(3, 30, { valMAP: 0.55, valR1: 0.75 }),
      ])
      expect(s.validation).toEqual([
        [1, 2, 3],
        [0.4, 0.5, 0.55],
        [0.6, 0.7, 0.75],
      ])
    })

    it('leaves out epochs without a validation and keeps a half validation with a gap', () => {
      const s = trainSeries([
        epoch(1, 10, { valMAP: 0.4, valR1: 0.6 }),
        epoch(2, 20),
        epoch(3, 30, { valMAP: Number.NaN, valR1: 0.8 }),
        epoch(4, 40, { valMAP: 0.5, valR1: null }),
      ])
      expect(s.validation).toEqual([
        [1, 3, 4],
        [0.4, null, 0.5],
        [0.6, 0.8, null],
      ])
    })

    it('takes the last point of an epoch sent twice', () => {
      const s = trainSeries([
        epoch(1, 10, { valMAP: 0.1, valR1: 0.2 }),
        epoch(1, 10, { valMAP: 0.3, valR1: 0.4 }),
      ])
      expect(s.validation).toEqual([[1], [0.3], [0.4]])
    })

    it('keeps zero validation scores', () => {
      expect(trainSeries([epoch(1, 10, { valMAP: 0, valR1: 0 })]).validation).toEqual([[1], [0], [0]])
    })

    it("does not depend on whether the epoch's step point won the step series", () => {
      const withStep = trainSeries([step(10), epoch(1, 10, { valMAP: 0.4, valR1: 0.6 })])
      expect(withStep.loss).toEqual([[10], [1]])
      expect(withStep.validation).toEqual([[1], [0.4], [0.6]])
    })
  })

  it('builds aligned series for a whole run (sampled steps and every epoch)', () => {
    const points: TrainPoint[] = []
    const stepsPerEpoch = 50
    for (let e = 1; e <= 10; e++) {
      for (let s = (e - 1) * stepsPerEpoch + 1; s <= e * stepsPerEpoch; s++) {
        if (s % 3 === 0) points.push(step(s, e))
      }
      points.push(epoch(e, e * stepsPerEpoch, { valMAP: e / 20, valR1: e / 10 }))
    }
    const s = trainSeries(points)
    const xs = s.loss[0]
    expect(new Set(xs).size).toBe(xs.length)
    expect([...xs].sort((a, b) => a - b)).toEqual(xs)
    // 166 sampled steps (multiples of 3 up to 500), and the epoch ends that were not sampled.
    const sampled = Math.floor(500 / 3)
    const epochEndsSampled = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].filter((e) => (e * 50) % 3 === 0).length
    expect(xs).toHaveLength(sampled + 10 - epochEndsSampled)
    for (const columns of [s.loss, s.batch, s.misranked]) {
      expect(columns[0]).toEqual(xs)
      expectAligned(columns)
    }
    expect(s.validation?.[0]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    expectAligned(s.validation!)
  })

  it('does not change its input', () => {
    const points = Object.freeze([step(2), step(1), epoch(1, 2)].map((p) => Object.freeze(p)))
    const copy = structuredClone(points)
    trainSeries(points)
    expect(points).toEqual(copy)
  })
})
