/**
 * trainHead's checkpoints (src-main/engine/training/trainer.ts): cancel-and-resume in-process gives
 * the uninterrupted run bit for bit, a non-finite loss stops the run and keeps the last good
 * checkpoint, another run's checkpoint is refused.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LineupError } from '../../../src-shared/errors'
import { loadTf } from '../../../src-main/engine/ml/tf/backend'
import { getLoss, type BatchLoss } from '../../../src-main/engine/ranking/registry'
import { readCheckpoint } from '../../../src-main/engine/training/checkpoint'
import type { TrainConfig } from '../../../src-main/engine/training/config'
import {
  trainHead,
  type EpochRecord,
  type TrainEvent,
  type TrainResult,
} from '../../../src-main/engine/training/trainer'
import { tempDir } from '../../helpers/tmp'
import { headBytes, toyConfig, toyData } from './helpers'

const tmp = tempDir('lineup-train-resume-')
let n = 0
const freshDir = () => {
  const dir = join(tmp.path, `run-${++n}`)
  mkdirSync(dir)
  return { dir, file: join(dir, 'checkpoint.bin') }
}

beforeAll(async () => {
  await loadTf()
})
afterAll(() => tmp.dispose())

async function expectLineupError(p: Promise<unknown>, kind: string): Promise<LineupError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(LineupError)
  expect((err as LineupError).kind).toBe(kind)
  return err as LineupError
}

/** Epoch records without their wall-clock times. */
const timeless = (h: EpochRecord[]) => h.map(({ seconds: _s, ...rest }) => rest)

/** Runs `config` uninterrupted with a checkpoint file of its own. */
async function uninterrupted(config: TrainConfig): Promise<{ res: TrainResult; file: string }> {
  const { file } = freshDir()
  return { res: await trainHead(toyData(), config, { checkpoint: file }), file }
}

/** Runs `config`, cancels it right after epoch `at`'s checkpoint, then resumes it to the end. */
async function cancelAndResume(config: TrainConfig, at: number) {
  const { dir, file } = freshDir()
  const data = toyData()
  const controller = new AbortController()
  let stepsAtCheckpoint = -1
  let stepsAfterCancel = 0
  const first = trainHead(data, config, {
    checkpoint: file,
    signal: controller.signal,
    onEvent: (e) => {
      if (e.type === 'checkpoint' && e.epoch === at) {
        stepsAtCheckpoint = e.step
        controller.abort()
      }
      if (e.type === 'step' && controller.signal.aborted) stepsAfterCancel++
    },
  })
  const err = await expectLineupError(first, 'cancelled')
  expect(stepsAfterCancel).toBe(0)
  expect(stepsAtCheckpoint).toBeGreaterThan(0)
  expect(err.message).toContain(`cancelled at step ${stepsAtCheckpoint}`)
  expect(err.message).toContain(
    `last good checkpoint (epoch ${at}, step ${stepsAtCheckpoint}) is kept in ${file}`,
  )
  const saved = readCheckpoint<{ epoch: number; step: number }>(file)!
  expect(saved.header.epoch).toBe(at)
  expect(saved.header.step).toBe(stepsAtCheckpoint)

  const events: TrainEvent[] = []
  const res = await trainHead(data, config, { checkpoint: file, onEvent: (e) => events.push(e) })
  return { res, file, dir, stepsAtCheckpoint, events }
}

describe('cancel and resume in-process', () => {
  it.each([
    [
      'rank-triplet, a learning-rate step across the cut',
      toyConfig('rank-triplet', { epochs: 5, lrStep: 3 }),
    ],
    ['batch-hard with weight decay', toyConfig('batch-hard', { epochs: 4, weightDecay: 0.01 })],
    ['softmax', toyConfig('softmax', { epochs: 4, lr: 5e-3 })],
    ['rank-triplet with early stopping', toyConfig('rank-triplet', { epochs: 60, patience: 2 })],
  ])('gives the uninterrupted run bit for bit: %s', async (_what, config) => {
    const ref = await uninterrupted(config)
    const { res, file, dir, stepsAtCheckpoint, events } = await cancelAndResume(config, 2)

    expect(res.resumedFromStep).toBe(stepsAtCheckpoint)
    expect(events[0]).toMatchObject({ type: 'start', resumedFromStep: stepsAtCheckpoint })
    // Only the remaining steps ran.
    expect(events.filter((e) => e.type === 'step').map((e) => (e as { step: number }).step)).toEqual(
      ref.res.stepHistory.slice(stepsAtCheckpoint).map((s) => s.step),
    )
    expect(res.steps).toBe(ref.res.steps)
    expect(res.epochs).toBe(ref.res.epochs)
    expect(res.bestEpoch).toBe(ref.res.bestEpoch)
    expect(res.stopReason).toBe(ref.res.stopReason)
    expect(headBytes(res.head).equals(headBytes(ref.res.head))).toBe(true)
    expect(res.stepHistory).toEqual(ref.res.stepHistory)

    // The final checkpoints hold the same weights and optimiser state.
    const a = readCheckpoint<{ adamT: number; rngState: number }>(ref.file)!
    const b = readCheckpoint<{ adamT: number; rngState: number }>(file)!
    expect(Object.keys(b.arrays)).toEqual(Object.keys(a.arrays))
    for (const k of Object.keys(a.arrays))
      expect(Buffer.from(b.arrays[k]!.buffer).equals(Buffer.from(a.arrays[k]!.buffer)), k).toBe(true)
    expect(b.header.adamT).toBe(a.header.adamT)
    expect(b.header.rngState).toBe(a.header.rngState)
    expect(readdirSync(dir)).toEqual(['checkpoint.bin'])
  })

  it('cut after the best epoch, still returns the best epoch’s head (kept in the checkpoint)', async () => {
    const config = toyConfig('rank-triplet', { epochs: 60, patience: 3 })
    const ref = await uninterrupted(config)
    expect(ref.res.stopReason).toBe('early-stop')
    // The best head is not the last weights, so the resumed run must take it from the checkpoint.
    const final = readCheckpoint(ref.file)!
    expect(Buffer.from(final.arrays.bestW!.buffer).equals(Buffer.from(final.arrays.W!.buffer))).toBe(false)
    const cut = ref.res.bestEpoch + 1
    expect(cut).toBeLessThan(ref.res.epochs)
    const { res } = await cancelAndResume(config, cut)
    expect(res.bestEpoch).toBe(ref.res.bestEpoch)
    expect(res.epochs).toBe(ref.res.epochs)
    expect(headBytes(res.head).equals(headBytes(ref.res.head))).toBe(true)
  })

  it('reports the same history as the uninterrupted run (rank-triplet)', async () => {
    const config = toyConfig('rank-triplet', { epochs: 4 })
    const ref = await uninterrupted(config)
    const { res } = await cancelAndResume(config, 2)
    expect(res.initialVal).toEqual(ref.res.initialVal)
    expect(timeless(res.epochHistory)).toEqual(timeless(ref.res.epochHistory))
  })

  it('reports the same history as the uninterrupted run (softmax: validation loss stays NaN, not null)', async () => {
    // With softmax there is no metric loss, so the validation loss is NaN; it must come back from
    // the checkpoint as NaN (a number), as the uninterrupted run reports it.
    const config = toyConfig('softmax', { epochs: 3, lr: 5e-3 })
    const ref = await uninterrupted(config)
    expect(ref.res.initialVal!.loss).toBeNaN()
    const { res } = await cancelAndResume(config, 2)
    expect(res.initialVal).toEqual(ref.res.initialVal)
    expect(timeless(res.epochHistory)).toEqual(timeless(ref.res.epochHistory))
  })

  it('a finished run resumed returns its result at once without training', async () => {
    const config = toyConfig('rank-triplet', { epochs: 3 })
    const ref = await uninterrupted(config)
    const events: TrainEvent[] = []
    const again = await trainHead(toyData(), config, { checkpoint: ref.file, onEvent: (e) => events.push(e) })
    expect(again.resumedFromStep).toBe(ref.res.steps)
    expect(again.steps).toBe(ref.res.steps)
    expect(events.filter((e) => e.type === 'step')).toHaveLength(0)
    expect(headBytes(again.head).equals(headBytes(ref.res.head))).toBe(true)
  })
})

describe("another run's checkpoint", () => {
  it('is refused with a conflict (other settings, other data), and left as it was', async () => {
    const config = toyConfig('rank-triplet', { epochs: 2 })
    const ref = await uninterrupted(config)
    const before = readFileSync(ref.file)
    const err = await expectLineupError(
      trainHead(toyData(), { ...config, seed: 9 }, { checkpoint: ref.file }),
      'conflict',
    )
    expect(err.message).toContain(ref.file)
    await expectLineupError(trainHead(toyData({ seed: 99 }), config, { checkpoint: ref.file }), 'conflict')
    await expectLineupError(
      trainHead(toyData(), config, { checkpoint: ref.file, dataKey: 'another library' }),
      'conflict',
    )
    expect(readFileSync(ref.file).equals(before)).toBe(true)
  })

  it('a damaged checkpoint is refused as invalid input, not half-read', async () => {
    const config = toyConfig('rank-triplet', { epochs: 2 })
    const ref = await uninterrupted(config)
    const buf = readFileSync(ref.file)
    buf[buf.length >> 1]! ^= 0x10
    writeFileSync(ref.file, buf)
    const err = await expectLineupError(
      trainHead(toyData(), config, { checkpoint: ref.file }),
      'invalid-input',
    )
    expect(err.message).toContain(ref.file)
  })
})

describe('the NaN / Inf guard', () => {
  /**
   * Rank-Triplet, but the training step `step` of the run gets `fault` applied to its result. The
   * step is reached through the step events (validation calls the loss too, and must not be hit).
   */
  function faultyRun(fault: (r: ReturnType<BatchLoss>) => ReturnType<BatchLoss>, config: TrainConfig) {
    const { dir, file } = freshDir()
    const base = getLoss('rank-triplet')
    let armed = false
    let faultAt = -1
    let epoch1: Buffer | null = null
    let epoch1Step = -1
    const lossOverride: BatchLoss = (D, labels, opts) => {
      const r = base(D, labels, opts)
      if (!armed) return r
      armed = false
      return fault(r)
    }
    const steps: number[] = []
    const run = trainHead(toyData(), config, {
      checkpoint: file,
      lossOverride,
      onEvent: (e) => {
        if (e.type === 'checkpoint' && e.epoch === 1) {
          epoch1 = readFileSync(file)
          epoch1Step = e.step
        }
        if (e.type === 'step') {
          steps.push(e.step)
          // Fault the second step of epoch 2 (the next loss call is that training step).
          if (e.epoch === 2 && faultAt < 0) {
            armed = true
            faultAt = e.step + 1
          }
        }
      },
    })
    return {
      run,
      dir,
      file,
      steps,
      info: () => ({ faultAt, epoch1: epoch1 as Buffer | null, epoch1Step }),
    }
  }

  it.each([
    ['a NaN loss', (r: ReturnType<BatchLoss>) => ({ ...r, loss: Number.NaN }), 'NaN'],
    [
      'an infinite loss',
      (r: ReturnType<BatchLoss>) => ({ ...r, loss: Number.POSITIVE_INFINITY }),
      'Infinity',
    ],
    [
      'NaN coefficients',
      (r: ReturnType<BatchLoss>) => ({ ...r, coeff: r.coeff.map((v, i) => (i === 1 ? Number.NaN : v)) }),
      'finite but a gradient did not',
    ],
  ])('%s stops the run naming the step and keeps the last good checkpoint', async (_what, fault, says) => {
    const config = toyConfig('rank-triplet', { epochs: 5 })
    const f = faultyRun(fault, config)
    const err = await expectLineupError(f.run, 'internal')
    const { faultAt, epoch1, epoch1Step } = f.info()
    expect(epoch1).not.toBeNull()
    // The fault hit the second training step of epoch 2, after epoch 1's checkpoint.
    expect(faultAt).toBe(epoch1Step + 2)
    // The message says what happened, at which step, and which checkpoint is kept (soft, so the
    // checks below still run when one of these fails).
    expect.soft(err.message).toContain(says)
    expect.soft(err.message).toContain(`at step ${faultAt} (epoch 2)`)
    expect.soft(err.message).toContain(`last good checkpoint (epoch 1, step ${epoch1Step})`)
    // The faulty step did not count, and nothing ran after it.
    expect(f.steps.at(-1)).toBe(faultAt - 1)
    // The checkpoint on disk is epoch 1's, byte for byte, intact and finite.
    expect(readFileSync(f.file).equals(epoch1!)).toBe(true)
    const kept = readCheckpoint<{ epoch: number; step: number; finished: unknown }>(f.file)!
    expect(kept.header).toMatchObject({ epoch: 1, step: epoch1Step, finished: null })
    for (const [name, a] of Object.entries(kept.arrays))
      expect(
        a.every((v) => Number.isFinite(v)),
        name,
      ).toBe(true)
    expect(readdirSync(f.dir)).toEqual(['checkpoint.bin'])

    // Resumed with a healthy loss, the run ends where an uninterrupted one does.
    const resumed = await trainHead(toyData(), config, { checkpoint: f.file })
    expect(resumed.resumedFromStep).toBe(epoch1Step)
    const ref = await trainHead(toyData(), config)
    expect(resumed.steps).toBe(ref.steps)
    expect(headBytes(resumed.head).equals(headBytes(ref.head))).toBe(true)
  })
})
