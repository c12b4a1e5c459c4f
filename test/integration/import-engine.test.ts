import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readAudit } from '../../src-main/engine/audit/log'
import { openLibrary } from '../../src-main/engine/db/open'
import { importFolder, type ImportHooks, type ImportParams } from '../../src-main/engine/ingest/import'
import { createJob, getJob } from '../../src-main/engine/jobs/jobs'
import type { JobProgress } from '../../src-shared/domain'
import { tempDir } from '../helpers/tmp'

/**
 * The import engine on images made here (no ../shared needed): the generic layout end to end,
 * duplicates, changed files, limits and cancellation. Runs on the calling thread, no worker.
 */
const tmp = tempDir('lineup-engine-')
afterAll(() => tmp.dispose())

/** A distinct solid-colour crop: different `seed`, different bytes. */
function crop(seed: number, format: 'jpeg' | 'png' = 'jpeg', width = 64, height = 128): Promise<Buffer> {
  const background = { r: (seed * 37) % 256, g: (seed * 91) % 256, b: (seed * 53) % 256 }
  return sharp({ create: { width, height, channels: 3, background } })
    .toFormat(format)
    .toBuffer()
}

let n = 0
function library() {
  const db = openLibrary(join(tmp.path, `engine-${++n}.lineup`))
  const run = (params: Partial<ImportParams> & { root: string }, hooks: ImportHooks = {}) =>
    importFolder(db, createJob(db, 'import', {}).id, { layout: 'auto', ...params }, hooks)
  return { db, run }
}

function folder(name: string): string {
  const dir = join(tmp.path, name)
  mkdirSync(dir, { recursive: true })
  return dir
}

describe('generic layout: a folder per camera and crops.csv', () => {
  const root = folder('site')
  beforeAll(async () => {
    mkdirSync(join(root, 'gate'))
    mkdirSync(join(root, 'lobby'))
    writeFileSync(join(root, 'gate', 'a.jpg'), await crop(1))
    writeFileSync(join(root, 'gate', 'b.jpg'), await crop(2))
    writeFileSync(join(root, 'lobby', 'c.png'), await crop(3, 'png', 50, 110))
    writeFileSync(join(root, 'loose.jpg'), await crop(4))
    writeFileSync(
      join(root, 'crops.csv'),
      'file,camera,timestamp,identity\ngate/a.jpg,,2024-03-01T12:30:00+01:00,suspect-1\nloose.jpg,car park,,\n',
    )
  })

  it('takes the camera from the folder unless crops.csv names one, and identity and time from crops.csv', async () => {
    const { db, run } = library()
    const result = await run({ root })
    expect(result).toMatchObject({
      imported: 4,
      duplicates: 0,
      skipped: [],
      crops: 4,
      identities: 1,
      cameras: 3,
    })
    const rows = db
      .prepare(
        `SELECT rel_path, cameras.name AS camera, identity, kind, timestamp, format, width, height FROM crops
         LEFT JOIN cameras ON cameras.id = crops.camera_id ORDER BY rel_path`,
      )
      .all()
    expect(rows).toEqual([
      {
        rel_path: 'gate/a.jpg',
        camera: 'gate',
        identity: 'suspect-1',
        kind: 'labelled',
        timestamp: '2024-03-01T11:30:00.000Z',
        format: 'jpeg',
        width: 64,
        height: 128,
      },
      {
        rel_path: 'gate/b.jpg',
        camera: 'gate',
        identity: null,
        kind: 'unlabelled',
        timestamp: null,
        format: 'jpeg',
        width: 64,
        height: 128,
      },
      {
        rel_path: 'lobby/c.png',
        camera: 'lobby',
        identity: null,
        kind: 'unlabelled',
        timestamp: null,
        format: 'png',
        width: 50,
        height: 110,
      },
      {
        rel_path: 'loose.jpg',
        camera: 'car park',
        identity: null,
        kind: 'unlabelled',
        timestamp: null,
        format: 'jpeg',
        width: 64,
        height: 128,
      },
    ])
    db.close()
  })

  it('reports progress: scanning, then importing, then finishing with every file done', async () => {
    const { db, run } = library()
    const seen: JobProgress[] = []
    await run({ root }, { onProgress: (p: JobProgress) => seen.push(p) })
    expect(seen[0]).toMatchObject({ phase: 'scanning', done: 0 })
    expect(seen.at(-1)).toMatchObject({ phase: 'finishing', done: 4, total: 4, imported: 4 })
    db.close()
  })
})

describe('duplicates and changed files', () => {
  it('imports the same bytes once, even under two names in one folder', async () => {
    const root = folder('twice')
    const bytes = await crop(10)
    writeFileSync(join(root, 'one.jpg'), bytes)
    writeFileSync(join(root, 'copy of one.jpg'), bytes)
    writeFileSync(join(root, 'two.jpg'), await crop(11))
    const { db, run } = library()
    expect(await run({ root })).toMatchObject({ imported: 2, duplicates: 1, crops: 2 })
    db.close()
  })

  it('keeps the original crop when a file changed since it was imported, and says so', async () => {
    const root = folder('changed')
    writeFileSync(join(root, 'a.jpg'), await crop(20))
    const { db, run } = library()
    await run({ root })
    const sha = db.prepare('SELECT sha256 FROM crops').pluck().get() as string

    writeFileSync(join(root, 'a.jpg'), await crop(21))
    const again = await run({ root })
    expect(again).toMatchObject({ imported: 0, duplicates: 0, crops: 1 })
    expect(again.skipped).toEqual([
      {
        path: 'a.jpg',
        reason: `file changed since it was imported (sha256 was ${sha.slice(0, 12)}…); the original crop is kept`,
      },
    ])
    expect(db.prepare('SELECT sha256 FROM crops').pluck().all()).toEqual([sha])
    db.close()
  })
})

describe('limits', () => {
  const root = folder('limits')
  beforeAll(async () => {
    writeFileSync(join(root, 'a.jpg'), await crop(30))
  })

  it('skips an image with more pixels than maxPixels, giving its size and the limit', async () => {
    const { db, run } = library()
    const result = await run({ root, maxPixels: 5000 })
    expect(result.skipped).toEqual([
      { path: 'a.jpg', reason: 'image too large: 64×128 px exceeds the 5,000-pixel limit for a crop' },
    ])
    expect(result.crops).toBe(0)
    db.close()
  })

  it('skips a file larger than maxBytes before reading it', async () => {
    const { db, run } = library()
    const result = await run({ root, maxBytes: 100 })
    expect(result.skipped).toEqual([
      {
        path: 'a.jpg',
        reason: expect.stringMatching(/^file too large: [\d,]+ bytes exceeds the 100-byte limit$/),
      },
    ])
    db.close()
  })
})

describe('cancellation', () => {
  it('stops before the next files, records the job as cancelled and audits it', async () => {
    const root = folder('cancel')
    for (let i = 0; i < 12; i++) writeFileSync(join(root, `${i}.jpg`), await crop(100 + i))
    const { db, run } = library()
    let checks = 0
    const result = await run({ root, concurrency: 4 }, { isCancelled: () => ++checks > 1 })
    expect(result).toMatchObject({ cancelled: true, imported: 4, crops: 4 })
    const job = getJob(db, result.jobId)
    expect(job).toMatchObject({ status: 'cancelled', done: 4, total: 12 })
    expect(readAudit(db).map((e) => [e.action, e.details.processed])).toEqual([['import.cancelled', 4]])
    db.close()
  })
})
