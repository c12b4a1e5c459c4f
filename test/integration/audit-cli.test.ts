import { createHash } from 'node:crypto'
import { copyFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { appendAudit, readAudit, type AuditEntry } from '../../src-main/engine/audit/log'
import { openLibrary } from '../../src-main/engine/db/open'
import { createPerson, markCrop, undoLastMark, updatePerson } from '../../src-main/engine/library/persons'
import { jsonLines, runCli, type CliResult } from '../helpers/cli'
import { rawDb } from '../helpers/db'
import { tempDir } from '../helpers/tmp'

// `lineup audit verify|list` on a small library whose log holds six entries of real operations
// (an import entry, a person, marks and an undo, a rename), tampered with in fresh copies the way
// someone with the file and an SQLite shell would: drop the append-only triggers, then edit.
const tmp = tempDir('lineup-audit-cli-')
afterAll(() => tmp.dispose())

let library: string
let log: AuditEntry[]
let copies = 0

/** A fresh copy of the library, tampered with by `sql` (after dropping the append-only triggers). */
function tampered(sql: string): string {
  const path = join(tmp.path, `copy-${++copies}.lineup`)
  copyFileSync(library, path)
  const raw = rawDb(path)
  try {
    // Every guard on the log, as someone with an SQLite shell would drop them.
    raw.exec(
      'DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete; DROP TRIGGER audit_append_at_head;',
    )
    raw.exec(sql)
  } finally {
    raw.close()
  }
  return path
}

const verify = (path: string, ...more: string[]) => runCli(['audit', 'verify', '--db', path, ...more])

/** Asserts a tampered verdict in text form, naming `position` of `entries`. */
function expectTampered(r: CliResult, position: number, entries: number, reason: RegExp): void {
  expect(r.stderr).toBe('')
  expect(r.code).toBe(3)
  expect(r.stdout).toMatch(
    position > entries
      ? new RegExp(`^audit log TAMPERED after its last entry \\(${entries}\\): `)
      : new RegExp(`^audit log TAMPERED at position ${position} of ${entries}: `),
  )
  expect(r.stdout).toMatch(reason)
}

/** The hash appendAudit gives an entry: SHA-256 of [prevHash, at, actor, action, details] as JSON. */
const entryHash = (prev: string, at: string, actor: string, action: string, details: string) =>
  createHash('sha256')
    .update(JSON.stringify([prev, at, actor, action, details]))
    .digest('hex')

beforeAll(() => {
  library = join(tmp.path, 'case.lineup')
  const db = openLibrary(library)
  try {
    db.prepare(`INSERT INTO sources (root, layout, created_at) VALUES ('/case', 'generic', 'now')`).run()
    db.prepare(
      `INSERT INTO jobs (kind, status, params, started_at) VALUES ('import', 'done', '{}', 'now')`,
    ).run()
    const crop = db.prepare(
      `INSERT INTO crops (source_id, rel_path, sha256, bytes, width, height, format, kind, imported_at, job_id)
       VALUES (1, ?, ?, 1, 1, 1, 'png', 'unlabelled', 'now', 1)`,
    )
    for (let i = 1; i <= 4; i++) crop.run(`${i}.png`, String(i).repeat(64))
    appendAudit(db, 'alice', 'import', { root: '/case', imported: 4 })
    const p = createPerson(db, { queryCropId: 1 }, 'alice')
    markCrop(db, { personId: p.id, cropId: 2, verdict: 'same' }, 'alice')
    markCrop(db, { personId: p.id, cropId: 3, verdict: 'different' }, 'alice')
    undoLastMark(db, p.id, 'alice')
    updatePerson(db, p.id, { name: 'Suspect' }, 'alice')
    log = readAudit(db)
  } finally {
    db.close()
  }
  expect(log.map((e) => e.action)).toEqual([
    'import',
    'person.create',
    'mark',
    'mark',
    'mark.undo',
    'person.update',
  ])
})

// Each test works on its own copy, and most of the time is the CLI's start-up: run them side by side.
describe.concurrent('lineup audit verify', () => {
  it('exits 0 on an intact log, printing the entry count and head hash (also as JSON)', async () => {
    const [text, json] = await Promise.all([verify(library), verify(library, '--json')])
    expect(text.stderr).toBe('')
    expect(text.code).toBe(0)
    expect(text.stdout).toBe(`audit log intact: 6 entries, head ${log[5]!.hash}\n`)
    expect(json.code).toBe(0)
    expect(jsonLines(json.stdout)).toEqual([{ ok: true, entries: 6, headHash: log[5]!.hash }])
  })

  it('exits 3 on an edited entry, naming its position', async () => {
    const path = tampered(
      `UPDATE audit_log SET details = '{"personId":1,"cropId":3,"verdict":"same"}' WHERE seq = 4`,
    )
    expectTampered(await verify(path), 4, 6, /entry 4 \(seq 4, mark\) does not match its hash: it was edited/)
  })

  it('exits 3 on a deleted middle entry and on two entries swapped, at the break', async () => {
    const deleted = tampered('DELETE FROM audit_log WHERE seq = 3')
    // Moved: entries 2 and 3 exchange places (their positions in seq order).
    const swapped = tampered(
      'UPDATE audit_log SET seq = 100 WHERE seq = 2; UPDATE audit_log SET seq = 2 WHERE seq = 3; UPDATE audit_log SET seq = 3 WHERE seq = 100;',
    )
    const [d, s] = await Promise.all([verify(deleted), verify(swapped)])
    expectTampered(d, 3, 5, /entry 3 \(seq 4, mark\) does not chain to the entry before it/)
    expectTampered(s, 2, 6, /entry 2 \(seq 2, mark\) does not chain to the entry before it/)
  })

  it('exits 3 on an inserted entry: at its position, or (hash forged) at the entry after it', async () => {
    const room =
      'UPDATE audit_log SET seq = -seq WHERE seq >= 3; UPDATE audit_log SET seq = 1 - seq WHERE seq < 0;'
    const at = log[1]!.at
    const details = JSON.stringify({ personId: 1, cropId: 4, verdict: 'same' })
    const naive = tampered(
      `${room} INSERT INTO audit_log (seq, at, actor, action, details, prev_hash, hash)
       VALUES (3, '${at}', 'mallory', 'mark', '${details}', '${log[1]!.hash}', '${'e'.repeat(64)}')`,
    )
    // A careful forger chains the new entry to entry 2 and computes its hash: the entry after it
    // (the old entry 3, now at position 4) no longer chains.
    const forgedHash = entryHash(log[1]!.hash, at, 'alice', 'mark', details)
    const forged = tampered(
      `${room} INSERT INTO audit_log (seq, at, actor, action, details, prev_hash, hash)
       VALUES (3, '${at}', 'alice', 'mark', '${details}', '${log[1]!.hash}', '${forgedHash}')`,
    )
    const [n, f] = await Promise.all([verify(naive), verify(forged)])
    expectTampered(n, 3, 7, /entry 3 \(seq 3, mark\) does not match its hash/)
    expectTampered(f, 4, 7, /entry 4 \(seq 4, mark\) does not chain to the entry before it/)
  })

  it('exits 3 when the last entry was deleted, which the chain alone cannot show', async () => {
    const path = tampered('DELETE FROM audit_log WHERE seq = 6')
    const [text, json] = await Promise.all([verify(path), verify(path, '--json')])
    expectTampered(
      text,
      6,
      5,
      /the log ends at seq 5 but its recorded head is seq 6: entries were removed from the end/,
    )
    expect(jsonLines(json.stdout)).toEqual([
      {
        ok: false,
        position: 6,
        entries: 5,
        reason: 'the log ends at seq 5 but its recorded head is seq 6: entries were removed from the end',
      },
    ])
  })

  it('still exits 3 when the last entry was deleted and the app tries to log something since', async () => {
    // The tamperer deletes the last entry but leaves the append guard in place (only the
    // delete guard is in the way of a DELETE).
    const path = join(tmp.path, `tail-${++copies}.lineup`)
    copyFileSync(library, path)
    const raw = rawDb(path)
    try {
      raw.exec('DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq = 6;')
    } finally {
      raw.close()
    }
    // The analyst goes on working: the next mark is refused (it would chain to the wrong head and
    // hide the removal), and nothing is stored.
    const db = openLibrary(path)
    try {
      const marks = db.prepare('SELECT count(*) FROM marks').pluck().get()
      expect(() => markCrop(db, { personId: 1, cropId: 4, verdict: 'unsure' }, 'alice')).toThrow(
        /does not end at its recorded head: it was tampered with/,
      )
      expect(db.prepare('SELECT count(*) FROM marks').pluck().get()).toBe(marks)
    } finally {
      db.close()
    }
    const r = await verify(path)
    expect(r.stdout).toMatch(/TAMPERED/)
    expect(r.code).toBe(3)
  })

  it('exits 1 with a clear message when the library file does not exist, and creates nothing', async () => {
    const missing = join(tmp.path, 'no-such.lineup')
    const [text, json] = await Promise.all([verify(missing), verify(missing, '--json')])
    expect(text.code).toBe(1)
    expect(text.stdout).toBe('')
    expect(text.stderr).toBe(
      `lineup audit: library not found: ${missing}. Import a folder first (lineup import <folder> --db ${missing}).\n`,
    )
    expect(json.code).toBe(1)
    expect(jsonLines(json.stdout)).toEqual([
      {
        error: {
          kind: 'not-found',
          message: expect.stringContaining(`library not found: ${missing}`) as unknown,
        },
      },
    ])
    expect(existsSync(missing)).toBe(false)
  })
})

describe.concurrent('lineup audit list', () => {
  it('prints the last N entries with --tail, as text and as JSON lines', async () => {
    const [text, json, all] = await Promise.all([
      runCli(['audit', 'list', '--db', library, '--tail', '2']),
      runCli(['audit', 'list', '--db', library, '--tail', '2', '--json']),
      runCli(['audit', 'list', '--db', library, '--json']),
    ])
    expect(text.code).toBe(0)
    expect(text.stderr).toBe('')
    const lines = text.stdout.trimEnd().split('\n')
    expect(lines).toEqual(
      log.slice(-2).map((e) => [e.seq, e.at, e.actor, e.action, JSON.stringify(e.details)].join('\t')),
    )
    expect(lines[0]!.split('\t').slice(0, 4)).toEqual(['5', log[4]!.at, 'alice', 'mark.undo'])
    expect(json.code).toBe(0)
    expect(jsonLines(json.stdout)).toEqual(log.slice(-2))
    expect(all.code).toBe(0)
    expect(jsonLines(all.stdout)).toEqual(log)
  })
})

describe.concurrent('lineup audit usage errors (exit 2)', () => {
  it('refuses a missing subcommand, a missing --db, --tail on verify and a bad --tail', async () => {
    const runs = await Promise.all([
      runCli(['audit']),
      runCli(['audit', 'verify']),
      runCli(['audit', 'list', '--json']),
      runCli(['audit', 'verify', '--db', library, '--tail', '2']),
      runCli(['audit', 'list', '--db', library, '--tail', '0']),
    ])
    const messages = [
      /give a subcommand: verify or list/,
      /--db <library-file> is required/,
      /--db <library-file> is required/,
      /--tail applies to list/,
      /--tail must be a positive whole number \(got "0"\)/,
    ]
    runs.forEach((r, i) => {
      expect(r.code, `run ${i}: ${r.stderr}`).toBe(2)
      expect(r.stderr).toMatch(messages[i]!)
      expect(r.stderr).toContain('lineup audit verify --db <library-file> [--json]') // the usage
    })
    expect(jsonLines(runs[2]!.stdout)).toEqual([
      { error: { kind: 'invalid-input', message: '--db <library-file> is required' } },
    ])
  })
})
