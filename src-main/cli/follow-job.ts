import type { JobInfo, JobProgress } from '../../src-shared/domain'
import { TtyBar } from './progress'

interface Started<R> {
  resumed: JobInfo[]
  cancel(): void
  finished: Promise<R>
}

/**
 * Runs a job from the command line: progress as JSON lines (`--json`) or a bar on a TTY, Ctrl-C
 * and SIGTERM cancel it (what is done stays; running again resumes), and the result is returned
 * with `cancelled` dropped when false, ready to print as the summary line.
 */
export async function followJob<R extends { cancelled: boolean }>(
  what: string,
  json: boolean,
  start: (onProgress: (p: JobProgress) => void) => Started<R>,
): Promise<{ result: R; summary: Omit<R, 'cancelled'> & { cancelled?: true } }> {
  const bar = new TtyBar(process.stderr)
  const handle = start((p) => {
    if (json) process.stdout.write(`${JSON.stringify({ progress: p })}\n`)
    else bar.update(p)
  })
  if (handle.resumed.length > 0 && !json) {
    process.stderr.write(`resuming interrupted ${what} (job ${handle.resumed.map((j) => j.id).join(', ')})\n`)
  }
  const onSignal = (): void => {
    if (!json) process.stderr.write(`\ncancelling… (what is done stays; run again to resume)\n`)
    handle.cancel()
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  const result = await handle.finished.finally(() => {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    bar.end()
  })
  const { cancelled, ...rest } = result
  return { result, summary: { ...rest, ...(cancelled ? { cancelled: true as const } : {}) } }
}
