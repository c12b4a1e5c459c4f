import Database from 'better-sqlite3'
import { mkdirSync, existsSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { LineupError } from '../../../src-shared/errors'
import { migrations, SCHEMA_VERSION } from './migrations/index'
import type { Migration } from './migrations/types'

export type Db = Database.Database

export interface OpenOptions {
  /** Refuse to create a new file (for read-only commands). Default false. */
  mustExist?: boolean
  /** Migrations to apply; tests pass a prefix to build an old schema. Default: all. */
  migrations?: readonly Migration[]
}

/**
 * Opens (and creates or migrates) a library file: WAL journal, foreign keys on, busy timeout so a
 * CLI import and the app can share the file. A file written by a newer Lineup is refused untouched.
 */
export function openLibrary(path: string, options: OpenOptions = {}): Db {
  const file = resolve(path)
  if (options.mustExist && !existsSync(file)) {
    throw new LineupError(
      'not-found',
      `library not found: ${file}. Import a folder first (lineup import <folder> --db ${path}).`,
    )
  }
  mkdirSync(dirname(file), { recursive: true })
  let db: Db
  try {
    // Under Electron, a build of better-sqlite3 for Electron's ABI (see src-main/electron/native-setup.ts).
    const nativeBinding = process.env.LINEUP_SQLITE_BINDING
    db = new Database(file, nativeBinding ? { nativeBinding } : {})
  } catch (err) {
    throw new LineupError('database', `cannot open library ${file}: ${(err as Error).message}`)
  }
  try {
    db.pragma('busy_timeout = 10000')
    checkIsSqlite(db, file)
    const steps = options.migrations ?? migrations
    refuseNewer(db, file, steps.length)
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
    db.pragma('foreign_keys = ON')
    migrate(db, steps)
    return db
  } catch (err) {
    db.close()
    throw err
  }
}

function checkIsSqlite(db: Db, file: string): void {
  try {
    db.pragma('schema_version', { simple: true })
  } catch {
    throw new LineupError(
      'database',
      `${file} is not a Lineup library (not an SQLite database). Choose another file.`,
    )
  }
}

function refuseNewer(db: Db, file: string, known: number): void {
  const version = db.pragma('user_version', { simple: true }) as number
  if (version > known) {
    throw new LineupError(
      'database',
      `${file} was written by a newer Lineup (schema ${version}; this version knows up to ${known}). ` +
        'It was not opened or changed. Update Lineup to open it.',
    )
  }
  const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all() as string[]
  // Other programs number their schemas with user_version too, so a version is not proof: a
  // library at version ≥ 1 has the tables of 0001-initial; at version 0 it is still empty.
  const isLibrary = version === 0 ? tables.length === 0 : LIBRARY_TABLES.every((t) => tables.includes(t))
  if (!isLibrary) {
    throw new LineupError(
      'database',
      `${file} is an SQLite file but not a Lineup library. It was not changed.`,
    )
  }
}

/** Tables every schema version has (created by 0001-initial). */
const LIBRARY_TABLES = ['sources', 'crops', 'jobs', 'audit_log']

/** Applies every pending migration, each in its own transaction together with its `user_version`. */
export function migrate(db: Db, steps: readonly Migration[] = migrations): void {
  const current = db.pragma('user_version', { simple: true }) as number
  for (const step of steps) {
    if (step.version <= current) continue
    // foreign_keys cannot change inside a transaction: switch it around the step.
    if (step.foreignKeysOff) db.pragma('foreign_keys = OFF')
    try {
      db.transaction(() => {
        db.exec(step.up)
        if (step.foreignKeysOff) {
          const broken = db.pragma('foreign_key_check') as unknown[]
          if (broken.length > 0)
            throw new Error(
              `migration ${step.version} (${step.name}) would break ${broken.length} foreign keys`,
            )
        }
        db.pragma(`user_version = ${step.version}`)
      }).immediate()
    } finally {
      if (step.foreignKeysOff) db.pragma('foreign_keys = ON')
    }
  }
}

export { SCHEMA_VERSION }
