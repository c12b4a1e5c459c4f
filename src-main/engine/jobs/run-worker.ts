import type { JobKind, JobProgress } from '../../../src-shared/domain'
import { LineupError } from '../../../src-shared/errors'
import type { Db } from '../db/open'
import { failJob } from './jobs'
import type { FromWorker, ToWorker } from './messages'
import { spawnWorker, type WorkerName } from './spawn'

/** Jobs this process runs right now (reapInterrupted treats the others of this pid as dead). */
export const liveJobs = new Set<number>()

export interface WorkerRun<R> {
  cancel(): void
  /** Resolves with the worker's result, or rejects with a LineupError. */
  finished: Promise<R>
}

/**
 * Runs job `jobId` (already `running`) on worker `name` and follows it: progress to `onProgress`,
 * the result or error when the worker has exited, a crash or an unexpected exit recorded as the
 * job's failure. The outcome is settled on 'exit', once the worker has closed its connection: the
 * host's connection is then the last one, so closing it checkpoints the WAL into the library file
 * (settling on the message raced the two closes, and a copy of the .lineup alone missed the last
 * batch and the audit entry).
 */
export function runJobWorker<R>(
  db: Db,
  kind: JobKind,
  jobId: number,
  name: WorkerName,
  data: unknown,
  onProgress?: (p: JobProgress) => void,
): WorkerRun<R> {
  liveJobs.add(jobId)
  const worker = spawnWorker(name, data)
  let settled = false
  const finished = new Promise<R>((resolvePromise, reject) => {
    const end = (fn: () => void): void => {
      if (settled) return
      settled = true
      liveJobs.delete(jobId)
      fn()
    }
    let outcome: (() => void) | null = null
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'progress') onProgress?.(m.progress)
      else if (m.type === 'done') outcome = () => resolvePromise(m.result as R)
      else outcome = () => reject(new LineupError(m.error.kind, m.error.message))
    })
    worker.on('error', (err) => {
      if (outcome) return // it had already reported; 'exit' settles with that
      const message = `${kind} worker crashed: ${err.message}`
      failJob(db, jobId, message)
      end(() => reject(new LineupError('internal', message)))
    })
    worker.on('exit', (code) => {
      if (outcome) {
        end(outcome)
      } else if (!settled) {
        const message = `${kind} worker stopped unexpectedly (exit code ${code})`
        failJob(db, jobId, message)
        end(() => reject(new LineupError('internal', message)))
      }
    })
  })
  return { cancel: () => worker.postMessage({ type: 'cancel' } satisfies ToWorker), finished }
}
