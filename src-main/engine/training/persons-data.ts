/**
 * The analyst's labels as training data (issue #6): every person of interest is an identity made
 * of its query crop and the crops marked 'same'; crops marked 'different' are extra negatives for
 * that person. Features are the base model's stored vectors.
 */
import { LineupError } from '../../../src-shared/errors'
import type { Db } from '../db/open'
import type { StoredModel } from '../library/models'
import { labelledPersons } from '../library/persons'
import { storedVector } from '../library/vectors'
import { CenteringFit, type CameraCentering } from './centering'
import type { TrainData } from './trainer'

export interface PersonsData extends TrainData {
  cropIds: Int32Array
  persons: { personId: number; name: string; queryCropId: number; confirmed: number[]; rejected: number[] }[]
}

/** Persons with at least this many confirmed crops (query included) can be trained on. */
export const MIN_CONFIRMED = 2

/**
 * @throws LineupError 'invalid-input' when fewer than 2 persons have 2 confirmed crops with vectors,
 *   saying how many there are and what to do
 */
export function personsTrainingData(db: Db, base: StoredModel): PersonsData {
  const persons = labelledPersons(db)
  const vectorOf = db.prepare('SELECT vector FROM embeddings WHERE model_id = ? AND crop_id = ?')
  const rows: { cropId: number; identity: number; vector: Buffer }[] = []
  const negatives: { row: number; identity: number }[] = []
  const used = new Set<number>()
  const usable: PersonsData['persons'] = []
  let missingVectors = 0
  for (const p of persons) {
    const confirmed = p.confirmed.filter((c) => !used.has(c))
    const withVectors = confirmed
      .map((c) => ({ c, v: vectorOf.get(base.id, c) as { vector: Buffer } | undefined }))
      .filter((x) => {
        if (!x.v) missingVectors++
        return x.v !== undefined
      })
    if (withVectors.length < MIN_CONFIRMED) continue
    usable.push(p)
    for (const { c, v } of withVectors) {
      used.add(c)
      rows.push({ cropId: c, identity: p.personId, vector: v!.vector })
    }
  }
  if (usable.length < 2) {
    const shared = persons.filter((p) => p.confirmed.length >= MIN_CONFIRMED).length - usable.length
    throw new LineupError(
      'invalid-input',
      `fine-tuning needs at least 2 persons with ${MIN_CONFIRMED} confirmed crops each (the query counts as one); ` +
        `this library has ${usable.length} such person${usable.length === 1 ? '' : 's'} of ${persons.length}` +
        (missingVectors > 0
          ? ` (${missingVectors} confirmed crops have no vector from ${base.name} yet: embed the library)`
          : shared > 0
            ? ` (${shared} more ha${shared === 1 ? 's' : 've'} enough only by counting crops already confirmed for another person)`
            : '') +
        '. Search for more persons and mark their matches (Y) first.',
    )
  }
  const usableIds = new Set(usable.map((p) => p.personId))
  for (const p of persons) {
    if (!usableIds.has(p.personId)) continue
    for (const c of p.rejected) {
      const v = vectorOf.get(base.id, c) as { vector: Buffer } | undefined
      if (!v) continue
      negatives.push({ row: rows.length, identity: p.personId })
      rows.push({ cropId: c, identity: 0, vector: v.vector })
    }
  }
  const d = base.dim
  const features = new Float32Array(rows.length * d)
  rows.forEach((r, i) => features.set(storedVector(base, r.cropId, r.vector), i * d))
  const cams = db.prepare('SELECT camera_id FROM crops WHERE id = ?').pluck()
  return {
    features,
    dim: d,
    identities: Int32Array.from(rows, (r) => r.identity),
    cams: Int32Array.from(rows, (r, i) => (cams.get(r.cropId) as number | null) ?? -(i + 1)),
    negatives,
    cropIds: Int32Array.from(rows, (r) => r.cropId),
    persons: usable,
  }
}

/**
 * Up to `max` of the base model's vectors with their crop ids, evenly spread over the library (by
 * crop id): what the head's initial principal axes and the camera means are computed from.
 */
export function sampleRows(
  db: Db,
  base: StoredModel,
  max: number,
): { cropIds: Int32Array; vectors: Float32Array } {
  const total = db
    .prepare('SELECT count(*) FROM embeddings WHERE model_id = ?')
    .pluck()
    .get(base.id) as number
  const every = Math.max(1, Math.ceil(total / max))
  const d = base.dim
  const rows: { id: number; v: Float32Array }[] = []
  let i = 0
  for (const r of db
    .prepare('SELECT crop_id, vector FROM embeddings WHERE model_id = ? ORDER BY crop_id')
    .iterate(base.id) as Iterable<{ crop_id: number; vector: Buffer }>) {
    if (i++ % every !== 0) continue
    rows.push({
      id: r.crop_id,
      v: storedVector(base, r.crop_id, r.vector),
    })
  }
  const vectors = new Float32Array(rows.length * d)
  rows.forEach((r, k) => vectors.set(r.v, k * d))
  return { cropIds: Int32Array.from(rows, (r) => r.id), vectors }
}

/** The camera name of each crop (null when it has none), in the order given. */
export function cameraNames(db: Db, cropIds: ArrayLike<number>): (string | null)[] {
  const q = db
    .prepare(
      'SELECT cameras.name FROM crops LEFT JOIN cameras ON cameras.id = crops.camera_id WHERE crops.id = ?',
    )
    .pluck()
  return Array.from(cropIds, (id) => (q.get(id) as string | null | undefined) ?? null)
}

/**
 * The camera centering of a library (training/centering.ts): the means of every vector `base`
 * has, streamed in crop order, so every camera with enough crops gets its own mean however large
 * the library is.
 */
export function libraryCentering(db: Db, base: StoredModel): CameraCentering {
  const fit = new CenteringFit(base.dim)
  for (const r of db
    .prepare(
      `SELECT e.crop_id, e.vector, cameras.name AS camera FROM embeddings e
       JOIN crops ON crops.id = e.crop_id LEFT JOIN cameras ON cameras.id = crops.camera_id
       WHERE e.model_id = ? ORDER BY e.crop_id`,
    )
    .iterate(base.id) as Iterable<{ crop_id: number; vector: Buffer; camera: string | null }>) {
    fit.add(storedVector(base, r.crop_id, r.vector), r.camera)
  }
  return fit.finish()
}
