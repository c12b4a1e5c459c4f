import { join } from 'node:path'
import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { appendAudit, readAudit, verifyAudit } from '../../../../src-main/engine/audit/log'
import { migration as m0001 } from '../../../../src-main/engine/db/migrations/0001-initial'
import { migration as m0002 } from '../../../../src-main/engine/db/migrations/0002-models-embeddings'
import { migration as m0003 } from '../../../../src-main/engine/db/migrations/0003-training'
import { migration } from '../../../../src-main/engine/db/migrations/0004-persons-marks'
import { openLibrary, SCHEMA_VERSION, type Db } from '../../../../src-main/engine/db/open'
import { rawDb } from '../../../helpers/db'
import { tempDir } from '../../../helpers/tmp'

const UP_TO_3 = [m0001, m0002, m0003]
const UP_TO_4 = [...UP_TO_3, migration]

const tmp = tempDir()
afterAll(() => tmp.dispose())
let n = 0
const freshFile = () => join(tmp.path, `m0004-${++n}.lineup`)

const head = (db: Db) => db.prepare('SELECT one, seq, hash FROM audit_head').all()

/** One source, one import job and `count` crops (ids 1..count). */
function addCrops(db: Db, count: number): void {
  db.prepare(`INSERT INTO sources (root, layout, created_at) VALUES ('/c', 'generic', 'now')`).run()
  db.prepare(
    `INSERT INTO jobs (kind, status, params, started_at) VALUES ('import', 'done', '{}', 'now')`,
  ).run()
  const crop = db.prepare(
    `INSERT INTO crops (source_id, rel_path, sha256, bytes, width, height, format, kind, imported_at, job_id)
     VALUES (1, ?, ?, 1, 1, 1, 'png', 'unlabelled', 'now', 1)`,
  )
  for (let i = 1; i <= count; i++) crop.run(`${i}.png`, i.toString(16).padStart(64, '0'))
}

describe('migration 0004-persons-marks', () => {
  it('is schema version 4 and upgrades a schema-3 library with audit entries, recording its head', () => {
    expect(migration.version).toBe(4)
    const path = freshFile()
    const v3 = openLibrary(path, { migrations: UP_TO_3 })
    expect(v3.pragma('user_version', { simple: true })).toBe(3)
    addCrops(v3, 2)
    appendAudit(v3, 'analyst', 'import', { root: '/c', imported: 2 })
    appendAudit(v3, 'analyst', 'search', { cropIds: [1] })
    const last = appendAudit(v3, 'analyst', 'export', { crops: [1, 2] })
    expect(verifyAudit(v3)).toEqual({ ok: true, entries: 3, headHash: last.hash })
    v3.close()

    const db = openLibrary(path, { migrations: UP_TO_4 })
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(4)
      expect(head(db)).toEqual([{ one: 1, seq: 3, hash: last.hash }])
      expect(db.prepare('SELECT count(*) FROM crops').pluck().get()).toBe(2)
      expect(verifyAudit(db)).toEqual({ ok: true, entries: 3, headHash: last.hash })
      const strict = db
        .prepare(
          `SELECT name, strict FROM pragma_table_list WHERE name IN ('persons', 'marks', 'audit_head') ORDER BY name`,
        )
        .all()
      expect(strict).toEqual([
        { name: 'audit_head', strict: 1 },
        { name: 'marks', strict: 1 },
        { name: 'persons', strict: 1 },
      ])
    } finally {
      db.close()
    }
  })

  it("records an empty log's head as seq 0 and an empty hash, and the intact empty log verifies", () => {
    const path = freshFile()
    openLibrary(path, { migrations: UP_TO_3 }).close()
    const db = openLibrary(path, { migrations: UP_TO_4 })
    try {
      expect(head(db)).toEqual([{ one: 1, seq: 0, hash: '' }])
      expect(verifyAudit(db)).toMatchObject({ ok: true, entries: 0 })
    } finally {
      db.close()
    }
  })

  it('gives a brand-new library the same head row (all migrations on an empty file)', () => {
    const db = openLibrary(freshFile())
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION)
      expect(head(db)).toEqual([{ one: 1, seq: 0, hash: '' }])
    } finally {
      db.close()
    }
  })
})

describe('persons, marks and audit_head tables', () => {
  let db: Db
  let path: string
  beforeEach(() => {
    path = freshFile()
    db = openLibrary(path)
    addCrops(db, 3)
    return () => db.close()
  })

  const addPerson = (queryCrop: number, name = 'P') =>
    db
      .prepare(
        `INSERT INTO persons (name, query_crop_id, created_at, created_by, updated_at) VALUES (?, ?, 'now', 'a', 'now')`,
      )
      .run(name, queryCrop)
  const addMark = (person: number, crop: number, verdict = 'same', auditSeq = 1) =>
    db
      .prepare(
        `INSERT INTO marks (person_id, crop_id, verdict, analyst, marked_at, audit_seq) VALUES (?, ?, ?, 'a', 'now', ?)`,
      )
      .run(person, crop, verdict, auditSeq)

  it('audit_head follows every append', () => {
    for (let i = 1; i <= 4; i++) {
      const e = appendAudit(db, 'analyst', 'note', { i })
      expect(head(db)).toEqual([{ one: 1, seq: e.seq, hash: e.hash }])
      expect(e.seq).toBe(i)
    }
    expect(readAudit(db).at(-1)!.hash).toBe((head(db)[0] as { hash: string }).hash)
  })

  it('keeps exactly one head row', () => {
    expect(() => db.prepare(`INSERT INTO audit_head (one, seq, hash) VALUES (2, 0, '')`).run()).toThrow(
      /CHECK/,
    )
    expect(() => db.prepare(`INSERT INTO audit_head (one, seq, hash) VALUES (1, 0, '')`).run()).toThrow(
      /UNIQUE|PRIMARY/,
    )
  })

  it('refuses to change or delete a mark (append-only), with a message that says what to do', () => {
    addPerson(1)
    addMark(1, 2)
    expect(() => db.prepare(`UPDATE marks SET verdict = 'different'`).run()).toThrow(
      'marks are append-only: mark again or undo',
    )
    expect(() => db.prepare('DELETE FROM marks').run()).toThrow('marks are append-only: mark again or undo')
    expect(db.prepare('SELECT verdict FROM marks').pluck().all()).toEqual(['same'])
    // Not even through a plain connection: the guard is in the file.
    const raw = rawDb(path)
    try {
      expect(() => raw.prepare('DELETE FROM marks').run()).toThrow(/append-only/)
    } finally {
      raw.close()
    }
  })

  it('enforces foreign keys: a mark of an unknown person or crop, a person of an unknown crop', () => {
    addPerson(1)
    expect(() => addMark(2, 2)).toThrow(/FOREIGN KEY/)
    expect(() => addMark(1, 99)).toThrow(/FOREIGN KEY/)
    expect(() => addPerson(99)).toThrow(/FOREIGN KEY/)
    expect(() =>
      db
        .prepare(
          `INSERT INTO marks (person_id, crop_id, verdict, analyst, marked_at, undo_of, audit_seq) VALUES (1, 2, 'same', 'a', 'now', 42, 1)`,
        )
        .run(),
    ).toThrow(/FOREIGN KEY/)
    expect(addMark(1, 2).changes).toBe(1)
    expect(db.prepare('SELECT count(*) FROM marks').pluck().get()).toBe(1)
  })

  it('accepts only the four verdicts, non-empty names, and STRICT types', () => {
    addPerson(1)
    for (const v of ['same', 'different', 'unsure', 'cleared']) expect(addMark(1, 2, v).changes).toBe(1)
    expect(() => addMark(1, 2, 'maybe')).toThrow(/CHECK/)
    expect(() => addPerson(1, '')).toThrow(/CHECK/)
    expect(() => addPerson(1, 'x'.repeat(201))).toThrow(/CHECK/)
    expect(() => addMark(1, 2, 'same', 'one' as unknown as number)).toThrow(/cannot store TEXT value/)
  })
})
