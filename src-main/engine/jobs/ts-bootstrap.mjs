// Source mode only (CLI through tsx, vitest): register tsx in this worker, then load the .ts entry.
import { workerData } from 'node:worker_threads'
import { pathToFileURL } from 'node:url'
import { register } from 'tsx/esm/api'

register()
await import(pathToFileURL(workerData.entry).href)
