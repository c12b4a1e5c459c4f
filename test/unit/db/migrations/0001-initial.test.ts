import Database from 'better-sqlite3'
import { join } from 'node:path'
import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { migration } from '../../../../src-main/engine/db/migrations/0001-initial'
import { migrate, openLibrary, type Db } from '../../../../src-main/engine/db/open'
import { tempDir } from '../../../helpers/tmp'

const tmp = tempDir()
afterAll(() => tmp.dispose())

let n = 0
const freshFile = () => join(tmp.path, `m0001-${++n}.lineup`)

const TABLES = ['sources', 'cameras', 'crops', 'thumbs', 'jobs', 'audit_log']

describe('migration 0001-initial', () => {
  it('is schema version 1', () => {
    expect(migration.version).toBe(1)
    expect(migration.name).toBe('initial')
  })

  it('creates every library table as STRICT and sets user_version = 1 on a fresh file', () => {
    const db = new Database(freshFile())
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(0)
      migrate(db, [migration])
      expect(db.pragma('user_version', { simple: true })).toBe(1)
      const tables = db.pragma('table_list') as {
        schema: string
        name: string
        type: string
        strict: number
      }[]
      const ours = tables.filter((t) => t.schema === 'main' && !t.name.startsWith('sqlite_'))
      expect(ours.map((t) => t.name).sort()).toEqual([...TABLES].sort())
      for (const t of ours) expect({ name: t.name, strict: t.strict }).toEqual({ name: t.name, strict: 1 })
    } finally {
      db.close()
    }
  })

  it('creates the crop indexes and the append-only triggers', () => {
    const db = new Database(freshFile())
    try {
      migrate(db, [migration])
      const names = (type: string) =>
        db.prepare('SELECT name FROM sqlite_master WHERE type = ? ORDER BY name').pluck().all(type)
      expect(names('index')).toEqual(expect.arrayContaining(['crops_camera', 'crops_identity']))
      expect(names('trigger')).toEqual(['audit_log_no_delete', 'audit_log_no_update'])
    } finally {
      db.close()
    }
  })

  it('rolls back entirely when the step fails (user_version stays 0, no table left behind)', () => {
    const db = new Database(freshFile())
    try {
      // A clash half-way through: sources, cameras and jobs are created before crops fails.
      db.exec('CREATE TABLE crops (x ANY) STRICT')
      expect(() => migrate(db, [migration])).toThrow(/already exists/)
      expect(db.pragma('user_version', { simple: true })).toBe(0)
      const left = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all()
      expect(left).toEqual(['crops'])
    } finally {
      db.close()
    }
  })
})

describe('a library opened with openLibrary', () => {
  let db: Db
  beforeEach(() => {
    // Schema 1 exactly as this migration leaves it (later migrations have their own tests).
    db = openLibrary(freshFile(), { migrations: [migration] })
    return () => db.close()
  })

  it('runs in WAL mode with foreign keys enforced', () => {
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1)
    expect(db.pragma('user_version', { simple: true })).toBe(1)
  })

  const seed = () => {
    const source = db
      .prepare(`INSERT INTO sources (root, layout, created_at) VALUES ('/crops', 'generic', 'now')`)
      .run().lastInsertRowid
    const job = db
      .prepare(
        `INSERT INTO jobs (kind, status, params, started_at) VALUES ('import', 'running', '{}', 'now')`,
      )
      .run().lastInsertRowid
    return { source, job }
  }
  const insertCrop = (values: { source: unknown; job: unknown; sha256: string; kind: string }) =>
    db
      .prepare(
        `INSERT INTO crops (source_id, rel_path, sha256, bytes, width, height, format, kind, imported_at, job_id)
         VALUES (@source, @rel, @sha256, 10, 64, 128, 'jpeg', @kind, 'now', @job)`,
      )
      .run({ rel: `${values.sha256.slice(0, 8)}.jpg`, ...values })

  it('accepts a well-formed crop', () => {
    const ids = seed()
    expect(insertCrop({ ...ids, sha256: 'a'.repeat(64), kind: 'labelled' }).changes).toBe(1)
  })

  it('refuses a sha256 that is not 64 characters', () => {
    const ids = seed()
    expect(() => insertCrop({ ...ids, sha256: 'abc', kind: 'labelled' })).toThrow(/CHECK constraint failed/)
  })

  it('refuses an unknown crop kind and an unknown job status', () => {
    const ids = seed()
    expect(() => insertCrop({ ...ids, sha256: 'b'.repeat(64), kind: 'suspect' })).toThrow(
      /CHECK constraint failed/,
    )
    expect(() =>
      db
        .prepare(
          `INSERT INTO jobs (kind, status, params, started_at) VALUES ('import', 'paused', '{}', 'now')`,
        )
        .run(),
    ).toThrow(/CHECK constraint failed/)
  })

  it('refuses a value of the wrong type (STRICT)', () => {
    const ids = seed()
    expect(() =>
      db
        .prepare(
          `INSERT INTO crops (source_id, rel_path, sha256, bytes, width, height, format, kind, imported_at, job_id)
           VALUES (?, 'x.jpg', ?, 'ten', 64, 128, 'jpeg', 'labelled', 'now', ?)`,
        )
        .run(ids.source, 'c'.repeat(64), ids.job),
    ).toThrow(/cannot store TEXT value in INTEGER column/)
  })

  it('refuses a crop whose source does not exist (foreign key)', () => {
    const { job } = seed()
    expect(() => insertCrop({ source: 999, job, sha256: 'd'.repeat(64), kind: 'labelled' })).toThrow(
      /FOREIGN KEY constraint failed/,
    )
  })

  it('keeps audit_log append-only: UPDATE and DELETE are refused', () => {
    db.prepare(
      `INSERT INTO audit_log (at, actor, action, details, prev_hash, hash) VALUES ('now', 'analyst', 'import', '{}', ?, ?)`,
    ).run('0'.repeat(64), 'e'.repeat(64))
    expect(() => db.prepare(`UPDATE audit_log SET action = 'nothing'`).run()).toThrow(/append-only/)
    expect(() => db.prepare('DELETE FROM audit_log').run()).toThrow(/append-only/)
    expect(db.prepare('SELECT action FROM audit_log').pluck().all()).toEqual(['import'])
  })
})
