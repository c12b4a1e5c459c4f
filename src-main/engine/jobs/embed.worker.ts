import { workerData } from 'node:worker_threads'
import { embedLibrary } from '../features/embed-library'
import { extractorForModel } from '../features/model-extractor'
import { embedFromBase } from '../library/heads'
import { getModel } from '../library/models'
import type { EmbedWorkerData } from './messages'
import { runWorkerJob } from './worker-main'

// Worker entry: one embedding job off the main thread.
const { dbPath, jobId, modelId } = (workerData as { data: EmbedWorkerData }).data
await runWorkerJob(dbPath, jobId, async (ctx) => {
  const model = getModel(ctx.db, modelId)
  // A fine-tuned version: first every crop the base model has a vector for, in bulk (one matrix product per chunk).
  if (model.kind === 'head') await embedFromBase(ctx.db, model)
  const extractor = await extractorForModel(model, ctx.db)
  ctx.onClose(() => extractor.close())
  return embedLibrary(ctx.db, jobId, model, extractor, ctx)
})
