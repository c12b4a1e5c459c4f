import { workerData } from 'node:worker_threads'
import { embedLibrary } from '../features/embed-library'
import { extractorForModel } from '../features/model-extractor'
import { getModel } from '../library/models'
import type { EmbedWorkerData } from './messages'
import { runWorkerJob } from './worker-main'

// Worker entry: one embedding job off the main thread.
const { dbPath, jobId, modelId } = (workerData as { data: EmbedWorkerData }).data
await runWorkerJob(dbPath, jobId, async (ctx) => {
  const model = getModel(ctx.db, modelId)
  const extractor = await extractorForModel(model)
  ctx.onClose(() => extractor.close())
  return embedLibrary(ctx.db, jobId, model, extractor, ctx)
})
