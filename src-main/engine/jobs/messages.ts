import type { ErrorBody } from '../../../src-shared/errors'
import type { JobProgress } from '../../../src-shared/domain'
import type { ImportParams } from '../ingest/import'
import type { AnalystTrainParams } from '../training/analyst-train'

/** What the host sends a job worker. */
export type ToWorker = { type: 'cancel' }

/** What a job worker sends back. */
export type FromWorker =
  | { type: 'progress'; progress: JobProgress }
  | { type: 'done'; result: unknown }
  | { type: 'failed'; error: ErrorBody }

export interface ImportWorkerData {
  dbPath: string
  jobId: number
  params: ImportParams
}

export interface EmbedWorkerData {
  dbPath: string
  jobId: number
  modelId: number
}

export interface TrainWorkerData {
  dbPath: string
  jobId: number
  params: AnalystTrainParams
}
