import { spawn, type ChildProcess } from 'node:child_process'
import { cliEntry, repoRoot } from './paths'

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** Spawns the real `lineup` command (`node <cliEntry> …`) from the repository root. */
export function spawnCli(args: string[]): ChildProcess {
  return spawn(process.execPath, [cliEntry, ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  })
}

/** Runs `lineup …` to the end and collects its output. */
export function runCli(args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(args)
    let stdout = ''
    let stderr = ''
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s))
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s))
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
}

/** The JSON lines of a `--json` run, parsed; throws (naming the line) on a line that is not JSON. */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>
      } catch {
        throw new Error(`not a JSON line on stdout: ${l.slice(0, 200)}`)
      }
    })
}
