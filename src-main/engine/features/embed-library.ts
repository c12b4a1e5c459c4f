import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { EmbedSummary, JobProgress } from '../../../src-shared/domain'
import { appendAudit } from '../audit/log'
import type { Db } from '../db/open'
import type { StoredModel } from '../library/models'
import { progressEvent } from '../jobs/progress'
import type { Extractor } from './types'

export interface EmbedHooks {
  onProgress?(p: JobProgress): void
  isCancelled?(): boolean
}

export type EmbedResult = EmbedSummary & { cancelled: boolean; jobId: number }

interface Pending {
  id: number
  root: string
  rel_path: string
  sha256: string
  camera: string | null
}

interface Loaded {
  crops: Pending[]
  bytes: Uint8Array[]
}

/** Crops per extractor call (the ONNX batch) and per write transaction. */
const BATCH = 32

/**
 * Embeds every crop of the library that has no vector from `model` yet, with `extractor`.
 *
 * Each original is read and its SHA-256 checked against the one recorded at import, so a vector
 * is only ever computed from the evidence that was imported: a missing or changed file is skipped
 * with its reason (the crop stays, unembedded). Each batch of vectors is one transaction together
 * with the job's counter and heartbeat; the (model, crop) primary key and the "not yet embedded"
 * selection make a re-run after a kill finish the work with every crop embedded exactly once.
 * The next batch's files are read while the current one is embedded.
 */
export async function embedLibrary(
  db: Db,
  jobId: number,
  model: StoredModel,
  extractor: Extractor,
  hooks: EmbedHooks = {},
): Promise<EmbedResult> {
  const started = Date.now()
  const pending = db
    .prepare(
      `SELECT crops.id, sources.root, crops.rel_path, crops.sha256, cameras.name AS camera
       FROM crops JOIN sources ON sources.id = crops.source_id
       LEFT JOIN cameras ON cameras.id = crops.camera_id
       WHERE NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.model_id = ? AND e.crop_id = crops.id)
       ORDER BY crops.id`,
    )
    .all(model.id) as Pending[]
  const total = pending.length
  db.prepare('UPDATE jobs SET total = ? WHERE id = ?').run(total, jobId)
  const skipped: EmbedSummary['skipped'] = []
  let embedded = 0
  let done = 0

  const progress = (phase: JobProgress['phase']): void =>
    hooks.onProgress?.(
      progressEvent(started, {
        jobId,
        kind: 'embed',
        phase,
        done,
        total,
        imported: embedded,
        duplicates: 0,
        skipped: skipped.length,
      }),
    )

  const load = async (crops: Pending[]): Promise<Loaded> => {
    const ok: Pending[] = []
    const bytes: Uint8Array[] = []
    await Promise.all(
      crops.map(async (c) => {
        const path = join(c.root, ...c.rel_path.split('/'))
        try {
          const data = await readFile(path)
          if (createHash('sha256').update(data).digest('hex') !== c.sha256) {
            skipped.push({
              cropId: c.id,
              path,
              reason: 'file changed since it was imported (SHA-256 differs); not embedded',
            })
            return
          }
          ok.push(c)
          bytes.push(data)
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code
          const reason =
            code === 'ENOENT'
              ? 'original file is missing (moved or deleted since import)'
              : `cannot read the original: ${code ?? (err as Error).message}`
          skipped.push({ cropId: c.id, path, reason })
        }
      }),
    )
    // Keep crop order stable (Promise.all settles in any order).
    const order = ok.map((c, i) => [c, bytes[i]!] as const).sort((a, b) => a[0].id - b[0].id)
    return { crops: order.map((x) => x[0]), bytes: order.map((x) => x[1]) }
  }

  const put = db.prepare(
    'INSERT INTO embeddings (model_id, crop_id, vector) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
  )
  const tick = db.prepare('UPDATE jobs SET done = ?, heartbeat_at = ? WHERE id = ?')
  const write = db.transaction((crops: Pending[], vectors: Float32Array, doneSoFar: number) => {
    const dim = model.dim
    for (let i = 0; i < crops.length; i++) {
      const row = vectors.subarray(i * dim, (i + 1) * dim)
      const info = put.run(model.id, crops[i]!.id, Buffer.from(row.buffer, row.byteOffset, row.byteLength))
      embedded += info.changes
    }
    tick.run(doneSoFar, new Date().toISOString(), jobId)
  })

  progress('embedding')
  let cancelled = false
  let next: Promise<Loaded> | null = total > 0 ? load(pending.slice(0, BATCH)) : null
  for (let start = 0; start < total; start += BATCH) {
    const batch = await next!
    next = start + BATCH < total ? load(pending.slice(start + BATCH, start + 2 * BATCH)) : null
    if (hooks.isCancelled?.()) {
      cancelled = true
      break
    }
    const count = Math.min(BATCH, total - start)
    if (batch.crops.length > 0) {
      const vectors = await extractor.embed(
        batch.bytes,
        batch.crops.map((c) => c.camera),
      )
      if (vectors.length !== batch.crops.length * model.dim) {
        throw new Error(
          `extractor returned ${vectors.length} values for ${batch.crops.length} crops of dim ${model.dim}`,
        )
      }
      done += count
      write(batch.crops, vectors, done)
    } else {
      done += count
      tick.run(done, new Date().toISOString(), jobId)
    }
    progress('embedding')
  }
  if (next) await next.catch(() => undefined)
  progress('finishing')

  const totals = db
    .prepare(
      `SELECT (SELECT count(*) FROM embeddings WHERE model_id = ?) AS total, (SELECT count(*) FROM crops) AS crops`,
    )
    .get(model.id) as { total: number; crops: number }
  const result: EmbedResult = { modelKey: model.key, embedded, skipped, ...totals, cancelled, jobId }
  db.transaction(() => {
    db.prepare(
      `UPDATE jobs SET status = ?, done = ?, finished_at = ?, summary = ?, pid = NULL WHERE id = ?`,
    ).run(cancelled ? 'cancelled' : 'done', done, new Date().toISOString(), JSON.stringify(result), jobId)
    appendAudit(db, 'analyst', cancelled ? 'embed.cancelled' : 'embed', {
      jobId,
      model: model.key,
      modelName: model.name,
      embedded,
      skipped: skipped.length,
      total: totals.total,
    })
  })()
  return result
}
