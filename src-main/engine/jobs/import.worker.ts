import { workerData } from 'node:worker_threads'
import { importFolder } from '../ingest/import'
import type { ImportWorkerData } from './messages'
import { runWorkerJob } from './worker-main'

// Worker entry: one import job off the main thread.
const { dbPath, jobId, params } = (workerData as { data: ImportWorkerData }).data
await runWorkerJob(dbPath, jobId, (ctx) => importFolder(ctx.db, jobId, params, ctx))
