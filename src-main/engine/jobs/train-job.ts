import { resolve } from 'node:path'
import type { JobInfo, JobProgress, TrainSummary } from '../../../src-shared/domain'
import { LineupError } from '../../../src-shared/errors'
import type { Db } from '../db/open'
import { activeModel, getModel } from '../library/models'
import type { TrainLossName } from '../training/config'
import { personsTrainingData } from '../training/persons-data'
import { createJob, reapInterrupted } from './jobs'
import type { TrainWorkerData } from './messages'
import { liveJobs, runJobWorker } from './run-worker'

export interface TrainRequest {
  modelId?: number
  loss: TrainLossName
  epochs: number
  seed: number
  /** Camera centering (training/centering.ts); on unless false. */
  cameraCentering?: boolean
}

export interface TrainJob {
  job: JobInfo
  cancel(): void
  finished: Promise<TrainSummary>
}

/**
 * Starts a fine-tune on the library's persons of interest on a worker thread. Refused before any
 * job exists when there is too little to learn from (fewer than 2 persons with 2 confirmed crops),
 * or when the base model is a fine-tuned version (heads train on a backbone's vectors).
 */
export function startTrain(
  db: Db,
  dbPath: string,
  request: TrainRequest,
  onProgress?: (p: JobProgress) => void,
): TrainJob {
  let base = request.modelId !== undefined ? getModel(db, request.modelId) : activeModel(db)
  if (!base)
    throw new LineupError('invalid-input', 'no active model: add a model and embed the library first')
  // Fine-tuning a fine-tuned version trains a new head on its base model's vectors.
  if (base.kind === 'head' && base.baseModelId !== null) base = getModel(db, base.baseModelId)
  personsTrainingData(db, base) // refuses with the reason when the labels are too few
  const { live } = reapInterrupted(db, 'train', liveJobs)
  if (live.length > 0) {
    throw new LineupError(
      'conflict',
      `a fine-tune is already running on this library (job ${live[0]!.id}); wait for it or cancel it first`,
    )
  }
  // Runs of fine-tunes that were killed stay 'running' in training_runs: close them (their
  // checkpoint is what this one resumes from when the labels are the same).
  db.prepare(
    `UPDATE training_runs SET status = 'failed', error = 'interrupted: the app was closed or killed during the fine-tune', finished_at = ? WHERE status = 'running'`,
  ).run(new Date().toISOString())
  const params = {
    baseModelId: base.id,
    loss: request.loss,
    epochs: request.epochs,
    seed: request.seed,
    cameraCentering: request.cameraCentering !== false,
  }
  const job = createJob(db, 'train', { ...params, baseKey: base.key })
  const data: TrainWorkerData = { dbPath: resolve(dbPath), jobId: job.id, params }
  const run = runJobWorker<TrainSummary>(db, 'train', job.id, 'train', data, onProgress)
  return { job, cancel: run.cancel, finished: run.finished }
}
