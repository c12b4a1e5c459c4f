import { evaluateProtocol } from '../../../src-main/engine/ranking/protocol'
import { squaredEuclideanAllPairs } from '../../../src-main/engine/ranking/distances'
import {
  defaultTrainConfig,
  type TrainConfig,
  type TrainLossName,
} from '../../../src-main/engine/training/config'
import type { HeadWeights } from '../../../src-main/engine/training/head'
import type { TrainData } from '../../../src-main/engine/training/trainer'
import { mulberry32 } from '../ranking/helpers'

/**
 * A toy re-ID problem a linear head can solve and that generalises to unseen identities: each
 * identity is a random point in the first `signal` dimensions (plus a little noise); the other
 * dimensions carry only per-image nuisance of standard deviation `nuisance`, shared by every
 * identity. Rows are L2-normalised. Untrained, the nuisance dominates the distances; a head that
 * suppresses those dimensions ranks perfectly, on held-out identities too.
 */
export function toyData(
  options: {
    seed?: number
    ids?: number
    perId?: number
    dim?: number
    signal?: number
    nuisance?: number
    firstId?: number
  } = {},
): TrainData {
  const { seed = 7, ids = 20, perId = 8, dim = 32, signal = 8, nuisance = 1, firstId = 1 } = options
  const rand = mulberry32(seed)
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand())
  const features = new Float32Array(ids * perId * dim)
  const identities = new Int32Array(ids * perId)
  const row = new Float64Array(dim)
  for (let i = 0; i < ids; i++) {
    const center = Array.from({ length: signal }, () => normal())
    for (let j = 0; j < perId; j++) {
      const r = i * perId + j
      identities[r] = firstId + i
      let s = 0
      for (let k = 0; k < dim; k++) {
        row[k] = k < signal ? center[k]! + 0.05 * normal() : nuisance * normal()
        s += row[k]! ** 2
      }
      for (let k = 0; k < dim; k++) features[r * dim + k] = row[k]! / Math.sqrt(s)
    }
  }
  return { features, dim, identities, cams: null }
}

/** Small, fast settings for the toy problem. */
export function toyConfig(loss: TrainLossName = 'rank-triplet', overrides: Partial<TrainConfig> = {}) {
  return {
    ...defaultTrainConfig(loss, 32),
    p: 8,
    k: 4,
    epochs: 30,
    lr: 1e-2,
    valShare: 0.3,
    patience: 0,
    ...overrides,
  } satisfies TrainConfig
}

/** Retrieval mAP of every row against all the others (distinct cameras, so every same-id row counts). */
export function retrievalMAP(features: Float32Array, dim: number, pids: Int32Array): number {
  const D = squaredEuclideanAllPairs(features, dim)
  const cams = Int32Array.from(pids, (_, i) => i)
  return evaluateProtocol({ distmat: D, qPids: pids, gPids: pids, qCams: cams, gCams: cams }).mAP
}

/** The head's bytes, for bit-for-bit comparisons. */
export function headBytes(h: HeadWeights): Buffer {
  return Buffer.concat([
    Buffer.from(h.W.buffer, h.W.byteOffset, h.W.byteLength),
    Buffer.from(h.b.buffer, h.b.byteOffset, h.b.byteLength),
  ])
}
