/**
 * Migration 0005: heads gain camera centering columns; a schema-4 library's heads keep their
 * weights, SHA-256 and vectors, and read back without centering.
 */
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { migration as m0001 } from '../../../../src-main/engine/db/migrations/0001-initial'
import { migration as m0002 } from '../../../../src-main/engine/db/migrations/0002-models-embeddings'
import { migration as m0003 } from '../../../../src-main/engine/db/migrations/0003-training'
import { migration as m0004 } from '../../../../src-main/engine/db/migrations/0004-persons-marks'
import { migration } from '../../../../src-main/engine/db/migrations/0005-head-centering'
import { openLibrary } from '../../../../src-main/engine/db/open'
import { loadHead, saveHeadModel } from '../../../../src-main/engine/library/heads'
import { getModel, insertModel } from '../../../../src-main/engine/library/models'
import { headHash } from '../../../../src-main/engine/training/head'
import { tempDir } from '../../../helpers/tmp'

const UP_TO_4 = [m0001, m0002, m0003, m0004]
const tmp = tempDir()
afterAll(() => tmp.dispose())

const head = {
  inDim: 2,
  outDim: 2,
  W: Float32Array.from([1, 0.5, -0.25, 1]),
  b: Float32Array.from([0, 0.125]),
}

describe('migration 0005-head-centering', () => {
  it('is schema version 5 and keeps a schema-4 head as it was (no centering, same hash)', () => {
    expect(migration.version).toBe(5)
    const path = join(tmp.path, 'm0005.lineup')
    const v4 = openLibrary(path, { migrations: UP_TO_4 })
    const base = insertModel(v4, {
      key: 'builtin:t@1',
      kind: 'builtin',
      name: 'base',
      dim: 2,
      config: {},
      file: null,
      bytes: null,
    }).model
    // A schema-4 heads row, written as that version wrote it.
    const model = insertModel(v4, {
      key: `head:${headHash(head)}`,
      kind: 'head',
      name: 'old head',
      dim: 2,
      config: {},
      file: null,
      bytes: null,
      baseModelId: base.id,
    }).model
    const bytes = Buffer.concat([Buffer.from(head.W.buffer), Buffer.from(head.b.buffer)])
    v4.prepare('INSERT INTO heads (model_id, in_dim, out_dim, weights, sha256) VALUES (?, 2, 2, ?, ?)').run(
      model.id,
      bytes,
      headHash(head),
    )
    v4.close()

    const db = openLibrary(path)
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(5)
      const back = loadHead(db, getModel(db, model.id))
      expect(back.centering).toBeUndefined()
      expect(Array.from(back.W)).toEqual(Array.from(head.W))
      expect(headHash(back)).toBe(headHash(head))
      // A centered head of the same weights is a new version beside it.
      const centering = { dim: 2, cameras: ['c1'], means: Float32Array.from([0.1, 0.2, 0.3, 0.4]) }
      const saved = saveHeadModel(
        db,
        getModel(db, base.id),
        { ...head, centering },
        {
          name: 'centred',
          loss: 'rank-triplet',
          seed: 1,
          runId: null,
        },
      )
      expect(saved.created).toBe(true)
      expect(loadHead(db, saved.model).centering).toEqual(centering)
      // The columns refuse means that are not whole rows of in_dim floats, empty means, and names
      // without means or means without names.
      const set = (sql: string) => () =>
        db.prepare(`UPDATE heads SET ${sql} WHERE model_id = ?`).run(saved.model.id)
      expect(set('center_means = zeroblob(6)')).toThrow(/CHECK constraint failed/)
      expect(set('center_means = zeroblob(0)')).toThrow(/CHECK constraint failed/)
      expect(set('center_means = NULL')).toThrow(/CHECK constraint failed/)
      expect(set('center_cameras = NULL')).toThrow(/CHECK constraint failed/)
      expect(loadHead(db, saved.model).centering).toEqual(centering)
    } finally {
      db.close()
    }
  })
})
