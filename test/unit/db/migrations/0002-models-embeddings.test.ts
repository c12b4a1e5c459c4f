import { join } from 'node:path'
import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { migration as m0001 } from '../../../../src-main/engine/db/migrations/0001-initial'
import { migration } from '../../../../src-main/engine/db/migrations/0002-models-embeddings'
import { openLibrary, type Db } from '../../../../src-main/engine/db/open'
import { tempDir } from '../../../helpers/tmp'

const tmp = tempDir()
afterAll(() => tmp.dispose())
let n = 0
const freshFile = () => join(tmp.path, `m0002-${++n}.lineup`)

describe('migration 0002-models-embeddings', () => {
  it('is schema version 2 and upgrades a schema-1 library that already holds crops', () => {
    expect(migration.version).toBe(2)
    const path = freshFile()
    const v1 = openLibrary(path, { migrations: [m0001] })
    v1.prepare(`INSERT INTO sources (root, layout, created_at) VALUES ('/c', 'generic', 'now')`).run()
    v1.close()
    const db = openLibrary(path, { migrations: [m0001, migration] })
    expect(db.pragma('user_version', { simple: true })).toBe(2)
    expect(db.prepare('SELECT count(*) FROM sources').pluck().get()).toBe(1)
    const strict = db
      .prepare(`SELECT name, strict FROM pragma_table_list WHERE name IN ('models', 'embeddings')`)
      .all()
    expect(strict).toEqual(
      expect.arrayContaining([
        { name: 'models', strict: 1 },
        { name: 'embeddings', strict: 1 },
      ]),
    )
    db.close()
  })
})

describe('models and embeddings tables', () => {
  let db: Db
  beforeEach(() => {
    db = openLibrary(freshFile())
    return () => db.close()
  })
  const addModel = (key: string, kind: 'onnx' | 'builtin', file: string | null, active = 0) =>
    db
      .prepare(
        `INSERT INTO models (key, kind, name, dim, config, file, created_at, active) VALUES (?, ?, 'm', 4, '{}', ?, 'now', ?)`,
      )
      .run(key, kind, file, active)

  it('keeps at most one model active', () => {
    addModel('a'.repeat(64), 'onnx', '/m/a.onnx', 1)
    expect(() => addModel('builtin:stripes@1', 'builtin', null, 1)).toThrow(/UNIQUE/)
    expect(addModel('builtin:stripes@1', 'builtin', null, 0).changes).toBe(1)
  })

  it('requires a stored file for ONNX models and none for built-in ones', () => {
    expect(() => addModel('b'.repeat(64), 'onnx', null)).toThrow(/CHECK/)
    expect(() => addModel('builtin:x@1', 'builtin', '/m/x.onnx')).toThrow(/CHECK/)
  })

  it('stores one vector per model and crop, and refuses vectors of unknown models or crops', () => {
    const model = Number(addModel('c'.repeat(64), 'onnx', '/m/c.onnx').lastInsertRowid)
    db.prepare(`INSERT INTO sources (root, layout, created_at) VALUES ('/c', 'generic', 'now')`).run()
    db.prepare(
      `INSERT INTO jobs (kind, status, params, started_at) VALUES ('import', 'done', '{}', 'now')`,
    ).run()
    db.prepare(
      `INSERT INTO crops (source_id, rel_path, sha256, bytes, width, height, format, kind, imported_at, job_id)
       VALUES (1, 'a.jpg', ?, 1, 1, 1, 'jpeg', 'unlabelled', 'now', 1)`,
    ).run('d'.repeat(64))
    const put = db.prepare('INSERT INTO embeddings (model_id, crop_id, vector) VALUES (?, ?, ?)')
    put.run(model, 1, Buffer.alloc(16))
    expect(() => put.run(model, 1, Buffer.alloc(16))).toThrow(/UNIQUE|PRIMARY/)
    expect(() => put.run(model + 1, 1, Buffer.alloc(16))).toThrow(/FOREIGN KEY/)
    expect(() => put.run(model, 2, Buffer.alloc(16))).toThrow(/FOREIGN KEY/)
  })
})
