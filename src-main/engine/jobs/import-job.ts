import { realpathSync, statSync } from 'node:fs'
import { resolve } from 'node:path'
import type { ImportLayout, JobInfo, JobProgress } from '../../../src-shared/domain'
import { LineupError } from '../../../src-shared/errors'
import type { Db } from '../db/open'
import type { ImportParams, ImportResult } from '../ingest/import'
import { readCropsCsv } from '../ingest/layout'
import { createJob, getJob, reapInterrupted } from './jobs'
import type { ImportWorkerData } from './messages'
import { liveJobs, runJobWorker } from './run-worker'

export interface ImportRequest {
  folder: string
  layout: ImportLayout
  maxPixels?: number
}

export interface ImportJob {
  job: JobInfo
  /** Jobs of an earlier process that were left running (killed); this run finishes their work. */
  resumed: JobInfo[]
  cancel(): void
  /** Resolves when the worker ends: with the result, or rejects with a LineupError. */
  finished: Promise<ImportResult>
}

/**
 * Resolves and checks the folder before any job is created; errors say what to do. Returns its
 * real path. Hosts call it first too, so a mistyped folder does not create a library file.
 */
export function checkFolder(folder: string): string {
  const abs = resolve(folder)
  let real: string
  try {
    real = realpathSync(abs)
  } catch {
    throw new LineupError('not-found', `folder not found: ${abs}. Give the path of a folder of crops.`)
  }
  if (!statSync(real).isDirectory())
    throw new LineupError(
      'invalid-input',
      `${abs} is a file, not a folder. Give the folder that holds the crops.`,
    )
  return real
}

/**
 * Starts an import of `request.folder` into the library at `dbPath` on a worker thread.
 * One import runs at a time per library; imports left running by a killed process are marked
 * interrupted and their work is finished by this one (already-imported files count as duplicates).
 */
export function startImport(
  db: Db,
  dbPath: string,
  request: ImportRequest,
  onProgress?: (p: JobProgress) => void,
): ImportJob {
  const root = checkFolder(request.folder)
  readCropsCsv(root) // fail fast on a malformed crops.csv, before a job exists
  const { interrupted, live } = reapInterrupted(db, 'import', liveJobs)
  if (live.length > 0) {
    throw new LineupError(
      'conflict',
      `an import is already running on this library (job ${live[0]!.id}); wait for it or cancel it first`,
    )
  }
  const params: ImportParams = {
    root,
    layout: request.layout,
    ...(request.maxPixels ? { maxPixels: request.maxPixels } : {}),
  }
  const resumed = interrupted.filter((j) => j.params.root === root)
  const job = createJob(db, 'import', { ...params, resumes: resumed.map((j) => j.id) })
  const data: ImportWorkerData = { dbPath: resolve(dbPath), jobId: job.id, params }
  const run = runJobWorker<ImportResult>(db, 'import', job.id, 'import', data, onProgress)
  return { job, resumed, cancel: run.cancel, finished: run.finished }
}

export { getJob }
