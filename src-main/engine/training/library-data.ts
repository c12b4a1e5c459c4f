/**
 * The training data of a library (`lineup train --db`): every labelled crop (an identity from its
 * file name or an analyst's label) that has a vector from the base model, with its camera.
 */
import { createHash } from 'node:crypto'
import { LineupError } from '../../../src-shared/errors'
import type { Db } from '../db/open'
import type { StoredModel } from '../library/models'
import { storedVector } from '../library/vectors'
import type { TrainData } from './trainer'

export function libraryTrainingData(
  db: Db,
  base: StoredModel,
): TrainData & { key: string; cropIds: Int32Array } {
  const labelled = db
    .prepare(`SELECT count(*) FROM crops WHERE kind = 'labelled' AND identity IS NOT NULL`)
    .pluck()
    .get() as number
  const rows = db
    .prepare(
      `SELECT crops.id, crops.identity, crops.camera_id, e.vector FROM crops
       JOIN embeddings e ON e.crop_id = crops.id AND e.model_id = ?
       WHERE crops.kind = 'labelled' AND crops.identity IS NOT NULL
       ORDER BY crops.id`,
    )
    .all(base.id) as { id: number; identity: string; camera_id: number | null; vector: Buffer }[]
  if (labelled === 0)
    throw new LineupError(
      'invalid-input',
      'this library has no labelled crops to train on: import crops with identities, or mark matches first',
    )
  if (rows.length === 0)
    throw new LineupError(
      'invalid-input',
      `none of the ${labelled} labelled crops has a vector from ${base.name}: run lineup embed first`,
    )
  const ids = new Map<string, number>()
  const features = new Float32Array(rows.length * base.dim)
  const identities = new Int32Array(rows.length)
  const cams = new Int32Array(rows.length)
  const cropIds = new Int32Array(rows.length)
  const hash = createHash('sha256')
  rows.forEach((r, i) => {
    let id = ids.get(r.identity)
    if (id === undefined) ids.set(r.identity, (id = ids.size + 1))
    identities[i] = id
    cams[i] = r.camera_id ?? -(i + 1)
    cropIds[i] = r.id
    features.set(storedVector(base, r.id, r.vector), i * base.dim)
    hash.update(`${r.id}\t${r.identity}\t${r.camera_id}\n`)
  })
  return { features, dim: base.dim, identities, cams, key: hash.digest('hex'), cropIds }
}
