import { join } from 'node:path'
import type {
  CropDetail,
  CropKind,
  CropPage,
  CropSummary,
  IdentityFacet,
  LibrarySummary,
} from '../../../src-shared/domain'
import { LineupError } from '../../../src-shared/errors'
import type { Db } from '../db/open'

/** Totals reported after an import: crops, distinct identity labels, cameras in use. */
export function libraryTotals(db: Db): { crops: number; identities: number; cameras: number } {
  const row = db
    .prepare(
      `SELECT (SELECT count(*) FROM crops) AS crops,
              (SELECT count(DISTINCT identity) FROM crops WHERE identity IS NOT NULL) AS identities,
              (SELECT count(DISTINCT camera_id) FROM crops WHERE camera_id IS NOT NULL) AS cameras`,
    )
    .get() as { crops: number; identities: number; cameras: number }
  return row
}

export function librarySummary(db: Db): LibrarySummary {
  const totals = libraryTotals(db)
  const cameras = db
    .prepare(
      `SELECT cameras.name AS name, count(*) AS count FROM crops JOIN cameras ON cameras.id = crops.camera_id
       GROUP BY cameras.id ORDER BY length(cameras.name), cameras.name`,
    )
    .all() as { name: string; count: number }[]
  const noCamera = db.prepare('SELECT count(*) FROM crops WHERE camera_id IS NULL').pluck().get() as number
  const kinds: Record<CropKind, number> = { labelled: 0, distractor: 0, junk: 0, unlabelled: 0 }
  for (const r of db.prepare('SELECT kind, count(*) AS n FROM crops GROUP BY kind').all() as {
    kind: CropKind
    n: number
  }[]) {
    kinds[r.kind] = r.n
  }
  const sources = db
    .prepare(
      `SELECT sources.id AS id, sources.root AS root, count(crops.id) AS crops
       FROM sources LEFT JOIN crops ON crops.source_id = sources.id GROUP BY sources.id ORDER BY sources.id`,
    )
    .all() as { id: number; root: string; crops: number }[]
  return { crops: totals.crops, identities: totals.identities, cameras, noCamera, kinds, sources }
}

export interface CropFilter {
  camera?: string | null | undefined
  identity?: string | null | undefined
  offset: number
  limit: number
}

const SUMMARY_COLUMNS = `crops.id AS id, cameras.name AS camera, crops.identity AS identity, crops.kind AS kind,
  crops.width AS width, crops.height AS height`

/** One page of crops in import order, filtered by camera name and/or exact identity label. */
export function listCrops(db: Db, filter: CropFilter): CropPage {
  const where: string[] = []
  const params: Record<string, unknown> = { limit: filter.limit, offset: filter.offset }
  if (filter.camera) {
    where.push('crops.camera_id = (SELECT id FROM cameras WHERE name = @camera)')
    params.camera = filter.camera
  }
  if (filter.identity) {
    where.push('crops.identity = @identity')
    params.identity = filter.identity
  }
  const clause = where.length ? `WHERE ${where.join(' AND ')}` : ''
  const total = db.prepare(`SELECT count(*) FROM crops ${clause}`).pluck().get(params) as number
  const items = db
    .prepare(
      `SELECT ${SUMMARY_COLUMNS} FROM crops LEFT JOIN cameras ON cameras.id = crops.camera_id ${clause}
       ORDER BY crops.id LIMIT @limit OFFSET @offset`,
    )
    .all(params) as CropSummary[]
  return { total, offset: filter.offset, items }
}

interface DetailRow extends CropSummary {
  rel_path: string
  root: string
  sha256: string
  bytes: number
  format: string
  sequence: number | null
  frame: number | null
  box: number | null
  timestamp: string | null
  imported_at: string
  job_id: number
}

export function getCrop(db: Db, id: number): CropDetail {
  const r = db
    .prepare(
      `SELECT ${SUMMARY_COLUMNS}, crops.rel_path, sources.root, crops.sha256, crops.bytes, crops.format, crops.sequence,
              crops.frame, crops.box, crops.timestamp, crops.imported_at, crops.job_id
       FROM crops JOIN sources ON sources.id = crops.source_id LEFT JOIN cameras ON cameras.id = crops.camera_id
       WHERE crops.id = ?`,
    )
    .get(id) as DetailRow | undefined
  if (!r) throw new LineupError('not-found', `crop ${id} is not in this library`)
  return {
    id: r.id,
    camera: r.camera,
    identity: r.identity,
    kind: r.kind,
    width: r.width,
    height: r.height,
    path: join(r.root, ...r.rel_path.split('/')),
    relPath: r.rel_path,
    sourceRoot: r.root,
    sha256: r.sha256,
    bytes: r.bytes,
    format: r.format,
    sequence: r.sequence,
    frame: r.frame,
    box: r.box,
    timestamp: r.timestamp,
    importedAt: r.imported_at,
    jobId: r.job_id,
  }
}

/** Identity labels with their crop counts, optionally by prefix and camera, most frequent first. */
export function listIdentities(
  db: Db,
  prefix: string,
  camera: string | null | undefined,
  limit: number,
): IdentityFacet[] {
  const cameraClause = camera ? 'AND camera_id = (SELECT id FROM cameras WHERE name = @camera)' : ''
  return db
    .prepare(
      `SELECT identity, count(*) AS count FROM crops
       WHERE identity IS NOT NULL AND identity >= @prefix AND identity < @prefix || char(1114111) ${cameraClause}
       GROUP BY identity ORDER BY identity LIMIT @limit`,
    )
    .all({ prefix, camera: camera ?? null, limit }) as IdentityFacet[]
}

export function getThumb(db: Db, id: number): { mime: string; data: Buffer } {
  const r = db.prepare('SELECT mime, data FROM thumbs WHERE crop_id = ?').get(id) as
    { mime: string; data: Buffer } | undefined
  if (!r) throw new LineupError('not-found', `no thumbnail for crop ${id}`)
  return r
}
