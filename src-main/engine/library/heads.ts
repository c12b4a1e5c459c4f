/**
 * Fine-tuned model versions in the library (schema 3): a head on a base model, its weights, the
 * training run that made it, and its vectors computed from the base model's in bulk.
 */
import type { HeadModelConfig, TrainPoint, TrainRunInfo } from '../../../src-shared/domain'
import { LineupError } from '../../../src-shared/errors'
import { appendAudit } from '../audit/log'
import type { Db } from '../db/open'
import { OnnxHeadApplier } from '../ml/onnx/head-applier'
import { centeringFromStored, centeringMeansBytes } from '../training/centering'
import { headHash, type HeadWeights } from '../training/head'
import type { EpochRecord, StepRecord } from '../training/trainer'
import { getModel, insertModel, type StoredModel } from './models'
import { storedVector } from './vectors'

/** Stores a head as a model version on `base` (or returns the existing one with the same weights). */
export function saveHeadModel(
  db: Db,
  base: StoredModel,
  head: HeadWeights,
  meta: { name: string; loss: string; seed: number; runId: number | null },
): { model: StoredModel; created: boolean } {
  if (head.inDim !== base.dim)
    throw new LineupError(
      'invalid-input',
      `the head takes ${head.inDim}-d features but ${base.name} gives ${base.dim}-d`,
    )
  if (head.centering && head.centering.dim !== head.inDim)
    throw new LineupError(
      'invalid-input',
      `the head's camera centering is ${head.centering.dim}-d but the head takes ${head.inDim}-d features`,
    )
  const sha = headHash(head)
  const config: HeadModelConfig = {
    baseKey: base.key,
    loss: meta.loss,
    seed: meta.seed,
    runId: meta.runId,
    inDim: head.inDim,
  }
  return db.transaction(() => {
    const r = insertModel(db, {
      key: `head:${sha}`,
      kind: 'head',
      name: meta.name,
      dim: head.outDim,
      config,
      file: null,
      bytes: null,
      baseModelId: base.id,
    })
    if (r.created) {
      db.prepare(
        'INSERT INTO heads (model_id, in_dim, out_dim, weights, sha256, center_cameras, center_means) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ).run(
        r.model.id,
        head.inDim,
        head.outDim,
        headBytes(head),
        sha,
        head.centering ? JSON.stringify(head.centering.cameras) : null,
        head.centering ? centeringMeansBytes(head.centering) : null,
      )
      appendAudit(db, 'analyst', 'model.fine-tuned', {
        model: r.model.key,
        modelName: r.model.name,
        base: base.key,
        loss: meta.loss,
        seed: meta.seed,
        runId: meta.runId,
      })
    }
    return r
  })()
}

/** The weights of a head model; checked against the SHA-256 in its key. */
export function loadHead(db: Db, model: StoredModel): HeadWeights {
  const row = db
    .prepare(
      'SELECT in_dim, out_dim, weights, sha256, center_cameras, center_means FROM heads WHERE model_id = ?',
    )
    .get(model.id) as
    | {
        in_dim: number
        out_dim: number
        weights: Buffer
        sha256: string
        center_cameras: string | null
        center_means: Buffer | null
      }
    | undefined
  if (!row)
    throw new LineupError(
      'database',
      `model ${model.name} is a fine-tuned version but its weights are missing`,
    )
  const head = headFromBytes(row.in_dim, row.out_dim, row.weights)
  if (row.center_cameras !== null || row.center_means !== null)
    head.centering = centeringFromStored(
      row.in_dim,
      row.center_cameras ?? '',
      row.center_means ?? Buffer.alloc(0),
    )
  if (`head:${headHash(head)}` !== model.key || row.sha256 !== model.key.slice(5))
    throw new LineupError('database', `the stored weights of ${model.name} no longer match their SHA-256`)
  return head
}

/** W then b, float32 little-endian. */
export function headBytes(h: HeadWeights): Buffer {
  const out = Buffer.alloc(4 * (h.W.length + h.b.length))
  Buffer.from(h.W.buffer, h.W.byteOffset, h.W.byteLength).copy(out, 0)
  Buffer.from(h.b.buffer, h.b.byteOffset, h.b.byteLength).copy(out, h.W.byteLength)
  return out
}

export function headFromBytes(inDim: number, outDim: number, bytes: Uint8Array): HeadWeights {
  if (bytes.byteLength !== 4 * (inDim + 1) * outDim)
    throw new LineupError(
      'invalid-input',
      `head weights hold ${bytes.byteLength} bytes; ${inDim}×${outDim} needs ${4 * (inDim + 1) * outDim}`,
    )
  const all = new Float32Array(bytes.byteLength / 4)
  new Uint8Array(all.buffer).set(bytes)
  return { inDim, outDim, W: all.subarray(0, inDim * outDim), b: all.subarray(inDim * outDim) }
}

/** Rows of base-model vectors read and written per transaction. */
const CHUNK = 4096

/**
 * Gives a head model a vector for every crop its base model has one for: the base vectors passed
 * through the head (centred on each crop's camera mean when the head has camera centering), a chunk of rows at a time (one onnxruntime matrix product each,
 * ml/onnx/head-applier.ts), each chunk one transaction. Resumable (only crops without a vector
 * are read). Returns how many were added.
 */
export async function embedFromBase(
  db: Db,
  model: StoredModel,
  onProgress?: (done: number, total: number) => void,
): Promise<number> {
  if (model.kind !== 'head' || model.baseModelId === null)
    throw new LineupError('invalid-input', `model ${model.name} is not a fine-tuned version`)
  const head = loadHead(db, model)
  const base = getModel(db, model.baseModelId)
  const select = db.prepare(
    `SELECT b.crop_id, b.vector, cameras.name AS camera FROM embeddings b
     JOIN crops ON crops.id = b.crop_id LEFT JOIN cameras ON cameras.id = crops.camera_id
     WHERE b.model_id = ? AND b.crop_id > ?
       AND NOT EXISTS (SELECT 1 FROM embeddings h WHERE h.model_id = ? AND h.crop_id = b.crop_id)
     ORDER BY b.crop_id LIMIT ?`,
  )
  const total = db
    .prepare(
      `SELECT count(*) FROM embeddings b WHERE b.model_id = ?
         AND NOT EXISTS (SELECT 1 FROM embeddings h WHERE h.model_id = ? AND h.crop_id = b.crop_id)`,
    )
    .pluck()
    .get(base.id, model.id) as number
  const put = db.prepare(
    'INSERT INTO embeddings (model_id, crop_id, vector) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
  )
  let done = 0
  let after = 0
  if (total === 0) return 0
  const applier = await OnnxHeadApplier.open(head)
  try {
    for (;;) {
      const rows = select.all(base.id, after, model.id, CHUNK) as {
        crop_id: number
        vector: Buffer
        camera: string | null
      }[]
      if (rows.length === 0) break
      const x = new Float32Array(rows.length * base.dim)
      rows.forEach((r, i) => x.set(storedVector(base, r.crop_id, r.vector), i * base.dim))
      const y = await applier.apply(
        x,
        rows.length,
        rows.map((r) => r.camera),
      )
      db.transaction(() => {
        rows.forEach((r, i) => {
          const v = y.subarray(i * head.outDim, (i + 1) * head.outDim)
          put.run(model.id, r.crop_id, Buffer.from(v.buffer, v.byteOffset, v.byteLength))
        })
      })()
      done += rows.length
      after = rows[rows.length - 1]!.crop_id
      onProgress?.(done, total)
    }
  } finally {
    await applier.close()
  }
  return done
}

export interface RunSummary {
  before: { R1: number; mAP: number } | null
  after: { R1: number; mAP: number } | null
  trainIdentities: number
  valIdentities: number
  bestEpoch: number
  stopReason: string
}

/** Records the start of a training run; returns its id. */
export function startRun(
  db: Db,
  base: StoredModel,
  config: { loss: string; seed: number },
  fullConfig: unknown,
  backend: string,
): number {
  return Number(
    db
      .prepare(
        `INSERT INTO training_runs (base_model_id, status, loss, seed, config, backend, started_at) VALUES (?, 'running', ?, ?, ?, ?, ?)`,
      )
      .run(base.id, config.loss, config.seed, JSON.stringify(fullConfig), backend, new Date().toISOString())
      .lastInsertRowid,
  )
}

const nn = (x: number | undefined | null): number | null =>
  x === undefined || x === null || Number.isNaN(x) ? null : x

/** Stores a run's online metrics (replacing any stored before, so a resumed run writes its whole history once). */
export function storeRunMetrics(
  db: Db,
  runId: number,
  steps: readonly StepRecord[],
  epochs: readonly EpochRecord[],
): void {
  const putStep = db.prepare(
    `INSERT OR REPLACE INTO training_steps (run_id, step, epoch, loss, batch_map, batch_r1, misranked, lr) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  )
  const putEpoch = db.prepare(
    `INSERT OR REPLACE INTO training_epochs (run_id, epoch, step, loss, batch_map, batch_r1, misranked, val_map, val_r1, val_loss, val_batch_map, val_batch_r1, val_misranked, seconds)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  )
  db.transaction(() => {
    for (const s of steps)
      putStep.run(runId, s.step, s.epoch, nn(s.loss), nn(s.batchMAP), nn(s.batchR1), nn(s.misranked), s.lr)
    for (const e of epochs) {
      putEpoch.run(
        runId,
        e.epoch,
        e.step,
        nn(e.loss),
        nn(e.batchMAP),
        nn(e.batchR1),
        nn(e.misranked),
        nn(e.val?.mAP),
        nn(e.val?.R1),
        nn(e.val?.loss),
        nn(e.val?.batchMAP),
        nn(e.val?.batchR1),
        nn(e.val?.misranked),
        e.seconds,
      )
    }
  })()
}

export function finishRun(
  db: Db,
  runId: number,
  outcome:
    | { status: 'finished'; modelId: number; steps: number; trainSeconds: number; summary: RunSummary }
    | { status: 'failed' | 'cancelled'; error: string; steps: number },
): void {
  if (outcome.status === 'finished') {
    db.prepare(
      `UPDATE training_runs SET status = 'finished', result_model_id = ?, steps = ?, train_seconds = ?, summary = ?, finished_at = ? WHERE id = ?`,
    ).run(
      outcome.modelId,
      outcome.steps,
      outcome.trainSeconds,
      JSON.stringify(outcome.summary),
      new Date().toISOString(),
      runId,
    )
  } else {
    db.prepare(`UPDATE training_runs SET status = ?, error = ?, steps = ?, finished_at = ? WHERE id = ?`).run(
      outcome.status,
      outcome.error,
      outcome.steps,
      new Date().toISOString(),
      runId,
    )
  }
}

interface RunRow {
  id: number
  base_model_id: number
  result_model_id: number | null
  status: TrainRunInfo['status']
  loss: string
  seed: number
  backend: string | null
  started_at: string
  finished_at: string | null
  steps: number
  train_seconds: number | null
  error: string | null
}

const toRun = (r: RunRow): TrainRunInfo => ({
  id: r.id,
  baseModelId: r.base_model_id,
  resultModelId: r.result_model_id,
  status: r.status,
  loss: r.loss,
  seed: r.seed,
  backend: r.backend,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  steps: r.steps,
  trainSeconds: r.train_seconds,
  error: r.error,
})

/** The library's fine-tunes, newest first. */
export function listRuns(db: Db): TrainRunInfo[] {
  return (db.prepare('SELECT * FROM training_runs ORDER BY id DESC').all() as RunRow[]).map(toRun)
}

/** A run with its stored metrics as chart points: every step, then each epoch's means and validation. */
export function runHistory(db: Db, runId: number): { run: TrainRunInfo; points: TrainPoint[] } {
  const r = db.prepare('SELECT * FROM training_runs WHERE id = ?').get(runId) as RunRow | undefined
  if (!r) throw new LineupError('not-found', `fine-tune run ${runId} is not in this library`)
  // Each epoch's point follows its last step, as it does live.
  const rows = db
    .prepare(
      `SELECT 'step' AS type, step, epoch, loss, batch_map, batch_r1, misranked, NULL AS val_map, NULL AS val_r1, 0 AS ord
         FROM training_steps WHERE run_id = @run
       UNION ALL
       SELECT 'epoch', step, epoch, loss, batch_map, batch_r1, misranked, val_map, val_r1, 1
         FROM training_epochs WHERE run_id = @run
       ORDER BY step, ord`,
    )
    .all({ run: runId }) as {
    type: TrainPoint['type']
    step: number
    epoch: number
    loss: number | null
    batch_map: number | null
    batch_r1: number | null
    misranked: number | null
    val_map: number | null
    val_r1: number | null
  }[]
  const points = rows.map((x): TrainPoint => ({
    type: x.type,
    step: x.step,
    epoch: x.epoch,
    loss: x.loss,
    batchMAP: x.batch_map ?? 0,
    batchR1: x.batch_r1 ?? 0,
    misranked: x.misranked ?? 0,
    ...(x.type === 'epoch' ? { valMAP: x.val_map, valR1: x.val_r1 } : {}),
  }))
  return { run: toRun(r), points }
}
