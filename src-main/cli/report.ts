import { existsSync, readFileSync } from 'node:fs'
import { userInfo } from 'node:os'
import { LineupError } from '../../src-shared/errors'
import { openLibrary } from '../engine/db/open'
import { resolveModel } from '../engine/library/models'
import { exportReport, verifyReport } from '../engine/report/case-report'
import { writeFileAtomic } from '../engine/training/checkpoint'
import { parse, positiveInt, UsageError } from './args'

export const reportUsage = `lineup report export --db <library-file> --person <id> --out <file.html> [--model <id|name>]
lineup report verify <file.html> --db <library-file> [--json]

export writes a person of interest's case report: one self-contained HTML file (printable to PDF)
with the query and confirmed sightings, their thumbnails, cameras, times and the SHA-256 of each
original, the model version and its hash, who marked what and when, and the audit log's head; the
export itself is logged. verify re-checks a report against the library: its seal, every original
file's SHA-256, the model version and the audit log. Exit 0 when it holds, 3 when not.`

export async function reportCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv
  if (sub !== 'export' && sub !== 'verify') throw new UsageError('give a subcommand: export or verify')
  const { values, positionals } = parse(rest, {
    db: { type: 'string' },
    person: { type: 'string' },
    out: { type: 'string' },
    model: { type: 'string' },
    json: { type: 'boolean', default: false },
  })
  if (!values.db) throw new UsageError('--db <library-file> is required')
  if (sub === 'export') {
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`)
    const person = positiveInt('--person', values.person)
    if (person === undefined) throw new UsageError('--person <id> is required')
    if (!values.out) throw new UsageError('--out <file.html> is required')
    const db = openLibrary(values.db, { mustExist: true })
    try {
      const modelId = values.model === undefined ? undefined : resolveModel(db, values.model).id
      const r = exportReport(db, person, userInfo().username || 'analyst', modelId)
      writeFileAtomic(values.out, r.html)
      process.stdout.write(
        values.json
          ? `${JSON.stringify({ out: values.out, seal: r.seal, crops: r.evidence.crops.length })}\n`
          : `wrote ${values.out}: ${r.evidence.crops.length} sightings of ${r.evidence.person.name}; seal ${r.seal}\n`,
      )
      return 0
    } finally {
      db.close()
    }
  }
  if (positionals.length !== 1) throw new UsageError('give the report file to verify')
  const file = positionals[0]!
  if (!existsSync(file)) throw new LineupError('not-found', `report not found: ${file}`)
  const db = openLibrary(values.db, { mustExist: true })
  try {
    const check = verifyReport(db, readFileSync(file, 'utf8'))
    if (values.json) process.stdout.write(`${JSON.stringify(check)}\n`)
    else if (check.ok)
      process.stdout.write(
        `report verified: seal ${check.seal}, ${check.checkedFiles} originals match their SHA-256\n`,
      )
    else
      process.stdout.write(`report does NOT verify:\n${check.problems.map((p) => `  - ${p}`).join('\n')}\n`)
    return check.ok ? 0 : 3
  } finally {
    db.close()
  }
}
