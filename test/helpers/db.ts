import Database from 'better-sqlite3'

/** A plain connection to a library file, without Lineup's migrations (to inspect or tamper with it). */
export function rawDb(path: string, readonly = false): Database.Database {
  return new Database(path, { readonly, fileMustExist: true })
}

/** `PRAGMA integrity_check` of a library file, 'ok' when sound. */
export function integrity(path: string): string {
  const db = rawDb(path, true)
  try {
    return (db.pragma('integrity_check') as { integrity_check: string }[])
      .map((r) => r.integrity_check)
      .join('; ')
  } finally {
    db.close()
  }
}

/** Facts about a library file that the import tests check together. */
export interface LibraryFacts {
  crops: number
  thumbs: number
  cropsWithoutThumb: number
  duplicateSha: number
  duplicatePaths: number
  jobs: { id: number; status: string; summary: string | null; params: string }[]
  auditActions: string[]
}

export function libraryFacts(path: string): LibraryFacts {
  const db = rawDb(path, true)
  try {
    const n = (sql: string) => db.prepare(sql).pluck().get() as number
    return {
      crops: n('SELECT count(*) FROM crops'),
      thumbs: n('SELECT count(*) FROM thumbs'),
      cropsWithoutThumb: n(
        'SELECT count(*) FROM crops LEFT JOIN thumbs ON thumbs.crop_id = crops.id WHERE thumbs.crop_id IS NULL',
      ),
      duplicateSha: n('SELECT count(*) FROM (SELECT sha256 FROM crops GROUP BY sha256 HAVING count(*) > 1)'),
      duplicatePaths: n(
        'SELECT count(*) FROM (SELECT source_id, rel_path FROM crops GROUP BY source_id, rel_path HAVING count(*) > 1)',
      ),
      jobs: db
        .prepare('SELECT id, status, summary, params FROM jobs ORDER BY id')
        .all() as LibraryFacts['jobs'],
      auditActions: db.prepare('SELECT action FROM audit_log ORDER BY seq').pluck().all() as string[],
    }
  } finally {
    db.close()
  }
}
