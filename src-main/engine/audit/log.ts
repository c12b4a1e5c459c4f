import { createHash } from 'node:crypto'
import type { Db } from '../db/open'

export interface AuditEntry {
  seq: number
  at: string
  actor: string
  action: string
  details: Record<string, unknown>
  prevHash: string
  hash: string
}

/** The hash the first entry chains to. */
export const GENESIS_HASH = '0'.repeat(64)

/** Canonical bytes of one entry: the fields in a fixed order, JSON-encoded. */
function entryHash(prevHash: string, at: string, actor: string, action: string, details: string): string {
  return createHash('sha256')
    .update(JSON.stringify([prevHash, at, actor, action, details]))
    .digest('hex')
}

/**
 * Appends one entry to the hash-chained audit log. Call inside the transaction that makes the
 * change it records, so the log and the library cannot disagree.
 */
export function appendAudit(
  db: Db,
  actor: string,
  action: string,
  details: Record<string, unknown>,
): AuditEntry {
  const last = db.prepare('SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1').get() as
    { hash: string } | undefined
  const prevHash = last?.hash ?? GENESIS_HASH
  const at = new Date().toISOString()
  const detailsJson = JSON.stringify(details)
  const hash = entryHash(prevHash, at, actor, action, detailsJson)
  const info = db
    .prepare('INSERT INTO audit_log (at, actor, action, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?)')
    .run(at, actor, action, detailsJson, prevHash, hash)
  return { seq: Number(info.lastInsertRowid), at, actor, action, details, prevHash, hash }
}

/** Reads the log in order. */
export function readAudit(db: Db): AuditEntry[] {
  const rows = db.prepare('SELECT * FROM audit_log ORDER BY seq').all() as {
    seq: number
    at: string
    actor: string
    action: string
    details: string
    prev_hash: string
    hash: string
  }[]
  return rows.map((r) => ({
    seq: r.seq,
    at: r.at,
    actor: r.actor,
    action: r.action,
    details: JSON.parse(r.details) as Record<string, unknown>,
    prevHash: r.prev_hash,
    hash: r.hash,
  }))
}

export type AuditVerdict =
  | { ok: true; entries: number; headHash: string }
  | { ok: false; position: number; entries: number; reason: string }

/**
 * Re-computes the chain. Returns the number of entries and the last hash when intact, else the
 * 1-based position of the first bad entry and what is wrong with it: an edited entry no longer
 * matches its hash; a deleted, inserted or moved one breaks the link to the entry before it; and
 * (schema 4) entries removed from the end leave the log short of the head recorded in audit_head.
 */
export function verifyAudit(db: Db): AuditVerdict {
  const rows = db.prepare('SELECT * FROM audit_log ORDER BY seq').all() as {
    seq: number
    at: string
    actor: string
    action: string
    details: string
    prev_hash: string
    hash: string
  }[]
  const entries = rows.length
  let prev = GENESIS_HASH
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!
    if (r.prev_hash !== prev) {
      return {
        ok: false,
        position: i + 1,
        entries,
        reason: `entry ${i + 1} (seq ${r.seq}, ${r.action}) does not chain to the entry before it: an entry was deleted, inserted or moved there`,
      }
    }
    if (entryHash(r.prev_hash, r.at, r.actor, r.action, r.details) !== r.hash) {
      return {
        ok: false,
        position: i + 1,
        entries,
        reason: `entry ${i + 1} (seq ${r.seq}, ${r.action}) does not match its hash: it was edited`,
      }
    }
    prev = r.hash
  }
  const hasHead = db.prepare(`SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'audit_head'`).get()
  const version = db.pragma('user_version', { simple: true }) as number
  if (!hasHead && version >= 4) {
    return {
      ok: false,
      position: entries + 1,
      entries,
      reason: 'the recorded head of the log (table audit_head) was removed',
    }
  }
  if (hasHead) {
    const head = db.prepare('SELECT seq, hash FROM audit_head WHERE one = 1').get() as
      { seq: number; hash: string } | undefined
    const last = rows[rows.length - 1]
    if (!head || (head.seq > 0 && (last?.seq ?? 0) < head.seq)) {
      return {
        ok: false,
        position: entries + 1,
        entries,
        reason: head
          ? `the log ends at seq ${last?.seq ?? 0} but its recorded head is seq ${head.seq}: entries were removed from the end`
          : 'the recorded head of the log is missing',
      }
    }
    if (last && (head.seq !== last.seq || head.hash !== last.hash)) {
      return {
        ok: false,
        position: entries,
        entries,
        reason: `the last entry (seq ${last.seq}) is not the recorded head (seq ${head.seq}): the end of the log was replaced`,
      }
    }
  }
  return { ok: true, entries, headHash: prev }
}
