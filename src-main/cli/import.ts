import { importLayouts, type ImportSummary } from '../../src-shared/domain'
import { openLibrary } from '../engine/db/open'
import { checkFolder, startImport } from '../engine/jobs/import-job'
import { oneOf, parse, positiveInt, UsageError } from './args'
import { followJob } from './follow-job'

export const importUsage = `lineup import <folder> --db <library-file> [--layout auto|market1501|generic] [--json] [--max-pixels N]

Imports every image under <folder> (recursively) into the library: SHA-256 of each original,
metadata from the file names (Market-1501 / DukeMTMC-reID) or from one sub-folder per camera plus
an optional crops.csv (file,camera,timestamp,identity), and a cached thumbnail. Originals are only
read. Files already in the library are counted as duplicates; unusable files are skipped with a
reason. Ctrl-C cancels (what is imported stays); running the command again resumes.

  --db FILE        the library file (created if missing)
  --layout NAME    auto (default), market1501 or generic
  --json           progress as JSON lines; the last line is the summary
  --max-pixels N   skip images with more pixels than N (default 50,000,000)`

/** `lineup import`: exit 0 when done, 130 when cancelled. */
export async function importCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    db: { type: 'string' },
    layout: { type: 'string' },
    json: { type: 'boolean', default: false },
    'max-pixels': { type: 'string' },
  })
  if (positionals.length !== 1)
    throw new UsageError(
      positionals.length === 0
        ? 'give the folder to import'
        : `one folder at a time (got ${positionals.length})`,
    )
  if (!values.db) throw new UsageError('--db <library-file> is required')
  const layout = oneOf('--layout', values.layout, importLayouts, 'auto')
  const maxPixels = positiveInt('--max-pixels', values['max-pixels'])
  const json = values.json === true

  checkFolder(positionals[0]!) // before openLibrary, which would create the library file
  const db = openLibrary(values.db)
  try {
    const { result, summary } = await followJob('import', json, (onProgress) =>
      startImport(
        db,
        values.db!,
        { folder: positionals[0]!, layout, ...(maxPixels ? { maxPixels } : {}) },
        onProgress,
      ),
    )
    if (json) process.stdout.write(`${JSON.stringify(summary)}\n`)
    else printSummary(summary, result.cancelled)
    return result.cancelled ? 130 : 0
  } finally {
    db.close()
  }
}

function printSummary(s: ImportSummary, cancelled: boolean): void {
  const n = (x: number) => x.toLocaleString('en-US')
  const out = process.stdout
  out.write(
    `${cancelled ? 'cancelled' : 'done'}: ${n(s.imported)} imported, ${n(s.duplicates)} already in the library, ${n(s.skipped.length)} skipped\n`,
  )
  for (const k of s.skipped.slice(0, 20)) out.write(`  skipped ${k.path}: ${k.reason}\n`)
  if (s.skipped.length > 20)
    out.write(`  … and ${n(s.skipped.length - 20)} more (use --json for the full list)\n`)
  out.write(`library: ${n(s.crops)} crops, ${n(s.identities)} identities, ${n(s.cameras)} cameras\n`)
}
