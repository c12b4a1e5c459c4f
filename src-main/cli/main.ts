import { LineupError } from '../../src-shared/errors'
import { appVersion } from '../engine/service'
import { UsageError } from './args'
import { auditCommand, auditUsage } from './audit'
import { evalCommand, evalUsage } from './eval'
import { reportCommand, reportUsage } from './report'
import { importCommand, importUsage } from './import'
import { embedCommand, embedUsage } from './embed'
import { lossCommand, lossUsage } from './loss'
import { modelCommand, modelUsage } from './model'
import { searchCommand, searchUsage } from './search'
import { metricsCommand, metricsUsage } from './metrics'
import { serveCommand, serveUsage } from './serve'
import { trainCommand, trainUsage } from './train'

interface Command {
  summary: string
  usage: string
  run(argv: string[]): Promise<number>
}

/** Commands by name (STYLE.md §7): an unknown name lists the known ones. */
const commands: Record<string, Command> = {
  import: { summary: 'import a folder of crops into a library', usage: importUsage, run: importCommand },
  serve: { summary: 'browser mode: the UI and API on 127.0.0.1', usage: serveUsage, run: serveCommand },
  model: {
    summary: 'add, list or activate embedding models (ONNX or built-in)',
    usage: modelUsage,
    run: modelCommand,
  },
  embed: { summary: 'compute embeddings for the crops of a library', usage: embedUsage, run: embedCommand },
  search: {
    summary: 'rank the library against query crops or image files',
    usage: searchUsage,
    run: searchCommand,
  },
  metrics: {
    summary: 're-ID protocol metrics (mAP, CMC) of a distance matrix or features',
    usage: metricsUsage,
    run: metricsCommand,
  },
  audit: {
    summary: 'verify the hash-chained audit log (names the first tampered entry) or list it',
    usage: auditUsage,
    run: auditCommand,
  },
  report: {
    summary: 'export a case report (HTML) for a person of interest, or verify one against the library',
    usage: reportUsage,
    run: reportCommand,
  },
  train: {
    summary: 'fine-tune a projection head (Rank-Triplet and other losses) on a dataset or a library',
    usage: trainUsage,
    run: trainCommand,
  },
  eval: {
    summary: 'R1/R5/R10/mAP of a model on a Market-1501-layout folder',
    usage: evalUsage,
    run: evalCommand,
  },
  loss: {
    summary: 'a batch loss (Rank-Triplet and others) of embeddings and labels',
    usage: lossUsage,
    run: lossCommand,
  },
}

function help(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length))
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
  return `lineup ${appVersion()}: offline person re-identification for analysts

Usage: lineup <command> [options]     (lineup <command> --help for its options)

Commands:
${lines.join('\n')}

Set-up and the desktop app: see README.md.
`
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help())
    return 0
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${appVersion()}\n`)
    return 0
  }
  const command = commands[name]
  if (!command) {
    process.stderr.write(`lineup: unknown command "${name}"; commands: ${Object.keys(commands).join(', ')}\n`)
    return 2
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${command.usage}\n`)
    return 0
  }
  try {
    return await command.run(rest)
  } catch (err) {
    const json = rest.includes('--json')
    if (err instanceof UsageError) {
      process.stderr.write(`lineup ${name}: ${err.message}\n\n${command.usage}\n`)
      if (json)
        process.stdout.write(`${JSON.stringify({ error: { kind: err.kind, message: err.message } })}\n`)
      return 2
    }
    const body =
      err instanceof LineupError
        ? { kind: err.kind, message: err.message }
        : { kind: 'internal', message: `internal error: ${(err as Error).stack ?? String(err)}` }
    process.stderr.write(`lineup ${name}: ${body.message}\n`)
    if (json) process.stdout.write(`${JSON.stringify({ error: body })}\n`)
    return 1
  }
}

process.exitCode = await main(process.argv.slice(2))
