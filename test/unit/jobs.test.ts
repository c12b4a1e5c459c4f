import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openLibrary } from '../../src-main/engine/db/open'
import { HEARTBEAT_STALE_MS, reapInterrupted } from '../../src-main/engine/jobs/jobs'
import { tempDir } from '../helpers/tmp'

const tmp = tempDir('lineup-jobs-')
afterAll(() => tmp.dispose())

/** A job row left `running` by another process (pid), last seen `agoMs` ago. */
function runningJob(dbPath: string, pid: number | null, agoMs: number): number {
  const db = openLibrary(dbPath)
  const seen = new Date(Date.now() - agoMs).toISOString()
  const id = db
    .prepare(
      `INSERT INTO jobs (kind, status, params, pid, started_at, heartbeat_at) VALUES ('import', 'running', '{}', ?, ?, ?)`,
    )
    .run(pid, seen, seen).lastInsertRowid
  db.close()
  return Number(id)
}

describe('jobs left running by another process', () => {
  it('stay live while their process exists and beats', () => {
    const path = join(tmp.path, 'live.lineup')
    runningJob(path, process.ppid, 1000)
    const db = openLibrary(path)
    const r = reapInterrupted(db, 'import', new Set())
    expect(r.live.map((j) => j.id)).toEqual([1])
    expect(r.interrupted).toEqual([])
    db.close()
  })

  it('are interrupted when the pid exists but the heartbeat is stale (pid reused after a crash)', () => {
    const path = join(tmp.path, 'reused.lineup')
    runningJob(path, process.ppid, HEARTBEAT_STALE_MS + 5000)
    const db = openLibrary(path)
    const r = reapInterrupted(db, 'import', new Set())
    expect(r.live).toEqual([])
    expect(r.interrupted.map((j) => [j.id, j.status])).toEqual([[1, 'interrupted']])
    expect(db.prepare('SELECT status FROM jobs WHERE id = 1').pluck().get()).toBe('interrupted')
    db.close()
  })

  it('are interrupted when their process is gone', () => {
    const path = join(tmp.path, 'gone.lineup')
    runningJob(path, 2 ** 22 + 12345, 0) // above Linux's default pid_max: no such process
    const db = openLibrary(path)
    expect(reapInterrupted(db, 'import', new Set()).interrupted).toHaveLength(1)
    db.close()
  })

  it("this process's own jobs are live exactly while it runs them", () => {
    const path = join(tmp.path, 'own.lineup')
    const id = runningJob(path, process.pid, HEARTBEAT_STALE_MS * 2)
    const db = openLibrary(path)
    expect(reapInterrupted(db, 'import', new Set([id])).live).toHaveLength(1)
    expect(reapInterrupted(db, 'import', new Set()).interrupted).toHaveLength(1)
    db.close()
  })
})
