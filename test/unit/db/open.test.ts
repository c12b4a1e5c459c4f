import Database from 'better-sqlite3'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { migrate, openLibrary, SCHEMA_VERSION } from '../../../src-main/engine/db/open'
import { LineupError } from '../../../src-shared/errors'
import { tempDir } from '../../helpers/tmp'

const tmp = tempDir()
afterAll(() => tmp.dispose())
let n = 0
const file = (name: string) => join(tmp.path, `${++n}-${name}`)

/** Calls openLibrary expecting a refusal; returns the error. */
function refusal(path: string): LineupError {
  try {
    openLibrary(path).close()
  } catch (err) {
    expect(err).toBeInstanceOf(LineupError)
    return err as LineupError
  }
  throw new Error(`openLibrary(${path}) did not refuse the file`)
}

/** The file and its WAL/SHM siblings exactly as they are, to prove a refused file was not touched. */
function snapshot(path: string) {
  return {
    bytes: readFileSync(path),
    wal: existsSync(`${path}-wal`),
    shm: existsSync(`${path}-shm`),
  }
}

describe('openLibrary', () => {
  it('creates a new library at the current schema version', () => {
    const path = file('new.lineup')
    const db = openLibrary(path)
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION)
    } finally {
      db.close()
    }
  })

  it('refuses a library written by a newer Lineup and leaves it unchanged', () => {
    const path = file('future.lineup')
    const raw = new Database(path)
    raw.exec('CREATE TABLE crops (id INTEGER PRIMARY KEY, future_column TEXT)')
    raw.pragma('user_version = 99')
    raw.close()
    const before = snapshot(path)

    const err = refusal(path)
    expect(err.kind).toBe('database')
    expect(err.message).toMatch(/newer/)
    expect(err.message).toContain('99')
    expect(snapshot(path)).toEqual(before)
  })

  it('refuses a file that is not SQLite and leaves it unchanged', () => {
    const path = file('notes.lineup')
    writeFileSync(path, 'These are my case notes, not a database.\n'.repeat(200))
    const before = snapshot(path)

    const err = refusal(path)
    expect(err.kind).toBe('database')
    expect(err.message).toMatch(/not a Lineup library/)
    expect(snapshot(path)).toEqual(before)
  })

  // Other programs number their own schemas with user_version, so 1 must not pass for a library.
  it.each([0, 1])(
    'refuses an unrelated SQLite database (user_version %i) and leaves it unchanged',
    (version) => {
      const path = file('other-app.db')
      const raw = new Database(path)
      raw.exec(`CREATE TABLE contacts (name TEXT); INSERT INTO contacts VALUES ('Ada')`)
      raw.pragma(`user_version = ${version}`)
      raw.close()
      const before = snapshot(path)

      const err = refusal(path)
      expect(err.kind).toBe('database')
      expect(err.message).toMatch(/is an SQLite file but not a Lineup library. It was not changed/)
      expect(snapshot(path)).toEqual(before)
    },
  )

  it('with mustExist, refuses a missing file and does not create it', () => {
    const path = file('missing.lineup')
    expect(() => openLibrary(path, { mustExist: true })).toThrow(
      expect.objectContaining({ kind: 'not-found', message: expect.stringMatching(/library not found/) }),
    )
    expect(existsSync(path)).toBe(false)
  })

  it('builds an old schema from a prefix of the migrations', () => {
    const db = openLibrary(file('old.lineup'), { migrations: [] })
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(0)
    } finally {
      db.close()
    }
  })
})

describe('migrate', () => {
  const schema = (db: Database.Database) =>
    db.prepare('SELECT type, name, sql FROM sqlite_master ORDER BY type, name').all()

  it('is idempotent: re-running it and re-opening the library change nothing', () => {
    const path = file('twice.lineup')
    const db = openLibrary(path)
    db.prepare(`INSERT INTO cameras (name) VALUES ('c1')`).run()
    const first = schema(db)
    migrate(db)
    migrate(db)
    expect(schema(db)).toEqual(first)
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION)
    db.close()

    const again = openLibrary(path)
    try {
      expect(schema(again)).toEqual(first)
      expect(again.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION)
      expect(again.prepare('SELECT name FROM cameras').pluck().all()).toEqual(['c1'])
    } finally {
      again.close()
    }
  })
})
