import { fileURLToPath } from 'node:url'
import { defaultLibraryPath } from '../engine/paths'
import { LineupService } from '../engine/service'
import { startHttpServer } from '../server/http'
import { parse, positiveInt, UsageError } from './args'

export const serveUsage = `lineup serve [--db <library-file>] [--port N] [--json]

Browser mode: serves the Lineup UI and its API on http://127.0.0.1 (loopback only) and prints a URL
with a one-time session token. Open it in Chromium/Chrome/Firefox. Ctrl-C stops the server.

  --db FILE   the library file (default: ${defaultLibraryPath()})
  --port N    port to listen on (default: a free one)
  --json      print {"url":…,"origin":…,"db":…} on one line when ready`

/** The built renderer, beside the sources: <repo>/out/renderer. */
export function rendererDir(): string {
  return fileURLToPath(new URL('../../out/renderer', import.meta.url))
}

export async function serveCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    db: { type: 'string' },
    port: { type: 'string' },
    json: { type: 'boolean', default: false },
  })
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`)
  const port = positiveInt('--port', values.port)
  if (port !== undefined && port > 65535) throw new UsageError('--port must be at most 65535')
  const dbPath = values.db ?? defaultLibraryPath()
  const service = new LineupService({ dbPath, host: 'browser', autoEmbed: true })
  let server
  try {
    server = await startHttpServer({ service, rendererDir: rendererDir(), ...(port ? { port } : {}) })
  } catch (err) {
    await service.close()
    throw err
  }
  if (values.json)
    process.stdout.write(
      `${JSON.stringify({ url: server.url, origin: server.origin, db: service.db.name })}\n`,
    )
  else process.stdout.write(`Lineup is serving ${service.db.name}\nOpen ${server.url}\n(Ctrl-C to stop)\n`)
  await new Promise<void>((done) => {
    const stop = (): void => done()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
  await server.close()
  await service.close()
  return 0
}
