import { readAudit, verifyAudit } from '../engine/audit/log'
import { openLibrary } from '../engine/db/open'
import { parse, positiveInt, UsageError } from './args'

export const auditUsage = `lineup audit verify --db <library-file> [--json]
lineup audit list --db <library-file> [--tail N] [--json]

verify re-computes the library's hash-chained audit log (every import, model change, search, mark,
fine-tune and export is an entry carrying the hash of the one before it) and reports the first
entry that was edited, deleted, moved or inserted, by position; exit 0 when intact, 3 when not.
list prints the entries (the last N with --tail).`

/** `lineup audit`: 0 intact, 3 tampered, 1 on an error. */
export async function auditCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv
  if (sub !== 'verify' && sub !== 'list') throw new UsageError('give a subcommand: verify or list')
  const { values, positionals } = parse(rest, {
    db: { type: 'string' },
    tail: { type: 'string' },
    json: { type: 'boolean', default: false },
  })
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`)
  if (!values.db) throw new UsageError('--db <library-file> is required')
  if (sub === 'verify' && values.tail !== undefined) throw new UsageError('--tail applies to list')
  const tail = positiveInt('--tail', values.tail)
  // Read-only in spirit: opening migrates an older library, which never rewrites the log.
  const db = openLibrary(values.db, { mustExist: true })
  try {
    if (sub === 'list') {
      const entries = readAudit(db)
      const shown = tail ? entries.slice(-tail) : entries
      for (const e of shown) {
        process.stdout.write(
          values.json
            ? `${JSON.stringify(e)}\n`
            : `${e.seq}\t${e.at}\t${e.actor}\t${e.action}\t${JSON.stringify(e.details)}\n`,
        )
      }
      return 0
    }
    const v = verifyAudit(db)
    if (values.json) process.stdout.write(`${JSON.stringify(v)}\n`)
    else if (v.ok)
      process.stdout.write(
        `audit log intact: ${v.entries} ${v.entries === 1 ? 'entry' : 'entries'}, head ${v.headHash}\n`,
      )
    else if (v.position > v.entries)
      process.stdout.write(`audit log TAMPERED after its last entry (${v.entries}): ${v.reason}\n`)
    else process.stdout.write(`audit log TAMPERED at position ${v.position} of ${v.entries}: ${v.reason}\n`)
    return v.ok ? 0 : 3
  } finally {
    db.close()
  }
}
