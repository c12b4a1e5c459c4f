import type { JobProgress } from '../../../src-shared/domain'

/**
 * A job's progress event with its rate (items per second since `startedAt`, a Date.now() time)
 * and the seconds left at that rate (null until something is done).
 */
export function progressEvent(startedAt: number, p: Omit<JobProgress, 'rate' | 'etaSeconds'>): JobProgress {
  const seconds = (Date.now() - startedAt) / 1000
  const rate = seconds > 0 ? p.done / seconds : 0
  return { ...p, rate, etaSeconds: rate > 0 && p.done > 0 ? Math.max(0, (p.total - p.done) / rate) : null }
}
