import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openLibrary } from '../../src-main/engine/db/open'
import { startImport } from '../../src-main/engine/jobs/import-job'
import { getJob } from '../../src-main/engine/jobs/jobs'
import type { ImportSummary, JobProgress } from '../../src-shared/domain'
import { LineupError } from '../../src-shared/errors'
import { jsonLines, runCli, spawnCli } from '../helpers/cli'
import { integrity, libraryFacts } from '../helpers/db'
import { explainSkip, hasShared, marketDir } from '../helpers/paths'
import { tempDir } from '../helpers/tmp'

explainSkip('kill, resume, cancel and conflict of an import (import-kill.test.ts)')

const TRAIN = join(marketDir, 'bounding_box_train')
const TRAIN_FILES = 2412

/**
 * Starts `lineup import <folder> --db <db> --json` and sends it `signal` as soon as a progress line
 * shows at least `fraction` of the files done with some crops committed (the count of imported
 * crops only grows when a batch commits). Resolves when the process has ended.
 */
function importThenSignal(folder: string, db: string, fraction: number, signal: NodeJS.Signals) {
  return new Promise<{ at: JobProgress; code: number | null; signal: NodeJS.Signals | null; stdout: string }>(
    (resolve, reject) => {
      const child = spawnCli(['import', folder, '--db', db, '--json'])
      let stdout = ''
      let partial = '' // the unfinished last line
      let stderr = ''
      let at: JobProgress | null = null
      child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s))
      child.stdout!.setEncoding('utf8').on('data', (s: string) => {
        stdout += s
        const lines = (partial + s).split('\n')
        partial = lines.pop()!
        for (const line of lines) {
          const p = (JSON.parse(line) as { progress?: JobProgress }).progress
          if (!at && p && p.phase === 'importing' && p.done >= fraction * p.total && p.imported > 0) {
            at = p
            child.kill(signal)
          }
        }
      })
      child.on('error', reject)
      child.on('close', (code, endSignal) => {
        if (at) resolve({ at, code, signal: endSignal, stdout })
        else reject(new Error(`import ended before it could be signalled (exit ${code}): ${stderr}`))
      })
    },
  )
}

describe.skipIf(!hasShared)('an import killed with SIGKILL, then run again', () => {
  const tmp = tempDir('lineup-kill-')
  let db: string
  beforeAll(() => {
    db = join(tmp.path, 'case.lineup')
  })
  afterAll(() => tmp.dispose())

  it('leaves a sound library holding part of the folder', async () => {
    const { at, signal } = await importThenSignal(TRAIN, db, 0.3, 'SIGKILL')
    expect(signal).toBe('SIGKILL')
    expect(at.total).toBe(TRAIN_FILES)
    const facts = libraryFacts(db)
    expect(facts.crops).toBeGreaterThanOrEqual(at.imported)
    expect(facts.crops).toBeGreaterThan(0)
    expect(facts.crops).toBeLessThan(TRAIN_FILES)
    expect(facts.cropsWithoutThumb).toBe(0)
    expect(facts.jobs.map((j) => j.status)).toEqual(['running']) // nobody was left to say otherwise
    expect(integrity(db)).toBe('ok')
  })

  it('finishes the work on the next run: every file exactly once', async () => {
    const run = await runCli(['import', TRAIN, '--db', db, '--json'])
    expect(run.code).toBe(0)
    const summary = jsonLines(run.stdout).at(-1) as unknown as ImportSummary & { jobId: number }
    expect(summary.imported).toBeGreaterThan(0)
    expect(summary.duplicates).toBeGreaterThan(0)
    expect(summary.imported + summary.duplicates).toBe(TRAIN_FILES)
    expect(summary).toMatchObject({ skipped: [], crops: TRAIN_FILES, identities: 151, cameras: 6, jobId: 2 })

    const facts = libraryFacts(db)
    expect(facts).toMatchObject({
      crops: TRAIN_FILES,
      thumbs: TRAIN_FILES,
      cropsWithoutThumb: 0,
      duplicateSha: 0,
      duplicatePaths: 0,
    })
    expect(facts.jobs.map((j) => j.status)).toEqual(['interrupted', 'done'])
    expect(JSON.parse(facts.jobs[1]!.params)).toMatchObject({ resumes: [1] })
    expect(integrity(db)).toBe('ok')
  })
})

describe.skipIf(!hasShared)('an import cancelled with Ctrl-C (SIGINT)', () => {
  const tmp = tempDir('lineup-sigint-')
  let db: string
  beforeAll(() => {
    db = join(tmp.path, 'case.lineup')
  })
  afterAll(() => tmp.dispose())

  it('stops, keeps what it imported, exits 130 and says it was cancelled', async () => {
    const { at, code, stdout } = await importThenSignal(TRAIN, db, 0.1, 'SIGINT')
    expect(code).toBe(130)
    const summary = jsonLines(stdout).at(-1) as unknown as ImportSummary & { cancelled?: boolean }
    expect(summary).toMatchObject({ cancelled: true, duplicates: 0, skipped: [] })
    expect(summary.imported).toBeGreaterThanOrEqual(at.imported)
    expect(summary.imported).toBeLessThan(TRAIN_FILES)
    const facts = libraryFacts(db)
    expect(facts.crops).toBe(summary.imported)
    expect(facts.cropsWithoutThumb).toBe(0)
    expect(facts.jobs.map((j) => j.status)).toEqual(['cancelled'])
    expect(facts.auditActions).toEqual(['import.cancelled'])
    expect(integrity(db)).toBe('ok')
  })
})

describe.skipIf(!hasShared)('an import started from the engine (startImport)', () => {
  const tmp = tempDir('lineup-cancel-')
  let path: string
  beforeAll(() => {
    path = join(tmp.path, 'case.lineup')
  })
  const folder = join(marketDir, 'bounding_box_test') // 9,311 files: long enough to act mid-way
  afterAll(() => tmp.dispose())

  it('refuses a second import while one runs, then cancels cleanly mid-way', async () => {
    const db = openLibrary(path)
    try {
      let resolveMidway!: (p: JobProgress) => void
      const midway = new Promise<JobProgress>((r) => (resolveMidway = r))
      const handle = startImport(db, path, { folder, layout: 'auto' }, (p) => {
        if (p.phase === 'importing' && p.imported > 0) resolveMidway(p)
      })
      expect(handle.job).toMatchObject({ kind: 'import', status: 'running', done: 0 })
      await midway

      // A second import in this process, and one from another process, are both refused.
      expect(() => startImport(db, path, { folder: TRAIN, layout: 'auto' })).toThrow(
        expect.objectContaining({ kind: 'conflict', message: expect.stringMatching(/already running/) }),
      )
      const other = await runCli(['import', TRAIN, '--db', path, '--json'])
      expect(other.code).toBe(1)
      expect(jsonLines(other.stdout).at(-1)).toEqual({
        error: { kind: 'conflict', message: expect.stringMatching(/an import is already running .*job 1/) },
      })

      handle.cancel()
      const result = await handle.finished
      expect(result.cancelled).toBe(true)
      expect(result.imported).toBeGreaterThan(0)

      const job = getJob(db, handle.job.id)
      expect(job.status).toBe('cancelled')
      expect(job.done).toBeLessThan(job.total)
      expect(job.total).toBe(9311)
      expect(job.summary).toMatchObject({ imported: result.imported, crops: result.imported })

      const facts = libraryFacts(path)
      expect(facts.crops).toBe(result.imported)
      expect(facts.cropsWithoutThumb).toBe(0)
      expect(facts.jobs.map((j) => j.status)).toEqual(['cancelled']) // the refused imports left no job
      expect(facts.auditActions).toEqual(['import.cancelled'])
      expect(integrity(path)).toBe('ok')

      // Once it has ended, the next import may start.
      const next = startImport(db, path, { folder: TRAIN, layout: 'auto' })
      await expect(next.finished).resolves.toMatchObject({ imported: TRAIN_FILES, cancelled: false })
    } finally {
      db.close()
    }
  })

  it('refuses a missing folder before creating a job', () => {
    const db = openLibrary(join(tmp.path, 'other.lineup'))
    try {
      let error: unknown
      try {
        startImport(db, join(tmp.path, 'other.lineup'), { folder: join(tmp.path, 'nope'), layout: 'auto' })
      } catch (err) {
        error = err
      }
      expect(error).toBeInstanceOf(LineupError)
      expect(error).toMatchObject({ kind: 'not-found', message: expect.stringMatching(/folder not found/) })
      expect(db.prepare('SELECT count(*) FROM jobs').pluck().get()).toBe(0)
    } finally {
      db.close()
    }
  })
})
