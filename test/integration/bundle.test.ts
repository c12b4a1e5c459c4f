import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { Worker } from 'node:worker_threads'
import { afterAll, describe, expect, it } from 'vitest'
import { openLibrary } from '../../src-main/engine/db/open'
import { createJob } from '../../src-main/engine/jobs/jobs'
import type { FromWorker } from '../../src-main/engine/jobs/messages'
import { repoRoot } from '../helpers/paths'
import { tempDir } from '../helpers/tmp'
import { writeFileSync, mkdirSync } from 'node:fs'
import sharp from 'sharp'

// `npm test` runs `electron-vite build` first; these tests pin what it must produce. The Electron
// binary cannot be fetched here, so the main bundle is checked for shape, and its worker entry,
// which holds the whole import engine, is run for real under Node.
const out = resolve(repoRoot, 'out')
const built = (p: string) => resolve(out, p)
const tmp = tempDir('lineup-bundle-')
afterAll(() => tmp.dispose())

describe('electron-vite build', () => {
  it('produces the main, preload and renderer bundles', () => {
    for (const f of ['main/index.js', 'main/import.worker.js', 'preload/index.cjs', 'renderer/index.html']) {
      expect(existsSync(built(f)), `${f} missing: run npm run build`).toBe(true)
    }
  })

  it('builds the preload as a self-contained CommonJS script (sandboxed preloads cannot import)', () => {
    const code = readFileSync(built('preload/index.cjs'), 'utf8')
    expect(code).toMatch(/require\(["']electron["']\)/)
    expect(code).not.toMatch(/^\s*import\s/m)
    const requires = [...code.matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1])
    expect(new Set(requires)).toEqual(new Set(['electron']))
    expect(code).toContain('exposeInMainWorld')
  })

  it('keeps the main window sandboxed and isolated', () => {
    const code = readFileSync(built('main/index.js'), 'utf8')
    expect(code).toMatch(/contextIsolation:\s*true/)
    expect(code).toMatch(/sandbox:\s*true/)
    expect(code).toMatch(/nodeIntegration:\s*false/)
  })

  it('runs the bundled import worker under plain Node', async () => {
    const folder = resolve(tmp.path, 'crops')
    mkdirSync(resolve(folder, 'cam1'), { recursive: true })
    for (let i = 0; i < 3; i++) {
      const png = await sharp({
        create: { width: 32, height: 64, channels: 3, background: { r: 40 * i, g: 90, b: 200 } },
      })
        .png()
        .toBuffer()
      writeFileSync(resolve(folder, 'cam1', `p${i}.png`), png)
    }
    const dbPath = resolve(tmp.path, 'lib.lineup')
    const db = openLibrary(dbPath)
    const job = createJob(db, 'import', { root: folder })
    const worker = new Worker(built('main/import.worker.js'), {
      workerData: { data: { dbPath, jobId: job.id, params: { root: folder, layout: 'auto' } } },
    })
    const result = await new Promise<FromWorker>((ok, fail) => {
      worker.on('message', (m: FromWorker) => {
        if (m.type !== 'progress') ok(m)
      })
      worker.on('error', fail)
    })
    expect(result.type).toBe('done')
    if (result.type === 'done') {
      expect(result.result).toMatchObject({ imported: 3, cameras: 1 })
    }
    expect(db.prepare('SELECT count(*) FROM crops').pluck().get()).toBe(3)
    db.close()
  })
})
