/**
 * A fine-tune from the analyst's labels (issue #6), the body of the 'train' job: persons of
 * interest as identities, their rejections as extra negatives, some persons held out for the
 * before/after comparison, then the new model version saved, its vectors computed for the whole
 * library in bulk, and the run recorded (metrics, comparison, audit entry). Resumable: a run killed
 * mid-way leaves a checkpoint beside the library, and the same request resumes it.
 */
import { createHash } from 'node:crypto'
import { mkdirSync, rmSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import type { JobProgress, TrainPoint, TrainSummary } from '../../../src-shared/domain'
import { LineupError } from '../../../src-shared/errors'
import { appendAudit } from '../audit/log'
import type { Db } from '../db/open'
import { squaredEuclidean } from '../ranking/distances'
import { evaluateProtocol } from '../ranking/protocol'
import type { StoredModel } from '../library/models'
import { embedFromBase, finishRun, saveHeadModel, startRun, storeRunMetrics } from '../library/heads'
import { getModel } from '../library/models'
import { progressEvent } from '../jobs/progress'
import { loadTf } from '../ml/tf/backend'
import { defaultTrainConfig, type TrainConfig, type TrainLossName } from './config'
import { centerRows, hashCentering, type CameraCentering } from './centering'
import { compareOnLabels } from './label-comparison'
import {
  cameraNames,
  libraryCentering,
  personsTrainingData,
  sampleRows,
  type PersonsData,
} from './persons-data'
import { Rng } from './rng'
import { withCentering } from './head'
import { runFingerprint, trainHead, type TrainData } from './trainer'

export interface AnalystTrainParams {
  baseModelId: number
  loss: TrainLossName
  epochs: number
  seed: number
  /**
   * Centre each crop on its camera's mean before the head (training/centering.ts), the means
   * measured on this library. On unless asked otherwise.
   */
  cameraCentering?: boolean
}

/** Library vectors the head's initial axes are computed from. */
const LIBRARY_SAMPLE = 20_000

/** Where a library keeps its runs' checkpoints: `<library>.runs/`. */
export function runsDir(dbPath: string): string {
  const abs = resolve(dbPath)
  return join(dirname(abs), `${basename(abs)}.runs`)
}

/** Persons held out of training for the comparison: a quarter (at least 1) when 4 or more can train. */
export function heldOutPersons(data: PersonsData, seed: number): Set<number> {
  const ids = data.persons.map((p) => p.personId).sort((a, b) => a - b)
  if (ids.length < 4) return new Set()
  const n = Math.max(1, Math.round(ids.length / 4))
  return new Set(new Rng(seed ^ 0x2545f491).shuffle(ids).slice(0, n))
}

export function analystConfig(params: AnalystTrainParams, dim: number): TrainConfig {
  // No random validation split inside the trainer: the held-out persons are validated each epoch
  // (heldOutValidation) and compared after; no early stop either, a fixed number of epochs (small
  // label sets make epochs of one or two steps).
  return {
    ...defaultTrainConfig(params.loss, dim),
    epochs: params.epochs,
    seed: params.seed,
    valShare: 0,
    patience: 0,
  }
}

export async function runAnalystTraining(
  db: Db,
  dbPath: string,
  jobId: number,
  params: AnalystTrainParams,
  hooks: { onProgress?(p: JobProgress): void; isCancelled?(): boolean },
): Promise<TrainSummary> {
  const base = getModel(db, params.baseModelId)
  const labelled = personsTrainingData(db, base)
  const sample = sampleRows(db, base, LIBRARY_SAMPLE)
  const centering: CameraCentering | undefined =
    params.cameraCentering === false ? undefined : libraryCentering(db, base)
  /** Base vectors of the given crops as the head sees them (centred when the run centres). */
  const asInput = (x: Float32Array, cropIds: ArrayLike<number>): Float32Array =>
    centering ? centerRows(centering, x, cropIds.length, cameraNames(db, cropIds)) : x
  const data: PersonsData = { ...labelled, features: asInput(labelled.features, labelled.cropIds) }
  const heldOut = heldOutPersons(data, params.seed)
  // Held-out persons' rows stay (unlabelled) but train as no one; their rejections are dropped.
  const identities = Int32Array.from(data.identities, (id) => (heldOut.has(id) ? 0 : id))
  const train: TrainData = {
    features: data.features,
    dim: data.dim,
    identities,
    cams: data.cams,
    negatives: (data.negatives ?? []).filter((n) => !heldOut.has(n.identity)),
    initFeatures: asInput(sample.vectors, sample.cropIds),
  }
  const config = analystConfig(params, base.dim)
  const validate = heldOut.size > 0 ? heldOutValidation(db, base, data, heldOut, asInput) : undefined
  const rt = await loadTf()
  const keyHash = createHash('sha256')
    .update(`${base.key}\n${Array.from(data.cropIds).join(',')}\n${Array.from(identities).join(',')}\n`)
    .update(JSON.stringify(train.negatives))
  if (centering) hashCentering(keyHash, centering)
  const dataKey = keyHash.digest('hex')
  mkdirSync(runsDir(dbPath), { recursive: true })
  // Named by the run's whole fingerprint (settings + labels): a killed run with the same request
  // resumes; any other request starts its own. Removed once the run is stored.
  const checkpoint = join(runsDir(dbPath), `${runFingerprint(config, dataKey).slice(0, 32)}.lck`)
  const runId = startRun(
    db,
    base,
    config,
    { ...config, heldOut: [...heldOut], cameraCentering: centering ? centering.cameras : null },
    rt.backend,
  )
  const abort = new AbortController()
  const started = Date.now()
  /** Steps per epoch, from the last epoch seen (an estimate for the total and the ETA). */
  let stepsPerEpoch = 0
  let lastSent = 0
  const send = (phase: JobProgress['phase'], done: number, total: number, point?: TrainPoint): void =>
    hooks.onProgress?.({
      ...progressEvent(started, {
        jobId,
        kind: 'train',
        phase,
        done,
        total,
        imported: 0,
        duplicates: 0,
        skipped: 0,
      }),
      ...(point ? { train: point } : {}),
    })
  let result
  try {
    result = await trainHead(train, config, {
      runtime: rt,
      checkpoint,
      dataKey,
      signal: abort.signal,
      validate,
      keepLast: true,
      onEvent: (e) => {
        if (hooks.isCancelled?.()) abort.abort()
        if (e.type !== 'step' && e.type !== 'epoch') return
        if (e.type === 'epoch') stepsPerEpoch = e.step / e.epoch
        else {
          // Steps are sampled (one point per 100 ms at most); every epoch's point is sent.
          const now = performance.now()
          if (now - lastSent < 100) return
          lastSent = now
        }
        const perEpoch = stepsPerEpoch || e.step / e.epoch
        send('training', e.step, Math.max(e.step, Math.round(perEpoch * config.epochs)), {
          type: e.type,
          step: e.step,
          epoch: e.epoch,
          loss: e.loss,
          batchMAP: e.batchMAP,
          batchR1: e.batchR1,
          misranked: e.misranked,
          ...(e.type === 'epoch' ? { valMAP: e.val?.mAP ?? null, valR1: e.val?.R1 ?? null } : {}),
        })
      },
    })
  } catch (err) {
    const cancelled = err instanceof LineupError && err.kind === 'cancelled'
    finishRun(db, runId, {
      status: cancelled ? 'cancelled' : 'failed',
      error: (err as Error).message,
      steps: 0,
    })
    throw err
  }
  storeRunMetrics(db, runId, result.stepHistory, result.epochHistory)
  const { model } = saveHeadModel(db, base, withCentering(result.head, centering), {
    name: `${base.name} · fine-tuned (run ${runId}, ${config.loss})`,
    loss: config.loss,
    seed: config.seed,
    runId,
  })
  const embedded = await embedFromBase(db, model, (done, total) => send('embedding', done, total))
  const compared = data.persons.filter((p) => heldOut.size === 0 || heldOut.has(p.personId))
  const comparison = compareOnLabels(db, base, getModel(db, model.id), compared, heldOut.size > 0)
  const summary: TrainSummary = {
    runId,
    modelId: model.id,
    modelName: model.name,
    baseModelId: base.id,
    steps: result.steps,
    trainSeconds: result.trainSeconds,
    backend: result.backend,
    embedded,
    cameraCentering: centering ? centering.cameras : null,
    comparison,
  }
  db.transaction(() => {
    finishRun(db, runId, {
      status: 'finished',
      modelId: model.id,
      steps: result.steps,
      trainSeconds: result.trainSeconds,
      summary: {
        before: comparison.before,
        after: comparison.after,
        trainIdentities: result.trainIdentities,
        valIdentities: heldOut.size,
        bestEpoch: result.bestEpoch,
        stopReason: result.stopReason,
      },
    })
    db.prepare(
      `UPDATE jobs SET status = 'done', done = ?, total = ?, finished_at = ?, summary = ?, pid = NULL WHERE id = ?`,
    ).run(result.steps, result.steps, new Date().toISOString(), JSON.stringify(summary), jobId)
    appendAudit(db, 'analyst', 'fine-tune', {
      jobId,
      runId,
      base: base.key,
      model: model.key,
      loss: config.loss,
      seed: config.seed,
      persons: data.persons.length,
      heldOut: [...heldOut],
      before: comparison.before,
      after: comparison.after,
    })
  })()
  rmSync(checkpoint, { force: true })
  return summary
}

/** Library crops the per-epoch validation ranks the held-out persons' queries against. */
const VALIDATION_SAMPLE = 2000

/**
 * The per-epoch validation of a fine-tune on marks (paper Fig. 5): each held-out person's query
 * ranks a gallery of a library sample plus every labelled crop (the held-out persons' confirmed
 * crops are its positives; everything else counts as a negative, as in the final comparison);
 * mAP and R1 through the current head (`data.features` are already the head's input; `asInput`
 * makes the sample's so). Reported only: the run keeps its last epoch.
 */
function heldOutValidation(
  db: Db,
  base: StoredModel,
  data: PersonsData,
  heldOut: ReadonlySet<number>,
  asInput: (x: Float32Array, cropIds: ArrayLike<number>) => Float32Array,
): (embed: (x: Float32Array, rows: number) => Float32Array) => { mAP: number; R1: number } {
  const d = base.dim
  const drawn = sampleRows(db, base, VALIDATION_SAMPLE)
  const sample = { cropIds: drawn.cropIds, vectors: asInput(drawn.vectors, drawn.cropIds) }
  const rowOf = new Map<number, number>()
  const vectors: Float32Array[] = []
  const add = (cropId: number, v: Float32Array) => {
    if (rowOf.has(cropId)) return
    rowOf.set(cropId, vectors.length)
    vectors.push(v)
  }
  data.cropIds.forEach((c, i) => add(c, data.features.subarray(i * d, (i + 1) * d)))
  sample.cropIds.forEach((c, i) => add(c, sample.vectors.subarray(i * d, (i + 1) * d)))
  const gallery = new Float32Array(vectors.length * d)
  vectors.forEach((v, i) => gallery.set(v, i * d))
  const persons = data.persons.filter((p) => heldOut.has(p.personId) && rowOf.has(p.queryCropId))
  const queries = new Float32Array(persons.length * d)
  persons.forEach((p, k) => queries.set(vectors[rowOf.get(p.queryCropId)!]!, k * d))
  // Identities: each held-out person's confirmed crops; the rest are negatives (0). Cameras are
  // unique per row, except that each query crop shares its query's: so only it is left out.
  const gPids = new Int32Array(vectors.length)
  const gCams = Int32Array.from({ length: vectors.length }, (_, i) => -(i + 1))
  const qPids = Int32Array.from(persons, (p) => p.personId)
  const qCams = Int32Array.from(persons, (_, k) => 1_000_000 + k)
  persons.forEach((p, k) => {
    for (const c of p.confirmed) {
      const row = rowOf.get(c)
      if (row !== undefined) gPids[row] = p.personId
    }
    gCams[rowOf.get(p.queryCropId)!] = 1_000_000 + k
  })
  if (persons.length === 0) return () => ({ mAP: 0, R1: 0 })
  return (embed) => {
    const g = embed(gallery, vectors.length)
    const q = embed(queries, persons.length)
    const r = evaluateProtocol(
      { distmat: squaredEuclidean(q, g, g.length / vectors.length), qPids, gPids, qCams, gCams },
      { maxRank: 1 },
    )
    return { mAP: Number.isNaN(r.mAP) ? 0 : r.mAP, R1: r.cmc[0] ?? 0 }
  }
}
