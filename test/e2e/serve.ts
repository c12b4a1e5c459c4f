import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'

export interface ServeHandle {
  url: string
  origin: string
  token: string
  child: ChildProcess
  /** Everything the server wrote to stderr so far, for failure messages. */
  stderr(): string
  stop(): Promise<void>
}

/**
 * Starts `node src-main/cli/lineup.js serve --db <db> --json` in `repoRoot` and resolves once it printed its
 * `{"url":…}` line. Rejects with the server's stderr if it exits or stays silent for `timeoutMs`.
 */
export async function startServe(repoRoot: string, db: string, timeoutMs = 30_000): Promise<ServeHandle> {
  const child = spawn(process.execPath, ['src-main/cli/lineup.js', 'serve', '--db', db, '--json'], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  })
  let errText = ''
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    errText += chunk
  })
  const lines = createInterface({ input: child.stdout! })

  const ready = new Promise<{ url: string; origin: string }>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`lineup serve printed no URL within ${timeoutMs} ms; stderr:\n${errText}`)),
      timeoutMs,
    )
    lines.on('line', (line) => {
      try {
        const parsed = JSON.parse(line) as { url?: string; origin?: string }
        if (parsed.url && parsed.origin) {
          clearTimeout(timer)
          resolve({ url: parsed.url, origin: parsed.origin })
        }
      } catch {
        // not the JSON line
      }
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`lineup serve exited early (code ${code}, signal ${signal}); stderr:\n${errText}`))
    })
  })
  const { url, origin } = await ready
  const token = new URL(url).searchParams.get('token') ?? ''

  return {
    url,
    origin,
    token,
    child,
    stderr: () => errText,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = once(child, 'exit')
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
      await exited
      clearTimeout(timer)
    },
  }
}
