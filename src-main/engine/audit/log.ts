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

/** Re-computes the chain; returns the 1-based position of the first bad entry, or null when intact. */
export function verifyAudit(
  db: Db,
): { ok: true; entries: number } | { ok: false; position: number; reason: string } {
  const rows = db.prepare('SELECT * FROM audit_log ORDER BY seq').all() as {
    at: string
    actor: string
    action: string
    details: string
    prev_hash: string
    hash: string
  }[]
  let prev = GENESIS_HASH
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!
    if (r.prev_hash !== prev)
      return { ok: false, position: i + 1, reason: 'does not chain to the entry before it' }
    if (entryHash(r.prev_hash, r.at, r.actor, r.action, r.details) !== r.hash) {
      return { ok: false, position: i + 1, reason: 'content does not match its hash' }
    }
    prev = r.hash
  }
  return { ok: true, entries: rows.length }
}
