import { createHash } from 'node:crypto'
import { open } from 'node:fs/promises'
import type { ImportSummary, JobProgress, SkippedFile } from '../../../src-shared/domain'
import { appendAudit } from '../audit/log'
import type { Db } from '../db/open'
import { progressEvent } from '../jobs/progress'
import { libraryTotals } from '../library/queries'
import { decodeCrop, DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, SkipFile } from './decode'
import { resolveLayout, type CropMeta } from './layout'
import { scanFolder, type ScannedFile } from './scan'
import type { ImportLayout } from '../../../src-shared/domain'

export interface ImportParams {
  /** Absolute real path of the folder. */
  root: string
  layout: ImportLayout
  maxPixels?: number
  maxBytes?: number
  /** Files decoded at once; sharp runs them on libuv's pool. Default 4. */
  concurrency?: number
  /** Rows per write transaction. Default 64. */
  batchSize?: number
}

export interface ImportHooks {
  onProgress?(p: JobProgress): void
  isCancelled?(): boolean
}

export type ImportResult = ImportSummary & { cancelled: boolean; jobId: number }

interface Ready {
  file: ScannedFile
  sha256: string
  bytes: number
  meta: CropMeta
  width: number
  height: number
  format: string
  thumb: Uint8Array
  thumbMime: string
}

/** Reads a whole file with a size cap (the cap is checked before the read). */
async function readCapped(path: string, maxBytes: number): Promise<Buffer> {
  const fh = await open(path, 'r')
  try {
    const { size } = await fh.stat()
    if (size > maxBytes)
      throw new SkipFile(
        `file too large: ${size.toLocaleString('en-US')} bytes exceeds the ${maxBytes.toLocaleString('en-US')}-byte limit`,
      )
    return await fh.readFile()
  } finally {
    await fh.close()
  }
}

/**
 * Imports every image under `params.root` into the library, for job `jobId` (already `running`).
 *
 * Originals are only read. Each file is hashed (SHA-256); bytes already in the library count as
 * duplicates and are not decoded again, so a re-run after a crash or a kill finishes the work with
 * every file exactly once (crops.sha256 is UNIQUE). Good files are decoded (which is what catches
 * truncated ones), thumbnailed and written in batches, each batch one transaction together with
 * the job's counters. Unusable files are skipped with a reason; nothing here throws for one file.
 */
export async function importFolder(
  db: Db,
  jobId: number,
  params: ImportParams,
  hooks: ImportHooks = {},
): Promise<ImportResult> {
  const started = Date.now()
  const maxPixels = params.maxPixels ?? DEFAULT_MAX_PIXELS
  const maxBytes = params.maxBytes ?? DEFAULT_MAX_BYTES
  const concurrency = params.concurrency ?? 4
  const batchSize = params.batchSize ?? 64
  const progress = (phase: JobProgress['phase'], done: number, total: number): void =>
    hooks.onProgress?.(
      progressEvent(started, {
        jobId,
        kind: 'import',
        phase,
        done,
        total,
        imported,
        duplicates,
        skipped: skipped.length,
      }),
    )

  let imported = 0
  let duplicates = 0
  const skipped: SkippedFile[] = []

  progress('scanning', 0, 0)
  const scan = await scanFolder(params.root)
  skipped.push(...scan.skipped)
  const layout = resolveLayout(params.root, params.layout, scan.files)
  const files = scan.files
  const now = () => new Date().toISOString()

  db.prepare(
    'INSERT INTO sources (root, layout, created_at) VALUES (?, ?, ?) ON CONFLICT (root) DO NOTHING',
  ).run(params.root, layout.name, now())
  const sourceId = (db.prepare('SELECT id FROM sources WHERE root = ?').get(params.root) as { id: number }).id
  db.prepare('UPDATE jobs SET total = ? WHERE id = ?').run(files.length, jobId)

  const bySha = db.prepare('SELECT id FROM crops WHERE sha256 = ?').pluck()
  const byPath = db.prepare('SELECT sha256 FROM crops WHERE source_id = ? AND rel_path = ?').pluck()
  const camera = db
    .prepare(
      'INSERT INTO cameras (name) VALUES (?) ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id',
    )
    .pluck()
  const insertCrop = db.prepare(`
    INSERT INTO crops (source_id, rel_path, sha256, bytes, width, height, format, camera_id, sequence, frame, box,
                       timestamp, identity, kind, imported_at, job_id)
    VALUES (@sourceId, @rel, @sha256, @bytes, @width, @height, @format, @cameraId, @sequence, @frame, @box,
            @timestamp, @identity, @kind, @importedAt, @jobId)
    ON CONFLICT DO NOTHING`)
  const insertThumb = db.prepare('INSERT INTO thumbs (crop_id, mime, data) VALUES (?, ?, ?)')
  const updateJob = db.prepare('UPDATE jobs SET done = ?, heartbeat_at = ? WHERE id = ?')

  let done = 0
  let pending: Ready[] = []
  const flush = db.transaction((batch: Ready[], doneSoFar: number) => {
    for (const r of batch) {
      const cameraId = r.meta.camera === null ? null : (camera.get(r.meta.camera) as number)
      const info = insertCrop.run({
        sourceId,
        rel: r.file.rel,
        sha256: r.sha256,
        bytes: r.bytes,
        width: r.width,
        height: r.height,
        format: r.format,
        cameraId,
        sequence: r.meta.sequence,
        frame: r.meta.frame,
        box: r.meta.box,
        timestamp: r.meta.timestamp,
        identity: r.meta.identity,
        kind: r.meta.kind,
        importedAt: now(),
        jobId,
      })
      if (info.changes === 0) {
        // Same bytes twice within one batch, or the same path changed under us: not a new crop.
        duplicates++
        continue
      }
      insertThumb.run(info.lastInsertRowid, r.thumbMime, r.thumb)
      imported++
    }
    updateJob.run(doneSoFar, now(), jobId)
  })

  const handle = async (file: ScannedFile): Promise<Ready | null> => {
    const meta = layout.describe(file)
    if ('skip' in meta) {
      skipped.push({ path: file.rel, reason: meta.skip })
      return null
    }
    try {
      const bytes = await readCapped(file.abs, maxBytes)
      const sha256 = createHash('sha256').update(bytes).digest('hex')
      if (bySha.get(sha256) !== undefined) {
        duplicates++
        return null
      }
      const previous = byPath.get(sourceId, file.rel) as string | undefined
      if (previous !== undefined) {
        skipped.push({
          path: file.rel,
          reason: `file changed since it was imported (sha256 was ${previous.slice(0, 12)}…); the original crop is kept`,
        })
        return null
      }
      const img = await decodeCrop(bytes, maxPixels)
      return { file, sha256, bytes: bytes.length, meta, ...img }
    } catch (err) {
      if (err instanceof SkipFile) skipped.push({ path: file.rel, reason: err.message })
      else
        skipped.push({
          path: file.rel,
          reason: `cannot read file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        })
      return null
    }
  }

  let cancelled = false
  let lastReport = 0
  for (let i = 0; i < files.length; i += concurrency) {
    if (hooks.isCancelled?.()) {
      cancelled = true
      break
    }
    const slice = files.slice(i, i + concurrency)
    const results = await Promise.all(slice.map(handle))
    for (const r of results) if (r) pending.push(r)
    done += slice.length
    if (pending.length >= batchSize) {
      flush(pending, done)
      pending = []
    }
    if (Date.now() - lastReport > 100) {
      lastReport = Date.now()
      progress('importing', done, files.length)
    }
  }
  flush(pending, done)
  progress('finishing', done, files.length)

  const totals = libraryTotals(db)
  const summary: ImportResult = { imported, duplicates, skipped, ...totals, cancelled, jobId }
  db.transaction(() => {
    db.prepare(
      'UPDATE jobs SET status = ?, done = ?, finished_at = ?, summary = ?, pid = NULL WHERE id = ?',
    ).run(cancelled ? 'cancelled' : 'done', done, now(), JSON.stringify(summary), jobId)
    appendAudit(db, 'analyst', cancelled ? 'import.cancelled' : 'import', {
      jobId,
      root: params.root,
      layout: layout.name,
      files: files.length,
      processed: done,
      imported,
      duplicates,
      skipped: skipped.length,
      crops: totals.crops,
    })
  })()
  return summary
}
