/**
 * trainHead (src-main/engine/training/trainer.ts) end to end on the toy problem, on the backend the
 * probe picks (wasm here): it learns, it is deterministic, it cleans up its tensors.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { loadTf, type TfRuntime } from '../../../src-main/engine/ml/tf/backend'
import { applyHead, headHash } from '../../../src-main/engine/training/head'
import { trainHead, type TrainEvent } from '../../../src-main/engine/training/trainer'
import { headBytes, retrievalMAP, toyConfig, toyData } from './helpers'

let rt: TfRuntime
beforeAll(async () => {
  rt = await loadTf()
})

describe('trainHead learns a separable toy problem', () => {
  it('reaches validation mAP ≥ 0.99 from a clearly imperfect start (rank-triplet)', async () => {
    const data = toyData()
    // Margin 0.8: with the default 0.3 the training batches are all ranked within the margin (loss 0)
    // before the nuisance dimensions are fully suppressed, and validation settles around 0.95–0.98.
    const config = toyConfig('rank-triplet', { margin: 0.8 })
    const events: TrainEvent[] = []
    const res = await trainHead(data, config, { onEvent: (e) => events.push(e) })

    expect(res.backend).toBe(rt.backend)
    expect(res.valIdentities).toBe(6)
    expect(res.trainIdentities).toBe(14)
    expect(res.initialVal).not.toBeNull()
    const initial = res.initialVal!.mAP
    expect(initial).toBeLessThan(0.9)
    const vals = res.epochHistory.map((e) => e.val!.mAP)
    const best = Math.max(...vals)
    expect(best).toBeGreaterThanOrEqual(0.99)
    expect(best).toBeGreaterThan(initial + 0.05)
    expect(vals.at(-1)!).toBeGreaterThanOrEqual(0.99)
    // The returned head is the best epoch's.
    expect(res.epochHistory[res.bestEpoch - 1]!.val!.mAP).toBe(best)
    // The training loss fell.
    expect(res.epochHistory.at(-1)!.loss).toBeLessThan(res.epochHistory[0]!.loss / 4)

    // The head generalises: identities never seen in training, ranked by the raw features and by the head.
    const fresh = toyData({ seed: 1234, ids: 12 })
    const raw = retrievalMAP(fresh.features, fresh.dim, fresh.identities)
    const headed = retrievalMAP(applyHead(res.head, fresh.features), res.head.outDim, fresh.identities)
    expect(raw).toBeLessThan(0.9)
    expect(headed).toBeGreaterThanOrEqual(0.98)

    // Events: one start, one step event per step, one epoch and one (no) checkpoint per epoch.
    expect(events[0]).toMatchObject({ type: 'start', backend: rt.backend, resumedFromStep: 0, p: 8, k: 4 })
    expect(events.filter((e) => e.type === 'step')).toHaveLength(res.steps)
    expect(events.filter((e) => e.type === 'epoch')).toHaveLength(config.epochs)
    expect(events.filter((e) => e.type === 'checkpoint')).toHaveLength(0)
    expect(res.stopReason).toBe('max-epochs')
    expect(res.epochs).toBe(config.epochs)
    expect(res.stepHistory.map((s) => s.step)).toEqual(Array.from({ length: res.steps }, (_, i) => i + 1))
  })

  it('stops early when validation mAP stops improving', async () => {
    const res = await trainHead(toyData(), toyConfig('rank-triplet', { patience: 3, epochs: 60 }))
    expect(res.stopReason).toBe('early-stop')
    expect(res.epochs).toBe(res.bestEpoch + 3)
    expect(res.epochs).toBeLessThan(60)
  })
})

describe('trainHead is deterministic', () => {
  it('gives bit-identical heads for the same seed, different ones for another seed', async () => {
    const data = toyData()
    const config = toyConfig('rank-triplet', { epochs: 4 })
    const a = await trainHead(data, config)
    const b = await trainHead(data, config)
    expect(headBytes(b.head).equals(headBytes(a.head))).toBe(true)
    expect(headHash(b.head)).toBe(headHash(a.head))
    expect(b.stepHistory).toEqual(a.stepHistory)
    const c = await trainHead(data, { ...config, seed: 2 })
    expect(headBytes(c.head).equals(headBytes(a.head))).toBe(false)
    expect(headHash(c.head)).not.toBe(headHash(a.head))
  })

  it('is deterministic with the softmax loss too', async () => {
    const data = toyData()
    const config = toyConfig('softmax', { epochs: 3, lr: 5e-3 })
    const a = await trainHead(data, config)
    const b = await trainHead(data, config)
    expect(headBytes(b.head).equals(headBytes(a.head))).toBe(true)
  })
})

describe('tensor memory of a run', () => {
  it.each(['rank-triplet', 'softmax'] as const)(
    'trainHead leaves no tensors behind after it returns (%s)',
    async (loss) => {
      const before = rt.tf.memory()
      await trainHead(toyData(), toyConfig(loss, { epochs: 3 }))
      const after = rt.tf.memory()
      expect({ tensors: after.numTensors, bytes: after.numBytes }).toEqual({
        tensors: before.numTensors,
        bytes: before.numBytes,
      })
    },
  )

  it('leaves no tensors behind without validation either', async () => {
    const before = rt.tf.memory()
    await trainHead(toyData(), toyConfig('rank-triplet', { epochs: 3, valShare: 0 }))
    expect(rt.tf.memory().numTensors).toBe(before.numTensors)
  })
})
