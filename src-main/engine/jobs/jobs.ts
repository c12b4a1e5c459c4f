import type { JobInfo, JobKind, JobStatus } from '../../../src-shared/domain'
import { LineupError } from '../../../src-shared/errors'
import type { Db } from '../db/open'

interface JobRow {
  id: number
  kind: JobKind
  status: JobStatus
  params: string
  pid: number | null
  heartbeat_at: string | null
  done: number
  total: number
  started_at: string
  finished_at: string | null
  error: string | null
  summary: string | null
}

function toInfo(r: JobRow): JobInfo {
  return {
    id: r.id,
    kind: r.kind,
    status: r.status,
    params: JSON.parse(r.params) as Record<string, unknown>,
    done: r.done,
    total: r.total,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    error: r.error,
    summary: r.summary ? (JSON.parse(r.summary) as JobInfo['summary']) : null,
  }
}

export function getJob(db: Db, id: number): JobInfo {
  const r = db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined
  if (!r) throw new LineupError('not-found', `job ${id} does not exist in this library`)
  return toInfo(r)
}

export function listJobs(db: Db, limit: number): JobInfo[] {
  return (db.prepare('SELECT * FROM jobs ORDER BY id DESC LIMIT ?').all(limit) as JobRow[]).map(toInfo)
}

/** A running job refreshes jobs.heartbeat_at at least this often (see import.worker.ts). */
export const HEARTBEAT_MS = 10_000
/** Past this without a heartbeat, a job is taken as dead whatever its pid says. */
export const HEARTBEAT_STALE_MS = 6 * HEARTBEAT_MS

/** Records that job `id` is alive (called by its worker on a timer and with each batch). */
export function heartbeat(db: Db, id: number): void {
  db.prepare('UPDATE jobs SET heartbeat_at = ? WHERE id = ?').run(new Date().toISOString(), id)
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Jobs left `running` by a process that no longer exists (killed, crashed, power cut) become
 * `interrupted`; returns them. A job whose process is alive is still running, so a second import
 * is refused rather than racing it.
 */
export function reapInterrupted(
  db: Db,
  kind: JobKind,
  ownLive: ReadonlySet<number>,
): { interrupted: JobInfo[]; live: JobInfo[] } {
  const rows = db.prepare(`SELECT * FROM jobs WHERE status = 'running' AND kind = ?`).all(kind) as JobRow[]
  const interrupted: JobInfo[] = []
  const live: JobInfo[] = []
  for (const r of rows) {
    // Another process's job is live while its pid exists and it has beaten recently: after a
    // crash or reboot the pid may belong to an unrelated process, whose job would never end.
    const fresh = r.heartbeat_at !== null && Date.now() - Date.parse(r.heartbeat_at) < HEARTBEAT_STALE_MS
    const stillRunning = r.pid === process.pid ? ownLive.has(r.id) : r.pid !== null && alive(r.pid) && fresh
    if (stillRunning) {
      live.push(toInfo(r))
    } else {
      db.prepare(`UPDATE jobs SET status = 'interrupted', finished_at = ?, pid = NULL WHERE id = ?`).run(
        new Date().toISOString(),
        r.id,
      )
      interrupted.push({ ...toInfo(r), status: 'interrupted' })
    }
  }
  return { interrupted, live }
}

export function createJob(db: Db, kind: JobKind, params: Record<string, unknown>): JobInfo {
  const info = db
    .prepare(
      `INSERT INTO jobs (kind, status, params, pid, started_at, heartbeat_at) VALUES (?, 'running', ?, ?, @now, @now)`,
    )
    .run(kind, JSON.stringify(params), process.pid, { now: new Date().toISOString() })
  return getJob(db, Number(info.lastInsertRowid))
}

export function failJob(
  db: Db,
  id: number,
  message: string,
  status: 'failed' | 'cancelled' = 'failed',
): void {
  db.prepare(
    `UPDATE jobs SET status = ?, error = ?, finished_at = ?, pid = NULL WHERE id = ? AND status = 'running'`,
  ).run(status, message, new Date().toISOString(), id)
}
