import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { JobProgress } from '../../src-shared/domain'
import { jsonLines, runCli, spawnCli } from '../helpers/cli'
import { integrity, rawDb } from '../helpers/db'
import { explainSkip, hasShared, marketDir, sharedDir } from '../helpers/paths'
import { tempDir } from '../helpers/tmp'

explainSkip('an embedding job killed with SIGKILL, then resumed (embed-kill.test.ts)')

const QUERY = join(marketDir, 'query')
const CROPS = 1676
const OSNET = join(sharedDir, 'models/osnet_x0_25_msmt17/osnet_x0_25_msmt17.onnx')

/** Runs `lineup embed --json` and SIGKILLs it once a progress line shows ≥ `fraction` committed. */
function embedThenKill(db: string, fraction: number): Promise<JobProgress> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(['embed', '--db', db, '--json'])
    let partial = ''
    let stderr = ''
    let at: JobProgress | null = null
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s))
    child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      const lines = (partial + s).split('\n')
      partial = lines.pop()!
      for (const line of lines) {
        const p = (JSON.parse(line) as { progress?: JobProgress }).progress
        if (!at && p && p.phase === 'embedding' && p.imported >= fraction * p.total) {
          at = p
          child.kill('SIGKILL')
        }
      }
    })
    child.on('close', (code) =>
      at ? resolve(at) : reject(new Error(`embed ended before the kill (exit ${code}): ${stderr}`)),
    )
  })
}

describe.skipIf(!hasShared)('an embedding job killed with SIGKILL, then run again', () => {
  const tmp = tempDir('lineup-embed-kill-')
  afterAll(() => tmp.dispose())

  it('finishes with every crop embedded exactly once and the library intact', async () => {
    const db = join(tmp.path, 'case.lineup')
    expect((await runCli(['import', QUERY, '--db', db, '--json'])).code).toBe(0)
    expect((await runCli(['model', 'add', OSNET, '--db', db, '--json'])).code).toBe(0)

    const at = await embedThenKill(db, 0.3)
    expect(at.imported).toBeGreaterThan(0)
    const count = () => rawDb(db, true).prepare('SELECT count(*) FROM embeddings').pluck().get() as number
    const afterKill = count()
    expect(afterKill).toBeGreaterThanOrEqual(at.imported) // what it reported was committed
    expect(afterKill).toBeLessThan(CROPS)
    expect(integrity(db)).toBe('ok')

    const again = await runCli(['embed', '--db', db, '--json'])
    expect(again.code).toBe(0)
    const summary = jsonLines(again.stdout).at(-1) as { embedded: number; total: number; skipped: unknown[] }
    expect(summary).toMatchObject({ embedded: CROPS - afterKill, total: CROPS, skipped: [] })
    expect(count()).toBe(CROPS)
    const raw = rawDb(db, true)
    // One vector per crop: no duplicates, none missing, each of the model's dimension.
    expect(raw.prepare('SELECT count(DISTINCT crop_id) FROM embeddings').pluck().get()).toBe(CROPS)
    expect(raw.prepare('SELECT count(*) FROM embeddings WHERE length(vector) != 512 * 4').pluck().get()).toBe(
      0,
    )
    expect(raw.prepare(`SELECT status FROM jobs WHERE kind = 'embed' ORDER BY id`).pluck().all()).toEqual([
      'interrupted',
      'done',
    ])
    expect(integrity(db)).toBe('ok')
  })
})
