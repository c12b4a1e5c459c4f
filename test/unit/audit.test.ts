import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { appendAudit, GENESIS_HASH, readAudit, verifyAudit } from '../../src-main/engine/audit/log'
import { openLibrary, type Db } from '../../src-main/engine/db/open'
import { rawDb } from '../helpers/db'
import { tempDir } from '../helpers/tmp'

const tmp = tempDir()
afterAll(() => tmp.dispose())

let n = 0
let path: string
let db: Db
beforeEach(() => {
  path = join(tmp.path, `audit-${++n}.lineup`)
  db = openLibrary(path)
  appendAudit(db, 'analyst', 'import', { root: '/cases/a', imported: 10 })
  appendAudit(db, 'analyst', 'import', { root: '/cases/b', imported: 4 })
  appendAudit(db, 'analyst', 'export', { crops: [1, 2] })
  return () => db.close()
})

/** Tampering as someone with the file and an SQLite shell would: drop the guards, then edit. */
function tamper(sql: string): void {
  const raw = rawDb(path)
  try {
    raw.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;')
    raw.exec(sql)
  } finally {
    raw.close()
  }
}

describe('audit log', () => {
  it('chains each entry to the one before it, the first to the genesis hash', () => {
    const entries = readAudit(db)
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3])
    expect(entries[0]!.prevHash).toBe(GENESIS_HASH)
    expect(entries[1]!.prevHash).toBe(entries[0]!.hash)
    expect(entries[2]!.prevHash).toBe(entries[1]!.hash)
    for (const e of entries) expect(e.hash).toMatch(/^[0-9a-f]{64}$/)
    expect(new Set(entries.map((e) => e.hash)).size).toBe(3)
    expect(entries[0]!.details).toEqual({ root: '/cases/a', imported: 10 })
  })

  it('returns what it appended', () => {
    const entry = appendAudit(db, 'analyst', 'note', { text: 'hello' })
    expect(readAudit(db).at(-1)).toEqual(entry)
  })

  it('verifies an intact log', () => {
    expect(verifyAudit(db)).toEqual({ ok: true, entries: 3, headHash: readAudit(db)[2]!.hash })
  })

  it('verifies an empty log', () => {
    const empty = openLibrary(join(tmp.path, `empty-${n}.lineup`))
    try {
      expect(verifyAudit(empty)).toEqual({ ok: true, entries: 0, headHash: GENESIS_HASH })
    } finally {
      empty.close()
    }
  })

  it('catches an edited entry and names its position', () => {
    tamper(`UPDATE audit_log SET details = '{"root":"/cases/b","imported":400}' WHERE seq = 2`)
    expect(verifyAudit(db)).toEqual({
      ok: false,
      position: 2,
      entries: 3,
      reason: 'entry 2 (seq 2, import) does not match its hash: it was edited',
    })
  })

  it('catches an edit whose hash was recomputed, at the next entry (which no longer chains to it)', () => {
    const second = readAudit(db)[1]!
    const details = JSON.stringify({ root: '/cases/b', imported: 400 })
    // The canonical form appendAudit hashes: [prevHash, at, actor, action, details] as JSON.
    const forged = createHash('sha256')
      .update(JSON.stringify([second.prevHash, second.at, second.actor, second.action, details]))
      .digest('hex')
    tamper(`UPDATE audit_log SET details = '${details}', hash = '${forged}' WHERE seq = ${second.seq}`)
    expect(readAudit(db)[1]!.details).toEqual({ root: '/cases/b', imported: 400 })
    expect(verifyAudit(db)).toEqual({
      ok: false,
      position: 3,
      entries: 3,
      reason:
        'entry 3 (seq 3, export) does not chain to the entry before it: an entry was deleted, inserted or moved there',
    })
  })

  it('catches a deleted entry at the position where the chain breaks', () => {
    tamper('DELETE FROM audit_log WHERE seq = 2')
    expect(verifyAudit(db)).toMatchObject({
      ok: false,
      position: 2,
      entries: 2,
      reason: expect.stringContaining('does not chain to the entry before it') as unknown,
    })
  })

  it('catches entries removed from the end, which the chain alone cannot show', () => {
    tamper('DELETE FROM audit_log WHERE seq = 3')
    expect(verifyAudit(db)).toEqual({
      ok: false,
      position: 3,
      entries: 2,
      reason: 'the log ends at seq 2 but its recorded head is seq 3: entries were removed from the end',
    })
  })

  it('catches two entries swapped (reordered) at the first of them', () => {
    const [, second, third] = readAudit(db)
    const cols = (e: typeof second) =>
      `at = '${e!.at}', actor = '${e!.actor}', action = '${e!.action}', details = '${JSON.stringify(e!.details)}', prev_hash = '${e!.prevHash}', hash = 'x${e!.seq}'`
    tamper(
      `UPDATE audit_log SET ${cols(third)} WHERE seq = 2; UPDATE audit_log SET ${cols(second)} WHERE seq = 3;` +
        `UPDATE audit_log SET hash = '${third!.hash}' WHERE seq = 2; UPDATE audit_log SET hash = '${second!.hash}' WHERE seq = 3;`,
    )
    expect(verifyAudit(db)).toMatchObject({ ok: false, position: 2 })
  })

  it('catches an inserted entry at its position', () => {
    const entries = readAudit(db)
    tamper(
      `INSERT INTO audit_log (seq, at, actor, action, details, prev_hash, hash) VALUES (10, '${entries[2]!.at}', 'x', 'note', '{}', '${entries[2]!.hash}', '${'f'.repeat(64)}')`,
    )
    expect(verifyAudit(db)).toMatchObject({ ok: false, position: 4 })
  })
})
