/**
 * What trainHead refuses before training: label sets it cannot learn from, non-finite features,
 * and out-of-range settings (checkTrainConfig).
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { LineupError } from '../../../src-shared/errors'
import {
  checkTrainConfig,
  defaultTrainConfig,
  trainLossNames,
  type TrainConfig,
} from '../../../src-main/engine/training/config'
import { trainHead, type TrainData } from '../../../src-main/engine/training/trainer'
import { tempDir } from '../../helpers/tmp'
import { toyConfig, toyData } from './helpers'

const tmp = tempDir('lineup-train-input-')
afterAll(() => tmp.dispose())

const DIM = 32

/** Toy features with the given identity per row. */
function withIdentities(ids: number[]): TrainData {
  const base = toyData({ ids: ids.length, perId: 1 })
  return { ...base, identities: Int32Array.from(ids) }
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection')
    },
    (e: unknown) => e,
  )
}

async function expectInvalid(data: TrainData, message: RegExp, config = toyConfig()) {
  const file = join(tmp.path, `ck-${Math.random().toString(36).slice(2)}.bin`)
  const err = await rejection(trainHead(data, config, { checkpoint: file }))
  expect(err).toBeInstanceOf(LineupError)
  expect((err as LineupError).kind).toBe('invalid-input')
  expect((err as LineupError).message).toMatch(message)
  // Refused up front: no checkpoint was written.
  expect(existsSync(file)).toBe(false)
}

describe('degenerate label sets are refused with a clear message', () => {
  it('one identity', async () => {
    await expectInvalid(
      withIdentities(Array(12).fill(5)),
      /at least 2 identities with 2 or more images each; the data has 1 identity$/,
    )
  })

  it('no labelled rows at all (unlabelled 0 and junk −1 are not identities)', async () => {
    await expectInvalid(withIdentities([0, 0, -1, -1, 0, -1]), /the data has 0 identities$/)
  })

  it('all singletons', async () => {
    await expectInvalid(
      withIdentities([1, 2, 3, 4, 5, 6, 7, 8]),
      /at least 2 identities with 2 or more images each; only 0 of the 8 identities have more than one image/,
    )
  })

  it('only one identity with two or more images', async () => {
    await expectInvalid(
      withIdentities([1, 1, 1, 2, 3, 4, 0, 0]),
      /only 1 of the 4 identities have more than one image/,
    )
  })

  it('two usable identities are enough (nothing held out), with the singletons left out', async () => {
    const res = await trainHead(
      withIdentities([1, 1, 1, 2, 2, 3, 0]),
      toyConfig('rank-triplet', { epochs: 1 }),
    )
    expect(res.trainIdentities).toBe(2)
    expect(res.valIdentities).toBe(0)
    expect(res.initialVal).toBeNull()
    expect(res.steps).toBeGreaterThan(0)
  })
})

describe('features', () => {
  it.each([
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['−Infinity', Number.NEGATIVE_INFINITY],
  ])('a %s feature is refused, naming its row', async (_what, value) => {
    const data = toyData()
    data.features[37 * DIM + 5] = value
    await expectInvalid(data, /feature row 37 is not finite/)
  })

  it('features that do not match the identities are refused', async () => {
    const data = toyData()
    await expectInvalid(
      { ...data, features: data.features.subarray(DIM) },
      new RegExp(`features hold ${data.features.length - DIM} values; 160 rows of 32 expected`),
    )
  })
})

describe('checkTrainConfig', () => {
  const ok = defaultTrainConfig('rank-triplet', DIM)

  it('accepts the defaults of every loss', () => {
    for (const loss of trainLossNames)
      expect(() => checkTrainConfig(defaultTrainConfig(loss, DIM), DIM)).not.toThrow()
    expect(defaultTrainConfig('rank-triplet', 2048).outDim).toBe(256)
    expect(defaultTrainConfig('rank-triplet', 64).outDim).toBe(64)
  })

  it.each<[string, Partial<TrainConfig>, RegExp]>([
    ['outDim > inDim', { outDim: DIM + 1 }, /head's size must be 1–32 .*\(got 33\)/],
    ['outDim 0', { outDim: 0 }, /head's size must be 1–32/],
    ['outDim not whole', { outDim: 7.5 }, /head's size/],
    ['lr 0', { lr: 0 }, /learning rate must be in \(0, 1\) \(got 0\)/],
    ['lr < 0', { lr: -1e-3 }, /learning rate must be in \(0, 1\)/],
    ['lr 1', { lr: 1 }, /learning rate must be in \(0, 1\)/],
    ['lr NaN', { lr: Number.NaN }, /learning rate must be in \(0, 1\) \(got NaN\)/],
    ['epochs 0', { epochs: 0 }, /epochs must be a whole number ≥ 1/],
    ['epochs 2.5', { epochs: 2.5 }, /epochs must be a whole number ≥ 1/],
    ['lrStep 0', { lrStep: 0 }, /learning-rate step must be ≥ 1/],
    ['lrGamma 0', { lrGamma: 0 }, /learning-rate factor must be in \(0, 1\]/],
    ['lrGamma > 1', { lrGamma: 1.5 }, /learning-rate factor/],
    ['weight decay < 0', { weightDecay: -0.1 }, /weight decay must be in \[0, 1\)/],
    ['weight decay 1', { weightDecay: 1 }, /weight decay/],
    ['margin < 0', { margin: -0.1 }, /margin must be in \[0, 4\]/],
    ['margin > 4', { margin: 4.5 }, /margin must be in \[0, 4\]/],
    ['patience < 0', { patience: -1 }, /patience must be a whole number ≥ 0/],
    ['valShare 0.9', { valShare: 0.9 }, /validation share must be in \[0, 0\.9\)/],
    ['valShare < 0', { valShare: -0.1 }, /validation share/],
    ['P 1', { p: 1 }, /P \(identities per batch\) must be ≥ 2/],
    ['K 1', { k: 1 }, /K \(images per identity\) must be ≥ 2/],
    ['seed < 0', { seed: -1 }, /seed must be a whole number 0–4294967295/],
    ['seed ≥ 2³²', { seed: 2 ** 32 }, /seed must be/],
    [
      'unknown loss',
      { loss: 'arcface' as TrainConfig['loss'] },
      /unknown loss "arcface"; known: rank-triplet, .*softmax/,
    ],
  ])('refuses %s with a RangeError naming the setting', async (_what, change, message) => {
    const config = { ...ok, ...change }
    expect(() => checkTrainConfig(config, DIM)).toThrow(RangeError)
    expect(() => checkTrainConfig(config, DIM)).toThrow(message)
    // trainHead checks first, before touching data, backend or checkpoint.
    const file = join(tmp.path, 'never.bin')
    const err = await rejection(trainHead(toyData(), config, { checkpoint: file }))
    expect(err).toBeInstanceOf(RangeError)
    expect((err as Error).message).toMatch(message)
    expect(existsSync(file)).toBe(false)
  })

  it('accepts the edges of each range', () => {
    for (const change of [
      { outDim: DIM },
      { outDim: 1 },
      { lrGamma: 1 },
      { weightDecay: 0 },
      { margin: 0 },
      { margin: 4 },
      { patience: 0 },
      { valShare: 0 },
      { seed: 0 },
      { seed: 0xffffffff },
    ] satisfies Partial<TrainConfig>[])
      expect(() => checkTrainConfig({ ...ok, ...change }, DIM), JSON.stringify(change)).not.toThrow()
  })
})
