import { parentPort, workerData } from 'node:worker_threads'
import { toErrorBody } from '../../../src-shared/errors'
import { openLibrary } from '../db/open'
import { importFolder } from '../ingest/import'
import { heartbeat, HEARTBEAT_MS } from './jobs'
import type { FromWorker, ImportWorkerData, ToWorker } from './messages'

// Worker entry: runs one import job off the main thread, on its own connection to the library.
const { dbPath, jobId, params } = (workerData as { data: ImportWorkerData }).data
const port = parentPort!
const send = (m: FromWorker): void => port.postMessage(m)
let cancelled = false
port.on('message', (m: ToWorker) => {
  if (m.type === 'cancel') cancelled = true
})

const db = openLibrary(dbPath)
// Beat while scanning or decoding large files too, so no other process takes this job for dead.
const beat = setInterval(() => heartbeat(db, jobId), HEARTBEAT_MS)
try {
  const result = await importFolder(db, jobId, params, {
    onProgress: (progress) => send({ type: 'progress', progress }),
    isCancelled: () => cancelled,
  })
  send({ type: 'done', result })
} catch (err) {
  const error = toErrorBody(err)
  db.prepare(`UPDATE jobs SET status = 'failed', error = ?, finished_at = ?, pid = NULL WHERE id = ?`).run(
    error.message,
    new Date().toISOString(),
    jobId,
  )
  send({ type: 'failed', error })
} finally {
  clearInterval(beat)
  db.close()
  port.close()
}
