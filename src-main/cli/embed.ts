import { startEmbed } from '../engine/jobs/embed-job'
import { resolveModel } from '../engine/library/models'
import { openLibrary } from '../engine/db/open'
import { parse, UsageError } from './args'
import { followJob } from './follow-job'

export const embedUsage = `lineup embed --db <library-file> [--model <id|name|key-prefix>] [--json]

Computes an embedding for every crop of the library that has none yet from the model (default: the
active one). Resumable: run it again after a crash or Ctrl-C and it finishes the rest. Crops whose
original file is missing or changed since import are skipped with the reason.`

export async function embedCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    db: { type: 'string' },
    model: { type: 'string' },
    json: { type: 'boolean', default: false },
  })
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`)
  if (!values.db) throw new UsageError('--db <library-file> is required')
  const db = openLibrary(values.db, { mustExist: true })
  const json = values.json === true
  try {
    const modelId = values.model === undefined ? undefined : resolveModel(db, values.model).id
    const { result, summary } = await followJob('embedding', json, (onProgress) =>
      startEmbed(db, values.db!, modelId, onProgress),
    )
    if (json) process.stdout.write(`${JSON.stringify(summary)}\n`)
    else {
      process.stdout.write(
        `${result.cancelled ? 'cancelled' : 'done'}: ${result.embedded} embedded, ${result.skipped.length} skipped; ${result.total} of ${result.crops} crops have a vector from ${result.modelKey.slice(0, 16)}\n`,
      )
      for (const s of result.skipped.slice(0, 20))
        process.stdout.write(`  skipped crop ${s.cropId} (${s.path}): ${s.reason}\n`)
    }
    return result.cancelled ? 130 : 0
  } finally {
    db.close()
  }
}
