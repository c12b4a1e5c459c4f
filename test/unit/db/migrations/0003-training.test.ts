import { join } from 'node:path'
import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { migration as m0001 } from '../../../../src-main/engine/db/migrations/0001-initial'
import { migration as m0002 } from '../../../../src-main/engine/db/migrations/0002-models-embeddings'
import { migration } from '../../../../src-main/engine/db/migrations/0003-training'
import type { Migration } from '../../../../src-main/engine/db/migrations/types'
import { migrate, openLibrary, type Db } from '../../../../src-main/engine/db/open'
import { rawDb } from '../../../helpers/db'
import { tempDir } from '../../../helpers/tmp'

/** Up to this migration: later ones (0004 …) are not this file's subject. */
const UP_TO_3 = [m0001, m0002, migration]

const tmp = tempDir()
afterAll(() => tmp.dispose())
let n = 0
const freshFile = () => join(tmp.path, `m0003-${++n}.lineup`)

const vec = (seed: number, dim = 4) =>
  Buffer.from(Float32Array.from({ length: dim }, (_, i) => seed + i).buffer)

/**
 * A schema-2 library with a gap in the model ids (model 2 deleted), so a rebuild that renumbered
 * the models would show: models 1 (ONNX, active) and 3 (built-in), 3 crops, and vectors of both
 * models for some of them.
 */
function schema2Library(path: string): void {
  const db = openLibrary(path, { migrations: [m0001, m0002] })
  try {
    expect(db.pragma('user_version', { simple: true })).toBe(2)
    db.prepare(`INSERT INTO sources (root, layout, created_at) VALUES ('/c', 'generic', 'now')`).run()
    db.prepare(
      `INSERT INTO jobs (kind, status, params, started_at) VALUES ('import', 'done', '{}', 'now')`,
    ).run()
    const crop = db.prepare(
      `INSERT INTO crops (source_id, rel_path, sha256, bytes, width, height, format, kind, identity, imported_at, job_id)
       VALUES (1, ?, ?, 1, 1, 1, 'jpeg', 'labelled', ?, 'now', 1)`,
    )
    for (let i = 1; i <= 3; i++) crop.run(`${i}.jpg`, String(i).repeat(64), `000${i}`)
    const model = db.prepare(
      `INSERT INTO models (id, key, kind, name, dim, config, file, bytes, created_at, active) VALUES (?, ?, ?, ?, 4, ?, ?, ?, 'then', ?)`,
    )
    model.run(1, 'a'.repeat(64), 'onnx', 'osnet', '{"inputSize":[256,128]}', '/m/a.onnx', 1234, 1)
    model.run(2, 'b'.repeat(64), 'onnx', 'gone', '{}', '/m/b.onnx', 1, 0)
    model.run(3, 'builtin:lomo-xqda@1', 'builtin', 'built-in', '{}', null, null, 0)
    db.prepare('DELETE FROM models WHERE id = 2').run()
    const put = db.prepare('INSERT INTO embeddings (model_id, crop_id, vector) VALUES (?, ?, ?)')
    put.run(1, 1, vec(1))
    put.run(1, 2, vec(2))
    put.run(1, 3, vec(3))
    put.run(3, 2, vec(20))
  } finally {
    db.close()
  }
}

const snapshot = (db: Db) => ({
  models: db
    .prepare(
      'SELECT id, key, kind, name, dim, config, file, bytes, created_at, active FROM models ORDER BY id',
    )
    .all(),
  embeddings: db.prepare('SELECT model_id, crop_id, vector FROM embeddings ORDER BY model_id, crop_id').all(),
  crops: db.prepare('SELECT * FROM crops ORDER BY id').all(),
})

describe('migration 0003-training', () => {
  it('is schema version 3, rebuilt with foreign keys off', () => {
    expect(migration.version).toBe(3)
    expect(migration.name).toBe('training')
    expect(migration.foreignKeysOff).toBe(true)
  })

  it('upgrades a schema-2 library keeping every model, crop and vector with its id', () => {
    const path = freshFile()
    schema2Library(path)
    const before = (() => {
      const db = rawDb(path, true)
      try {
        return snapshot(db)
      } finally {
        db.close()
      }
    })()
    expect(before.models.map((m) => (m as { id: number }).id)).toEqual([1, 3])
    expect(before.embeddings).toHaveLength(4)

    const db = openLibrary(path, { migrations: UP_TO_3 })
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(3)
      expect(snapshot(db)).toEqual(before)
      expect(db.prepare('SELECT count(*) FROM models WHERE base_model_id IS NOT NULL').pluck().get()).toBe(0)
      expect(db.pragma('foreign_key_check')).toEqual([])
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
      // The embeddings still refer to the (rebuilt) models table, not to a leftover name.
      const refs = db.pragma('foreign_key_list(embeddings)') as { table: string; from: string }[]
      expect(refs.map((r) => [r.from, r.table]).sort()).toEqual([
        ['crop_id', 'crops'],
        ['model_id', 'models'],
      ])
      expect(
        db
          .prepare(`SELECT count(*) FROM sqlite_master WHERE name = 'models_v3' OR sql LIKE '%models_v3%'`)
          .pluck()
          .get(),
      ).toBe(0)
    } finally {
      db.close()
    }
  })

  it('leaves foreign keys enforced after the upgrade', () => {
    const path = freshFile()
    schema2Library(path)
    const db = openLibrary(path, { migrations: UP_TO_3 })
    try {
      expect(db.pragma('foreign_keys', { simple: true })).toBe(1)
      const put = db.prepare('INSERT INTO embeddings (model_id, crop_id, vector) VALUES (?, ?, ?)')
      expect(() => put.run(2, 1, vec(0))).toThrow(/FOREIGN KEY/) // model 2 was deleted before
      expect(() => put.run(99, 1, vec(0))).toThrow(/FOREIGN KEY/)
      expect(() => put.run(1, 99, vec(0))).toThrow(/FOREIGN KEY/)
      // A model that has vectors cannot be deleted from under them.
      expect(() => db.prepare('DELETE FROM models WHERE id = 1').run()).toThrow(/FOREIGN KEY/)
      expect(put.run(3, 1, vec(30)).changes).toBe(1)
    } finally {
      db.close()
    }
  })

  it('keeps the single-active index on the rebuilt models table', () => {
    const path = freshFile()
    schema2Library(path)
    const db = openLibrary(path, { migrations: UP_TO_3 })
    try {
      expect(
        db
          .prepare(
            `SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'models_single_active'`,
          )
          .pluck()
          .get(),
      ).toBe(1)
      expect(() => db.prepare('UPDATE models SET active = 1 WHERE id = 3').run()).toThrow(/UNIQUE/)
      db.transaction(() => {
        db.prepare('UPDATE models SET active = 0 WHERE id = 1').run()
        db.prepare('UPDATE models SET active = 1 WHERE id = 3').run()
      })()
      expect(db.prepare('SELECT id FROM models WHERE active = 1').pluck().all()).toEqual([3])
    } finally {
      db.close()
    }
  })

  it('rolls back a foreign-keys-off step that would break a foreign key, leaving user_version as it was', () => {
    const path = freshFile()
    schema2Library(path)
    // A rebuild that forgets the ids (renumbers the models): vectors of model 3 would point at nothing.
    const renumbering: Migration = {
      version: 3,
      name: 'renumbering',
      foreignKeysOff: true,
      up: `
        CREATE TABLE models_new (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, name TEXT NOT NULL,
          dim INTEGER NOT NULL, config TEXT NOT NULL, file TEXT, bytes INTEGER, created_at TEXT NOT NULL,
          active INTEGER NOT NULL DEFAULT 0) STRICT;
        INSERT INTO models_new (key, kind, name, dim, config, file, bytes, created_at, active)
          SELECT key, kind, name, dim, config, file, bytes, created_at, active FROM models ORDER BY id;
        DROP TABLE models;
        ALTER TABLE models_new RENAME TO models;
        CREATE TABLE extra (x INTEGER) STRICT;
      `,
    }
    const db = openLibrary(path, { migrations: [m0001, m0002] })
    const before = snapshot(db)
    try {
      expect(() => migrate(db, [m0001, m0002, renumbering])).toThrow(
        /migration 3 \(renumbering\) would break 1 foreign key/,
      )
      expect(db.pragma('user_version', { simple: true })).toBe(2)
      expect(db.pragma('foreign_keys', { simple: true })).toBe(1)
      expect(snapshot(db)).toEqual(before)
      expect(
        db.prepare(`SELECT name FROM sqlite_master WHERE name IN ('models_new', 'extra')`).all(),
      ).toEqual([])
      expect(db.pragma('foreign_key_check')).toEqual([])
    } finally {
      db.close()
    }
    // Through openLibrary too: the file is refused and stays at version 2, then upgrades normally.
    expect(() => openLibrary(path, { migrations: [m0001, m0002, renumbering] })).toThrow(/would break/)
    const raw = rawDb(path, true)
    try {
      expect(raw.pragma('user_version', { simple: true })).toBe(2)
    } finally {
      raw.close()
    }
    const upgraded = openLibrary(path, { migrations: UP_TO_3 })
    try {
      expect(upgraded.pragma('user_version', { simple: true })).toBe(3)
      expect(snapshot(upgraded)).toEqual(before)
    } finally {
      upgraded.close()
    }
  })
})

describe('schema 3: heads and training runs', () => {
  let db: Db
  beforeEach(() => {
    db = openLibrary(freshFile(), { migrations: UP_TO_3 })
    db.prepare(
      `INSERT INTO models (id, key, kind, name, dim, config, created_at) VALUES (1, 'builtin:x@1', 'builtin', 'b', 4, '{}', 'now')`,
    ).run()
    return () => db.close()
  })
  const addModel = (key: string, kind: string, base: number | null, dim = 2) =>
    db
      .prepare(
        `INSERT INTO models (key, kind, name, dim, config, file, created_at, base_model_id) VALUES (?, ?, 'm', ?, '{}', NULL, 'now', ?)`,
      )
      .run(key, kind, dim, base)

  it('requires a base model for a head, and none for other kinds', () => {
    expect(() => addModel(`head:${'1'.repeat(64)}`, 'head', null)).toThrow(/CHECK/)
    expect(() => addModel('builtin:y@1', 'builtin', 1)).toThrow(/CHECK/)
    expect(() =>
      db
        .prepare(
          `INSERT INTO models (key, kind, name, dim, config, file, created_at, base_model_id) VALUES (?, 'onnx', 'm', 4, '{}', '/m/x.onnx', 'now', 1)`,
        )
        .run('c'.repeat(64)),
    ).toThrow(/CHECK/)
    expect(() => addModel(`head:${'2'.repeat(64)}`, 'head', 42)).toThrow(/FOREIGN KEY/)
    expect(addModel(`head:${'3'.repeat(64)}`, 'head', 1).changes).toBe(1)
    expect(() => addModel('other:1', 'lora', null)).toThrow(/CHECK/)
  })

  it("checks a head's weights are 4·(in+1)·out bytes, its hash 64 characters, its model known", () => {
    const head = Number(addModel(`head:${'4'.repeat(64)}`, 'head', 1).lastInsertRowid)
    const put = db.prepare(
      'INSERT INTO heads (model_id, in_dim, out_dim, weights, sha256) VALUES (?, ?, ?, ?, ?)',
    )
    expect(() => put.run(head, 4, 2, Buffer.alloc(4 * 5 * 2 - 4), '4'.repeat(64))).toThrow(/CHECK/)
    expect(() => put.run(head, 4, 2, Buffer.alloc(4 * 5 * 2 + 4), '4'.repeat(64))).toThrow(/CHECK/)
    expect(() => put.run(head, 4, 2, Buffer.alloc(4 * 4 * 2), '4'.repeat(64))).toThrow(/CHECK/) // no bias
    expect(() => put.run(head, 4, 2, Buffer.alloc(40), '4'.repeat(63))).toThrow(/CHECK/)
    expect(() => put.run(head, 0, 2, Buffer.alloc(8), '4'.repeat(64))).toThrow(/CHECK/)
    expect(() => put.run(999, 4, 2, Buffer.alloc(40), '4'.repeat(64))).toThrow(/FOREIGN KEY/)
    expect(put.run(head, 4, 2, Buffer.alloc(40), '4'.repeat(64)).changes).toBe(1)
    expect(() => put.run(head, 4, 2, Buffer.alloc(40), '4'.repeat(64))).toThrow(/UNIQUE|PRIMARY/)
  })

  it('makes every new table STRICT', () => {
    const strict = db
      .prepare(
        `SELECT name, strict FROM pragma_table_list WHERE schema = 'main' AND name NOT LIKE 'sqlite_%'`,
      )
      .all() as { name: string; strict: number }[]
    const names = ['models', 'heads', 'training_runs', 'training_steps', 'training_epochs']
    expect(strict.filter((t) => names.includes(t.name)).sort((a, b) => a.name.localeCompare(b.name))).toEqual(
      names.sort().map((name) => ({ name, strict: 1 })),
    )
    // STRICT: a value of the wrong type is refused, not stored as text.
    expect(() =>
      db
        .prepare(
          `INSERT INTO training_runs (base_model_id, status, loss, seed, config, started_at) VALUES (1, 'running', 'x', 'one', '{}', 'now')`,
        )
        .run(),
    ).toThrow(/cannot store TEXT value in INTEGER column/)
  })

  it('ties runs, steps and epochs to known models and runs, with a known status', () => {
    const run = db.prepare(
      `INSERT INTO training_runs (base_model_id, result_model_id, status, loss, seed, config, started_at) VALUES (?, ?, ?, 'rank-triplet', 1, '{}', 'now')`,
    )
    expect(() => run.run(1, null, 'paused')).toThrow(/CHECK/)
    expect(() => run.run(7, null, 'running')).toThrow(/FOREIGN KEY/)
    expect(() => run.run(1, 7, 'finished')).toThrow(/FOREIGN KEY/)
    const id = Number(run.run(1, null, 'running').lastInsertRowid)
    const step = db.prepare(
      `INSERT INTO training_steps (run_id, step, epoch, loss, batch_map, batch_r1, misranked, lr) VALUES (?, ?, 1, NULL, NULL, NULL, NULL, 0.001)`,
    )
    expect(step.run(id, 1).changes).toBe(1)
    expect(() => step.run(id, 1)).toThrow(/UNIQUE|PRIMARY/)
    expect(() => step.run(id + 1, 1)).toThrow(/FOREIGN KEY/)
    const epoch = db.prepare(
      `INSERT INTO training_epochs (run_id, epoch, step, seconds) VALUES (?, ?, 10, 1.5)`,
    )
    expect(epoch.run(id, 1).changes).toBe(1)
    expect(() => epoch.run(id + 1, 1)).toThrow(/FOREIGN KEY/)
  })
})
