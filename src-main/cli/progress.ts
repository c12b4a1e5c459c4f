import type { JobProgress } from '../../src-shared/domain'

/** One line describing progress, for a TTY (redrawn in place) or a log. */
export function progressLine(p: JobProgress, width = 30): string {
  if (p.phase === 'scanning') return 'scanning folder…'
  const frac = p.total > 0 ? p.done / p.total : 0
  const filled = Math.round(frac * width)
  const bar = '█'.repeat(filled) + '░'.repeat(width - filled)
  const eta = p.etaSeconds === null ? '' : ` eta ${Math.ceil(p.etaSeconds)}s`
  return `${bar} ${p.done}/${p.total} ${(frac * 100).toFixed(0)}% ${p.rate.toFixed(0)}/s${eta} · new ${p.imported} · dup ${p.duplicates} · skipped ${p.skipped}`
}

/** Draws a progress bar on a TTY stream; a no-op elsewhere (logs stay clean). */
export class TtyBar {
  constructor(private readonly stream: NodeJS.WriteStream) {}
  update(p: JobProgress): void {
    if (!this.stream.isTTY) return
    const cols = this.stream.columns ?? 100
    this.stream.write(`\r${progressLine(p).slice(0, cols - 1)}\x1b[K`)
  }
  end(): void {
    if (this.stream.isTTY) this.stream.write('\r\x1b[K')
  }
}
