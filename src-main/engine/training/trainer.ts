/**
 * The head trainer (issue #5): Rank-Triplet — or any loss of the ranking core, or softmax
 * classification — fine-tuning of a projection head on cached backbone features.
 *
 * Per step: a P×K batch (sampler.ts), the head's embeddings and distance matrix on TensorFlow.js
 * (ml/tf/head-kernel.ts), the loss value and coefficient matrix C from the ranking core, the
 * gradient through C, an Adam step. Per epoch: validation on held-out identities (retrieval mAP
 * and R1 among them, and the loss and batch metrics on fixed validation batches, the paper's
 * Fig. 5), early stopping on validation mAP, then an atomic checkpoint. A run resumed from its
 * checkpoint replays exactly what the uninterrupted run would have done (same batches, same
 * steps, same weights on the same backend).
 */
import { createHash } from 'node:crypto'
import { LineupError } from '../../../src-shared/errors'
import { loadTf, type TfBackendName, type TfRuntime } from '../ml/tf/backend'
import { TfHeadKernel, type HeadTrainState } from '../ml/tf/head-kernel'
import { squaredEuclideanAllPairs } from '../ranking/distances'
import type { LossResult } from '../ranking/loss-types'
import { evaluateProtocol } from '../ranking/protocol'
import { batchMetrics, countMisranked } from '../ranking/rank-triplet'
import { getLoss, type BatchLoss } from '../ranking/registry'
import { readCheckpoint, writeCheckpoint } from './checkpoint'
import { checkTrainConfig, type TrainConfig } from './config'
import { applyHead, gatherRows, initHead, type HeadWeights } from './head'
import { Rng } from './rng'
import { IdentitySampler, splitIdentities, type Batch } from './sampler'

export interface TrainData {
  /** rows × dim L2-normalised backbone features. */
  features: Float32Array
  dim: number
  /** Identity of each row; rows with identity ≤ 0 (unlabelled, distractor, junk) are not trained on. */
  identities: Int32Array
  /** Camera of each row (validation leaves out same-identity same-camera matches); null if unknown. */
  cams: Int32Array | null
  /**
   * Rows known NOT to show a given identity (an analyst's rejections): each batch that holds that
   * identity gets up to K of them as extra negatives, each under a label of its own (so it is a
   * negative for everyone and a query for no one). Ignored by the softmax loss.
   */
  negatives?: readonly { row: number; identity: number }[]
  /**
   * Rows (dim each) the head's principal axes are computed from (default: the training rows):
   * with few labels, give a sample of the whole library so the initial head keeps its geometry.
   */
  initFeatures?: Float32Array
}

export interface StepRecord {
  step: number
  epoch: number
  loss: number
  batchMAP: number
  batchR1: number
  misranked: number
  lr: number
}

export interface ValRecord {
  /** Retrieval among the held-out identities (each image queries the others). */
  mAP: number
  R1: number
  /** Mean over the fixed validation batches. */
  loss: number
  batchMAP: number
  batchR1: number
  misranked: number
}

export interface EpochRecord {
  epoch: number
  /** Steps done at the end of this epoch. */
  step: number
  loss: number
  batchMAP: number
  batchR1: number
  misranked: number
  val: ValRecord | null
  seconds: number
}

export type TrainEvent =
  | {
      type: 'start'
      backend: TfBackendName
      trainIdentities: number
      trainImages: number
      valIdentities: number
      valImages: number
      p: number
      k: number
      resumedFromStep: number
      initialVal: ValRecord | null
    }
  | ({ type: 'step' } & StepRecord)
  | ({ type: 'epoch'; bestEpoch: number } & EpochRecord)
  | { type: 'checkpoint'; step: number; epoch: number; file: string }

export type StopReason = 'early-stop' | 'max-epochs'

export interface TrainResult {
  /** The head with the best validation mAP (the last one when nothing is held out). */
  head: HeadWeights
  backend: TfBackendName
  steps: number
  epochs: number
  bestEpoch: number
  stopReason: StopReason
  /** Training time, summed over resumed parts (excludes feature extraction and the before/after evaluation). */
  trainSeconds: number
  resumedFromStep: number
  initialVal: ValRecord | null
  stepHistory: StepRecord[]
  epochHistory: EpochRecord[]
  trainIdentities: number
  valIdentities: number
}

export interface TrainOptions {
  /** Checkpoint file; when it holds a checkpoint of this run, training resumes from it. */
  checkpoint?: string
  /** What identifies the run's data (e.g. a hash of the file list and the backbone); a checkpoint of other data is refused. */
  dataKey?: string
  onEvent?: (e: TrainEvent) => void
  signal?: AbortSignal
  runtime?: TfRuntime
  /** Replaces the loss (tests inject faults with it). */
  lossOverride?: BatchLoss
  /**
   * A validation of the caller's own, run after every epoch instead of the built-in one (e.g. the
   * analyst's held-out persons against a sample of the library); `embed` applies the current head.
   */
  validate?: (embed: (x: Float32Array, rows: number) => Float32Array) => { mAP: number; R1: number }
  /** Return the last epoch's head, with validation reported but not used to choose (or to stop). */
  keepLast?: boolean
}

interface CheckpointHeader {
  fingerprint: string
  epoch: number
  step: number
  rngState: number
  bestEpoch: number
  bestMAP: number
  sinceBest: number
  trainSeconds: number
  adamT: number
  classes: number
  finished: StopReason | null
  initialVal: ValRecord | null
  stepHistory: StepRecord[]
  epochHistory: EpochRecord[]
}

/** What a run's checkpoint must match: the configuration and the data. */
export function runFingerprint(config: TrainConfig, dataKey: string): string {
  return createHash('sha256').update(JSON.stringify({ config, dataKey })).digest('hex')
}

/**
 * Trains a head. Throws a LineupError 'invalid-input' for unusable data (too few identities,
 * non-finite features), 'cancelled' when the signal aborts (the last checkpoint stays), and
 * 'internal' when the loss or a gradient stops being finite (the last good checkpoint stays).
 */
export async function trainHead(
  data: TrainData,
  config: TrainConfig,
  options: TrainOptions = {},
): Promise<TrainResult> {
  checkTrainConfig(config, data.dim)
  const { features, dim, identities } = data
  const rows = identities.length
  if (features.length !== rows * dim)
    throw new LineupError(
      'invalid-input',
      `features hold ${features.length} values; ${rows} rows of ${dim} expected`,
    )
  for (let i = 0; i < features.length; i++) {
    if (!Number.isFinite(features[i]!))
      throw new LineupError(
        'invalid-input',
        `feature row ${Math.floor(i / dim)} is not finite: re-embed the crops`,
      )
  }

  // Identities: held-out validation ones first (from the seed), then the training classes.
  const counts = new Map<number, number>()
  for (const id of identities) if (id > 0) counts.set(id, (counts.get(id) ?? 0) + 1)
  const labelled = [...counts.keys()]
  const usable = labelled.filter((id) => counts.get(id)! >= 2)
  if (usable.length < 2) {
    throw new LineupError(
      'invalid-input',
      labelled.length < 2
        ? `training needs at least 2 identities with 2 or more images each; the data has ${labelled.length} identit${labelled.length === 1 ? 'y' : 'ies'}`
        : `training needs at least 2 identities with 2 or more images each; only ${usable.length} of the ${labelled.length} identities have more than one image`,
    )
  }
  const rng = new Rng(config.seed)
  const valIds = splitIdentities(usable, counts, config.valShare, rng)
  const trainIds = usable.filter((id) => !valIds.has(id)).sort((a, b) => a - b)
  const classOf = new Map(trainIds.map((id, c) => [id, c]))
  const classes = new Int32Array(rows).fill(-1)
  const valRows: number[] = []
  for (let r = 0; r < rows; r++) {
    const id = identities[r]!
    const c = classOf.get(id)
    if (c !== undefined) classes[r] = c
    else if (valIds.has(id)) valRows.push(r)
  }
  const sampler = new IdentitySampler(classes, { p: config.p, k: config.k })
  const trainRows = sampler.groups.flatMap((g) => [...g])

  // Extra negatives per training class (the analyst's rejections), drawn into batches by the Rng.
  const negativesOf = new Map<number, number[]>()
  for (const n of data.negatives ?? []) {
    const c = classOf.get(n.identity)
    if (c === undefined || n.row < 0 || n.row >= rows) continue
    let list = negativesOf.get(c)
    if (!list) negativesOf.set(c, (list = []))
    list.push(n.row)
  }
  const withNegatives = (b: Batch): Batch => {
    if (negativesOf.size === 0 || config.loss === 'softmax') return b
    const extraRows: number[] = []
    for (const c of new Set(b.labels)) {
      const pool = negativesOf.get(c)
      if (!pool) continue
      const picked = pool.length <= config.k ? pool : rng.shuffle([...pool]).slice(0, config.k)
      extraRows.push(...picked)
    }
    if (extraRows.length === 0) return b
    const n0 = b.rows.length
    const rowsOut = new Int32Array(n0 + extraRows.length)
    const labelsOut = new Int32Array(n0 + extraRows.length)
    rowsOut.set(b.rows)
    labelsOut.set(b.labels)
    extraRows.forEach((r, i) => {
      rowsOut[n0 + i] = r
      labelsOut[n0 + i] = sampler.groups.length + i
    })
    return { rows: rowsOut, labels: labelsOut }
  }

  const lossFn: BatchLoss | null =
    options.lossOverride ?? (config.loss === 'softmax' ? null : getLoss(config.loss))
  const lossOpts = { margin: config.margin, margin2: config.margin2, ap: config.ap }
  const metricMargin = config.loss === 'softmax' ? 0 : config.margin

  // Validation: fixed batches from the held-out identities (their own Rng) and the retrieval set.
  const valBatches: Batch[] = []
  if (valRows.length > 0) {
    const vClasses = new Int32Array(rows).fill(-1)
    const vIds = [...valIds].sort((a, b) => a - b)
    const vClass = new Map(vIds.map((id, c) => [id, c]))
    for (const r of valRows) vClasses[r] = vClass.get(identities[r]!)!
    valBatches.push(...new IdentitySampler(vClasses, config).epoch(new Rng(config.seed ^ 0x5bd1e995)))
  }
  const valX = gatherRows(features, dim, valRows)
  const valPids = Int32Array.from(valRows, (r) => identities[r]!)
  const valCams = Int32Array.from(valRows, (r, i) => (data.cams ? data.cams[r]! : -(i + 1)))

  const fingerprint = runFingerprint(config, options.dataKey ?? dataHash(data))
  const rt = options.runtime ?? (await loadTf())
  const saved = options.checkpoint ? readCheckpoint<CheckpointHeader>(options.checkpoint) : null
  if (saved && saved.header.fingerprint !== fingerprint) {
    throw new LineupError(
      'conflict',
      `${options.checkpoint} holds a checkpoint of another run (different data or settings): delete it, or choose another output folder`,
    )
  }

  let state: HeadTrainState
  let h: CheckpointHeader
  if (saved) {
    const a = saved.arrays
    h = saved.header
    const withClassifier = config.loss === 'softmax'
    const nParams = withClassifier ? 3 : 2
    state = {
      head: { inDim: dim, outDim: config.outDim, W: a.W!, b: a.b! },
      classifier: withClassifier ? a.Wc! : null,
      classes: h.classes,
      adamT: h.adamT,
      adamM: Array.from({ length: nParams }, (_, i) => a[`m${i}`]!),
      adamV: Array.from({ length: nParams }, (_, i) => a[`v${i}`]!),
    }
    rng.restore(h.rngState)
    restoreNaN(h)
  } else {
    // PCA over a broad sample (the library's vectors when the caller gives them): a few dozen
    // labelled rows span too few directions for a 256-d head.
    const init = data.initFeatures ?? gatherRows(features, dim, trainRows)
    const head = initHead(init, init.length / dim, dim, config.outDim)
    state = {
      head,
      classifier: config.loss === 'softmax' ? classMeans(head, features, dim, sampler.groups) : null,
      classes: sampler.groups.length,
      adamT: 0,
      adamM: [],
      adamV: [],
    }
    h = {
      fingerprint,
      epoch: 0,
      step: 0,
      rngState: rng.state,
      bestEpoch: 0,
      bestMAP: -1,
      sinceBest: 0,
      trainSeconds: 0,
      adamT: 0,
      classes: sampler.groups.length,
      finished: null,
      initialVal: null,
      stepHistory: [],
      epochHistory: [],
    }
  }
  const resumedFromStep = h.step
  /** Where the last checkpoint on disk stands (for messages). */
  let savedAt = saved ? { epoch: h.epoch, step: h.step } : null
  let best: HeadWeights = saved
    ? { inDim: dim, outDim: config.outDim, W: saved.arrays.bestW!, b: saved.arrays.bestB! }
    : state.head

  const kernel = new TfHeadKernel(rt, state)
  try {
    const validate = (): ValRecord | null => {
      if (options.validate) {
        const r = options.validate((x, n) => kernel.embed(x, n))
        return {
          mAP: r.mAP,
          R1: r.R1,
          loss: Number.NaN,
          batchMAP: Number.NaN,
          batchR1: Number.NaN,
          misranked: Number.NaN,
        }
      }
      return valRows.length > 0 ? validation() : null
    }
    const validation = (): ValRecord => {
      const f = kernel.embed(valX, valRows.length)
      const D = squaredEuclideanAllPairs(f, config.outDim)
      const r = evaluateProtocol(
        { distmat: D, qPids: valPids, gPids: valPids, qCams: valCams, gCams: valCams },
        { maxRank: 1 },
      )
      const acc = { loss: 0, batchMAP: 0, batchR1: 0, misranked: 0 }
      for (const b of valBatches) {
        const m = batchRecord(b, kernel.embed(gatherRows(features, dim, b.rows), b.rows.length))
        acc.loss += m.loss
        acc.batchMAP += m.batchMAP
        acc.batchR1 += m.batchR1
        acc.misranked += m.misranked
      }
      const nb = Math.max(1, valBatches.length)
      return {
        mAP: Number.isNaN(r.mAP) ? 0 : r.mAP,
        R1: r.cmc[0] ?? 0,
        loss: acc.loss / nb,
        batchMAP: acc.batchMAP / nb,
        batchR1: acc.batchR1 / nb,
        misranked: acc.misranked / nb,
      }
    }
    /** Loss and metrics of a batch from its embeddings (validation: no gradient). */
    const batchRecord = (b: Batch, f: Float32Array) => {
      const D = squaredEuclideanAllPairs(f, config.outDim)
      if (lossFn) {
        const r = lossFn(D, b.labels, lossOpts)
        return { loss: r.loss, batchMAP: r.batchMAP, batchR1: r.batchR1, misranked: r.misranked }
      }
      const m = batchMetrics(D, b.labels, config.ap)
      return { loss: Number.NaN, ...m, misranked: countMisranked(D, b.labels, metricMargin) }
    }

    if (!saved) h.initialVal = validate()
    options.onEvent?.({
      type: 'start',
      backend: rt.backend,
      trainIdentities: sampler.groups.length,
      trainImages: trainRows.length,
      valIdentities: valIds.size,
      valImages: valRows.length,
      p: sampler.p,
      k: sampler.k,
      resumedFromStep,
      initialVal: h.initialVal,
    })

    const save = () => {
      if (!options.checkpoint) return
      const s = kernel.state()
      const arrays: Record<string, Float32Array> = { W: s.head.W, b: s.head.b, bestW: best.W, bestB: best.b }
      if (s.classifier) arrays.Wc = s.classifier
      s.adamM.forEach((m, i) => (arrays[`m${i}`] = m))
      s.adamV.forEach((v, i) => (arrays[`v${i}`] = v))
      writeCheckpoint(options.checkpoint, { header: { ...h, adamT: s.adamT, rngState: rng.state }, arrays })
      savedAt = { epoch: h.epoch, step: h.step }
      options.onEvent?.({ type: 'checkpoint', step: h.step, epoch: h.epoch, file: options.checkpoint })
    }

    const keptCheckpoint = (): string =>
      !options.checkpoint
        ? 'no checkpoint was kept (none was asked for)'
        : savedAt
          ? `the last good checkpoint (epoch ${savedAt.epoch}, step ${savedAt.step}) is kept in ${options.checkpoint}`
          : 'no epoch had finished, so there is no checkpoint yet'

    while (!h.finished) {
      if (h.epoch >= config.epochs) {
        h.finished = 'max-epochs'
        break
      }
      const t0 = performance.now()
      const epoch = h.epoch + 1
      const lr = config.lr * config.lrGamma ** Math.floor((epoch - 1) / config.lrStep)
      const batches = sampler.epoch(rng).map((b) => withNegatives(b))
      const sums = { loss: 0, batchMAP: 0, batchR1: 0, misranked: 0 }
      for (const b of batches) {
        if (options.signal?.aborted) {
          throw new LineupError('cancelled', `training cancelled at step ${h.step}; ${keptCheckpoint()}`)
        }
        let lossResult: LossResult | null = null
        const x = gatherRows(features, dim, b.rows)
        const r = kernel.step({
          x,
          labels: b.labels,
          metricLoss: lossFn
            ? (D, labels) => {
                lossResult = lossFn(D, labels, lossOpts)
                return lossResult
              }
            : null,
          softmax: config.loss === 'softmax',
          lr,
          weightDecay: config.weightDecay,
        })
        if (!r.finite) {
          throw new LineupError(
            'internal',
            `the loss became ${Number.isFinite(r.loss) ? 'finite but a gradient did not' : String(r.loss)} at step ${h.step + 1} (epoch ${epoch}); ` +
              `training stopped and nothing was updated; ${keptCheckpoint()}. Try a lower learning rate.`,
          )
        }
        const lr0 = lossResult as LossResult | null
        const metrics = lr0
          ? { batchMAP: lr0.batchMAP, batchR1: lr0.batchR1, misranked: lr0.misranked }
          : {
              ...batchMetrics(r.D, b.labels, config.ap),
              misranked: countMisranked(r.D, b.labels, metricMargin),
            }
        h.step += 1
        const rec: StepRecord = {
          step: h.step,
          epoch,
          loss: r.loss,
          batchMAP: metrics.batchMAP,
          batchR1: metrics.batchR1,
          misranked: metrics.misranked,
          lr,
        }
        h.stepHistory.push(rec)
        sums.loss += rec.loss
        sums.batchMAP += rec.batchMAP
        sums.batchR1 += rec.batchR1
        sums.misranked += rec.misranked
        options.onEvent?.({ type: 'step', ...rec })
        // Let cancellation and progress reach the host between steps.
        if (options.signal || options.onEvent) await new Promise((res) => setImmediate(res))
      }
      const val = validate()
      const nb = Math.max(1, batches.length)
      h.epoch = epoch
      h.trainSeconds += (performance.now() - t0) / 1000
      const rec: EpochRecord = {
        epoch,
        step: h.step,
        loss: sums.loss / nb,
        batchMAP: sums.batchMAP / nb,
        batchR1: sums.batchR1 / nb,
        misranked: sums.misranked / nb,
        val,
        seconds: h.trainSeconds,
      }
      h.epochHistory.push(rec)
      if (!val || options.keepLast || val.mAP > h.bestMAP + 1e-6) {
        h.bestMAP = val ? val.mAP : h.bestMAP
        h.bestEpoch = epoch
        h.sinceBest = 0
        best = kernel.state().head
      } else {
        h.sinceBest += 1
      }
      options.onEvent?.({ type: 'epoch', bestEpoch: h.bestEpoch, ...rec })
      if (val && !options.keepLast && config.patience > 0 && h.sinceBest >= config.patience)
        h.finished = 'early-stop'
      else if (h.epoch >= config.epochs) h.finished = 'max-epochs'
      save()
    }
    return {
      head: best,
      backend: rt.backend,
      steps: h.step,
      epochs: h.epoch,
      bestEpoch: h.bestEpoch,
      stopReason: h.finished,
      trainSeconds: h.trainSeconds,
      resumedFromStep,
      initialVal: h.initialVal,
      stepHistory: h.stepHistory,
      epochHistory: h.epochHistory,
      trainIdentities: sampler.groups.length,
      valIdentities: valIds.size,
    }
  } finally {
    kernel.dispose()
  }
}

/** Softmax classifier initialised with each class's mean embedding (unit length) as its column. */
function classMeans(
  head: HeadWeights,
  features: Float32Array,
  dim: number,
  groups: Int32Array[],
): Float32Array {
  const d = head.outDim
  const W = new Float32Array(d * groups.length)
  groups.forEach((g, c) => {
    const f = applyHead(head, gatherRows(features, dim, g), g.length)
    const mean = new Float64Array(d)
    for (let r = 0; r < g.length; r++) for (let k = 0; k < d; k++) mean[k]! += f[r * d + k]!
    const norm = Math.hypot(...mean) || 1
    for (let k = 0; k < d; k++) W[k * groups.length + c] = mean[k]! / norm
  })
  return W
}

/** A hash of the training data itself, when the caller names none. */
function dataHash(data: TrainData): string {
  const h = createHash('sha256')
  h.update(`${data.dim}\n`)
  h.update(new Uint8Array(data.features.buffer, data.features.byteOffset, data.features.byteLength))
  h.update(new Uint8Array(data.identities.buffer, data.identities.byteOffset, data.identities.byteLength))
  if (data.cams) h.update(new Uint8Array(data.cams.buffer, data.cams.byteOffset, data.cams.byteLength))
  for (const n of data.negatives ?? []) h.update(`${n.row}:${n.identity};`)
  if (data.initFeatures)
    h.update(
      new Uint8Array(data.initFeatures.buffer, data.initFeatures.byteOffset, data.initFeatures.byteLength),
    )
  return h.digest('hex')
}

/** JSON has no NaN: a checkpoint stores the softmax run's missing validation loss as null. */
function restoreNaN(h: CheckpointHeader): void {
  const fix = (v: ValRecord | null) => {
    if (!v) return
    for (const k of ['mAP', 'R1', 'loss', 'batchMAP', 'batchR1', 'misranked'] as const)
      if ((v[k] as number | null) === null) v[k] = Number.NaN
  }
  fix(h.initialVal)
  for (const e of h.epochHistory) fix(e.val)
  for (const s of h.stepHistory) if ((s.loss as number | null) === null) s.loss = Number.NaN
}
