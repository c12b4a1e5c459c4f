import { parentPort } from 'node:worker_threads'
import type { JobProgress } from '../../../src-shared/domain'
import { toErrorBody } from '../../../src-shared/errors'
import { openLibrary, type Db } from '../db/open'
import { failJob, heartbeat, HEARTBEAT_MS } from './jobs'
import type { FromWorker, ToWorker } from './messages'

/** What a job's body gets from the worker harness. */
export interface JobContext {
  db: Db
  onProgress(p: JobProgress): void
  isCancelled(): boolean
  /** Runs at the end, whatever happened (e.g. closing a model session). */
  onClose(fn: () => Promise<void> | void): void
}

/**
 * The body of every job worker entry (`<name>.worker.ts`): its own connection to the library, a
 * heartbeat while it runs (so no other process takes the job for dead, even during a long scan),
 * cancel messages, progress and the result or error sent to the host, the job marked failed on an
 * error, and everything closed at the end.
 */
export async function runWorkerJob(
  dbPath: string,
  jobId: number,
  body: (ctx: JobContext) => Promise<unknown>,
): Promise<void> {
  const port = parentPort!
  const send = (m: FromWorker): void => port.postMessage(m)
  let cancelled = false
  port.on('message', (m: ToWorker) => {
    if (m.type === 'cancel') cancelled = true
  })
  const closers: (() => Promise<void> | void)[] = []
  const db = openLibrary(dbPath)
  const beat = setInterval(() => heartbeat(db, jobId), HEARTBEAT_MS)
  try {
    const result = await body({
      db,
      onProgress: (progress) => send({ type: 'progress', progress }),
      isCancelled: () => cancelled,
      onClose: (fn) => closers.push(fn),
    })
    send({ type: 'done', result })
  } catch (err) {
    const error = toErrorBody(err)
    // A job body that stops on the analyst's cancel (the fine-tune) ends 'cancelled', not 'failed'.
    failJob(db, jobId, error.message, error.kind === 'cancelled' ? 'cancelled' : 'failed')
    send({ type: 'failed', error })
  } finally {
    clearInterval(beat)
    for (const close of closers) await Promise.resolve(close()).catch(() => undefined)
    db.close()
    port.close()
  }
}
