import type { ModelInfo } from '../../../src-shared/domain'
import { LineupError } from '../../../src-shared/errors'
import type { Db } from '../db/open'

interface ModelRow {
  id: number
  key: string
  kind: 'onnx' | 'builtin' | 'head'
  name: string
  dim: number
  config: string
  base_model_id: number | null
  file: string | null
  bytes: number | null
  created_at: string
  active: number
  embedded: number
}

/** A model row with where its file is (ONNX only): what the embedding job needs. */
export interface StoredModel extends ModelInfo {
  file: string | null
}

const SELECT = `SELECT models.*, (SELECT count(*) FROM embeddings WHERE embeddings.model_id = models.id) AS embedded FROM models`

function toModel(r: ModelRow): StoredModel {
  return {
    id: r.id,
    key: r.key,
    kind: r.kind,
    name: r.name,
    dim: r.dim,
    baseModelId: r.base_model_id,
    config: JSON.parse(r.config) as ModelInfo['config'],
    active: r.active === 1,
    createdAt: r.created_at,
    bytes: r.bytes,
    embedded: r.embedded,
    file: r.file,
  }
}

export function listModels(db: Db): StoredModel[] {
  return (db.prepare(`${SELECT} ORDER BY models.id`).all() as ModelRow[]).map(toModel)
}

export function getModel(db: Db, id: number): StoredModel {
  const r = db.prepare(`${SELECT} WHERE models.id = ?`).get(id) as ModelRow | undefined
  if (!r)
    throw new LineupError('not-found', `model ${id} is not in this library (lineup model list shows them)`)
  return toModel(r)
}

export function findModelByKey(db: Db, key: string): StoredModel | null {
  const r = db.prepare(`${SELECT} WHERE models.key = ?`).get(key) as ModelRow | undefined
  return r ? toModel(r) : null
}

/** The active model, or null when none has been chosen yet. */
export function activeModel(db: Db): StoredModel | null {
  const r = db.prepare(`${SELECT} WHERE models.active = 1`).get() as ModelRow | undefined
  return r ? toModel(r) : null
}

export interface NewModel {
  key: string
  kind: 'onnx' | 'builtin' | 'head'
  name: string
  dim: number
  config: ModelInfo['config']
  file: string | null
  bytes: number | null
  baseModelId?: number | null
}

/** Adds a model (or returns the existing one with the same key: the same file is one model). */
export function insertModel(db: Db, m: NewModel): { model: StoredModel; created: boolean } {
  const existing = findModelByKey(db, m.key)
  if (existing) return { model: existing, created: false }
  const info = db
    .prepare(
      `INSERT INTO models (key, kind, name, dim, config, file, bytes, created_at, base_model_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      m.key,
      m.kind,
      m.name,
      m.dim,
      JSON.stringify(m.config),
      m.file,
      m.bytes,
      new Date().toISOString(),
      m.baseModelId ?? null,
    )
  return { model: getModel(db, Number(info.lastInsertRowid)), created: true }
}

/** Makes `id` the one active model (in one transaction). */
export function activateModel(db: Db, id: number): StoredModel {
  getModel(db, id)
  db.transaction(() => {
    db.prepare('UPDATE models SET active = 0 WHERE active = 1').run()
    db.prepare('UPDATE models SET active = 1 WHERE id = ?').run(id)
  })()
  return getModel(db, id)
}

/** Finds a model by id, or by a prefix of its key (at least 8 characters), or by exact name. */
export function resolveModel(db: Db, ref: string): StoredModel {
  if (/^\d+$/.test(ref)) return getModel(db, Number(ref))
  const models = listModels(db)
  const byName = models.filter((m) => m.name === ref)
  const byKey = ref.length >= 8 ? models.filter((m) => m.key.startsWith(ref)) : []
  const found = byName.length > 0 ? byName : byKey
  if (found.length === 1) return found[0]!
  const known = models.map((m) => `${m.id} ${m.name} (${m.key.slice(0, 12)})`).join('; ') || 'none'
  throw new LineupError(
    found.length > 1 ? 'conflict' : 'not-found',
    `${found.length > 1 ? 'several models match' : 'no model matches'} "${ref}"; models: ${known}`,
  )
}
