import type { EmbedSummary } from '../../src-shared/domain'
import { startEmbed } from '../engine/jobs/embed-job'
import { resolveModel } from '../engine/library/models'
import { openLibrary } from '../engine/db/open'
import { parse, UsageError } from './args'
import { TtyBar } from './progress'

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
  const bar = new TtyBar(process.stderr)
  try {
    const modelId = values.model === undefined ? undefined : resolveModel(db, values.model).id
    const handle = startEmbed(db, values.db, modelId, (p) => {
      if (json) process.stdout.write(`${JSON.stringify({ progress: p })}\n`)
      else bar.update(p)
    })
    const onSignal = (): void => handle.cancel()
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
    const result = await handle.finished.finally(() => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      bar.end()
    })
    const summary: EmbedSummary & { jobId: number; cancelled?: boolean } = {
      modelKey: result.modelKey,
      embedded: result.embedded,
      skipped: result.skipped,
      total: result.total,
      crops: result.crops,
      jobId: result.jobId,
      ...(result.cancelled ? { cancelled: true } : {}),
    }
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
