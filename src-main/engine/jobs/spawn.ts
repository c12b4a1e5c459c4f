import { Worker } from 'node:worker_threads'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Starts a worker thread for one of the engine's worker entries (`<name>.worker.ts`).
 *
 * Two ways the engine runs: from TypeScript source (the `lineup` CLI through tsx, and vitest), where
 * the worker needs tsx registered before it can load a `.ts` file; and bundled by electron-vite,
 * where each worker entry is its own file beside the main bundle (see electron.vite.config.ts).
 */
export function spawnWorker(name: 'import', workerData: unknown): Worker {
  const here = fileURLToPath(import.meta.url)
  const dir = dirname(here)
  if (here.endsWith('.ts')) {
    return new Worker(join(dir, 'ts-bootstrap.mjs'), {
      workerData: { entry: join(dir, `${name}.worker.ts`), data: workerData },
    })
  }
  return new Worker(join(dir, `${name}.worker.js`), { workerData: { data: workerData } })
}
