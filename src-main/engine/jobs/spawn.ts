import { existsSync } from 'node:fs'
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
/** The engine's worker entries (`<name>.worker.ts`; each is also an entry of the main bundle). */
export type WorkerName = 'import' | 'embed' | 'train'

export function spawnWorker(name: WorkerName, workerData: unknown): Worker {
  const here = fileURLToPath(import.meta.url)
  const dir = dirname(here)
  if (here.endsWith('.ts')) {
    return new Worker(join(dir, 'ts-bootstrap.mjs'), {
      workerData: { entry: join(dir, `${name}.worker.ts`), data: workerData },
    })
  }
  // Bundled: this code may sit in a shared chunk (out/main/chunks/) one level below the entries.
  const file = [dir, dirname(dir)].map((d) => join(d, `${name}.worker.js`)).find((f) => existsSync(f))
  if (!file)
    throw new Error(`worker entry ${name}.worker.js not found near ${dir}; rebuild with npm run build`)
  return new Worker(file, { workerData: { data: workerData } })
}
