import { copyFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readAudit, verifyAudit } from '../../src-main/engine/audit/log'
import type { ImportSummary, JobProgress } from '../../src-shared/domain'
import { jsonLines, runCli } from '../helpers/cli'
import { integrity, libraryFacts, rawDb } from '../helpers/db'
import { explainSkip, hasShared, marketDir } from '../helpers/paths'
import { tempDir } from '../helpers/tmp'

explainSkip('import of the real Market-1501 subset (import-market.test.ts)')

type Summary = ImportSummary & { jobId: number }

/** Runs `lineup import <folder> --db <db> --json`; returns the progress lines and the summary line. */
async function importJson(folder: string, db: string) {
  const run = await runCli(['import', folder, '--db', db, '--json'])
  expect(run.stderr).toBe('')
  expect(run.code).toBe(0)
  const lines = jsonLines(run.stdout)
  const summary = lines.at(-1) as unknown as Summary
  const progress = lines.slice(0, -1).map((l) => {
    expect(Object.keys(l)).toEqual(['progress'])
    return l.progress as JobProgress
  })
  return { progress, summary }
}

/**
 * Once `lineup import` has exited, the .lineup file alone is the whole library: no write-ahead log
 * is left beside it holding the last batch, so copying the file to archive a case loses nothing.
 */
function expectSelfContained(db: string, crops: number, auditEntries: number): void {
  expect(existsSync(`${db}-wal`), `${db}-wal was left behind`).toBe(false)
  const copy = `${db}.copy`
  copyFileSync(db, copy)
  const facts = libraryFacts(copy)
  expect(facts.crops).toBe(crops)
  expect(facts.auditActions).toHaveLength(auditEntries)
  expect(facts.jobs.at(-1)!.status).toBe('done')
}

describe.skipIf(!hasShared)('lineup import of Market-1501 query (1,676 real crops)', () => {
  const tmp = tempDir('lineup-market-')
  let db: string
  beforeAll(() => {
    db = join(tmp.path, 'case.lineup')
  })
  const query = join(marketDir, 'query')
  afterAll(() => tmp.dispose())

  it('imports every crop, with its identity and camera from the file name', async () => {
    const { progress, summary } = await importJson(query, db)
    expectSelfContained(db, 1676, 1)
    expect(summary).toEqual({
      imported: 1676,
      duplicates: 0,
      skipped: [],
      crops: 1676,
      identities: 375,
      cameras: 6,
      jobId: 1,
    })
    // JSON progress lines come first: scanning, then importing with growing counts, then finishing.
    expect(progress.length).toBeGreaterThan(2)
    expect(progress[0]).toMatchObject({ jobId: 1, kind: 'import', phase: 'scanning' })
    expect(progress.at(-1)).toMatchObject({ phase: 'finishing', done: 1676, total: 1676, imported: 1676 })
    const done = progress.map((p) => p.done)
    expect(done).toEqual([...done].sort((a, b) => a - b))

    const raw = rawDb(db, true)
    try {
      expect(
        raw
          .prepare(
            `SELECT rel_path, identity, kind, cameras.name AS camera, sequence, frame, box, width, height, format
             FROM crops JOIN cameras ON cameras.id = crops.camera_id WHERE rel_path = ?`,
          )
          .get('0001_c1s1_001051_00.jpg'),
      ).toEqual({
        rel_path: '0001_c1s1_001051_00.jpg',
        identity: '0001',
        kind: 'labelled',
        camera: 'c1',
        sequence: 1,
        frame: 1051,
        box: 0,
        width: 64,
        height: 128,
        format: 'jpeg',
      })
    } finally {
      raw.close()
    }
  })

  it('imports nothing new the second time: every file is a duplicate', async () => {
    const { progress, summary } = await importJson(query, db)
    expect(summary).toEqual({
      imported: 0,
      duplicates: 1676,
      skipped: [],
      crops: 1676,
      identities: 375,
      cameras: 6,
      jobId: 2,
    })
    expect(progress.at(-1)).toMatchObject({ phase: 'finishing', done: 1676, duplicates: 1676 })
  })

  it('records both imports in an intact audit log', () => {
    const raw = rawDb(db, true)
    try {
      const entries = readAudit(raw)
      expect(entries.map((e) => e.action)).toEqual(['import', 'import'])
      expect(entries.map((e) => e.details)).toEqual([
        expect.objectContaining({ jobId: 1, root: query, layout: 'market1501', imported: 1676, crops: 1676 }),
        expect.objectContaining({ jobId: 2, imported: 0, duplicates: 1676, crops: 1676 }),
      ])
      expect(verifyAudit(raw)).toEqual({ ok: true, entries: 2, headHash: entries[1]!.hash })
    } finally {
      raw.close()
    }
  })

  it('keeps a WebP thumbnail for every crop', async () => {
    const facts = libraryFacts(db)
    expect(facts).toMatchObject({ crops: 1676, thumbs: 1676, cropsWithoutThumb: 0 })
    expect(facts.jobs.map((j) => j.status)).toEqual(['done', 'done'])
    const raw = rawDb(db, true)
    try {
      expect(raw.prepare('SELECT DISTINCT mime FROM thumbs').pluck().all()).toEqual(['image/webp'])
      const thumb = raw.prepare('SELECT data FROM thumbs ORDER BY crop_id LIMIT 1').pluck().get() as Buffer
      // 64×128 crops already fit the 96×192 thumbnail box and are not enlarged.
      expect(await sharp(thumb).metadata()).toMatchObject({ format: 'webp', width: 64, height: 128 })
    } finally {
      raw.close()
    }
    expect(integrity(db)).toBe('ok')
  })
})

describe.skipIf(!hasShared)('lineup import of the whole Market-1501 subset (13,399 real crops)', () => {
  const tmp = tempDir('lineup-market-all-')
  afterAll(() => tmp.dispose())

  it('imports all three folders; readme.txt and SOURCE.md are sidecars, not skipped files', async () => {
    const db = join(tmp.path, 'all.lineup')
    const { summary } = await importJson(marketDir, db)
    expectSelfContained(db, 13_399, 1)
    expect(summary).toEqual({
      imported: 13_399,
      duplicates: 0,
      skipped: [],
      crops: 13_399,
      identities: 375 + 151,
      cameras: 6,
      jobId: 1,
    })
    const raw = rawDb(db, true)
    try {
      const byFolder = raw
        .prepare(
          `SELECT substr(rel_path, 1, instr(rel_path, '/') - 1) AS folder, count(*) AS n FROM crops
           GROUP BY folder ORDER BY folder`,
        )
        .all()
      expect(byFolder).toEqual([
        { folder: 'bounding_box_test', n: 9311 },
        { folder: 'bounding_box_train', n: 2412 },
        { folder: 'query', n: 1676 },
      ])
      expect(raw.prepare(`SELECT count(*) FROM crops WHERE kind = 'distractor'`).pluck().get()).toBe(2795)
    } finally {
      raw.close()
    }
    const facts = libraryFacts(db)
    expect(facts).toMatchObject({ crops: 13_399, cropsWithoutThumb: 0, duplicateSha: 0, duplicatePaths: 0 })
    expect(integrity(db)).toBe('ok')
  })
})
