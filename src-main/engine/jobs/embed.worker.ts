import { parentPort, workerData } from 'node:worker_threads'
import { toErrorBody } from '../../../src-shared/errors'
import { openLibrary } from '../db/open'
import { embedLibrary } from '../features/embed-library'
import { extractorForModel } from '../features/model-extractor'
import { getModel } from '../library/models'
import { heartbeat, HEARTBEAT_MS } from './jobs'
import type { EmbedWorkerData, FromWorker, ToWorker } from './messages'

// Worker entry: runs one embedding job off the main thread, on its own connection to the library.
const { dbPath, jobId, modelId } = (workerData as { data: EmbedWorkerData }).data
const port = parentPort!
const send = (m: FromWorker): void => port.postMessage(m)
let cancelled = false
port.on('message', (m: ToWorker) => {
  if (m.type === 'cancel') cancelled = true
})

const db = openLibrary(dbPath)
const beat = setInterval(() => heartbeat(db, jobId), HEARTBEAT_MS)
let close: (() => Promise<void>) | null = null
try {
  const model = getModel(db, modelId)
  const extractor = await extractorForModel(model)
  close = () => extractor.close()
  const result = await embedLibrary(db, jobId, model, extractor, {
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
  await close?.().catch(() => undefined)
  db.close()
  port.close()
}
