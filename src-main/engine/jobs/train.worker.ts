import { workerData } from 'node:worker_threads'
import { runAnalystTraining } from '../training/analyst-train'
import type { TrainWorkerData } from './messages'
import { runWorkerJob } from './worker-main'

// Worker entry: one fine-tune off the main thread (TensorFlow.js loads in this thread only).
const { dbPath, jobId, params } = (workerData as { data: TrainWorkerData }).data
await runWorkerJob(dbPath, jobId, (ctx) => runAnalystTraining(ctx.db, dbPath, jobId, params, ctx))
