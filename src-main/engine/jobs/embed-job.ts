import { resolve } from 'node:path'
import type { JobInfo, JobProgress } from '../../../src-shared/domain'
import { LineupError } from '../../../src-shared/errors'
import type { Db } from '../db/open'
import type { EmbedResult } from '../features/embed-library'
import { activeModel, getModel } from '../library/models'
import { createJob, reapInterrupted } from './jobs'
import type { EmbedWorkerData } from './messages'
import { liveJobs, runJobWorker } from './run-worker'

export interface EmbedJob {
  job: JobInfo
  resumed: JobInfo[]
  cancel(): void
  finished: Promise<EmbedResult>
}

/**
 * Starts embedding every not-yet-embedded crop with `modelId` (default: the active model) on a
 * worker thread. One embedding job at a time per library; one left running by a killed process is
 * marked interrupted, and this one finishes its work.
 */
export function startEmbed(
  db: Db,
  dbPath: string,
  modelId: number | undefined,
  onProgress?: (p: JobProgress) => void,
): EmbedJob {
  const model = modelId !== undefined ? getModel(db, modelId) : activeModel(db)
  if (!model) {
    throw new LineupError(
      'invalid-input',
      'no active model: add one (lineup model add <file.onnx>, or lineup model add builtin) first',
    )
  }
  const { interrupted, live } = reapInterrupted(db, 'embed', liveJobs)
  if (live.length > 0) {
    throw new LineupError(
      'conflict',
      `an embedding job is already running on this library (job ${live[0]!.id}); wait for it or cancel it first`,
    )
  }
  const resumed = interrupted.filter((j) => j.params.modelId === model.id)
  const job = createJob(db, 'embed', {
    modelId: model.id,
    modelKey: model.key,
    resumes: resumed.map((j) => j.id),
  })
  const data: EmbedWorkerData = { dbPath: resolve(dbPath), jobId: job.id, modelId: model.id }
  const run = runJobWorker<EmbedResult>(db, 'embed', job.id, 'embed', data, onProgress)
  return { job, resumed, cancel: run.cancel, finished: run.finished }
}
