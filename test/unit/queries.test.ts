import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openLibrary, type Db } from '../../src-main/engine/db/open'
import { libraryTotals, listCrops, listIdentities } from '../../src-main/engine/library/queries'
import { tempDir } from '../helpers/tmp'

const tmp = tempDir()
let db: Db

/**
 * A library of 6,000 crops: cameras c1–c6 in turn, identity P0001…P0300 in turn (so identity i is on
 * the cameras of i, i+300, … mod 6), plus 600 crops with no identity and 60 with no camera.
 */
beforeAll(() => {
  db = openLibrary(join(tmp.path, 'queries.lineup'))
  db.prepare(`INSERT INTO sources (root, layout, created_at) VALUES ('/crops', 'generic', 'now')`).run()
  db.prepare(
    `INSERT INTO jobs (kind, status, params, started_at) VALUES ('import', 'done', '{}', 'now')`,
  ).run()
  for (let c = 1; c <= 6; c++) db.prepare('INSERT INTO cameras (name) VALUES (?)').run(`c${c}`)
  const insert = db.prepare(
    `INSERT INTO crops (source_id, rel_path, sha256, bytes, width, height, format, camera_id, identity, kind,
                        imported_at, job_id)
     VALUES (1, @rel, @sha, 100, 64, 128, 'jpeg', @camera, @identity, @kind, 'now', 1)`,
  )
  db.transaction(() => {
    for (let i = 0; i < 6660; i++) {
      const identity = i < 6000 && i % 10 !== 9 ? `P${String((i % 300) + 1).padStart(4, '0')}` : null
      insert.run({
        rel: `${i}.jpg`,
        sha: i.toString(16).padStart(64, '0'),
        camera: i < 6600 ? (i % 6) + 1 : null,
        identity,
        kind: identity ? 'labelled' : 'unlabelled',
      })
    }
  })()
})
afterAll(() => {
  db.close()
  tmp.dispose()
})

/** Runs `fn` while recording every SQL statement it prepares and the parameters it binds. */
function capture(fn: () => void): { sql: string; params: unknown[] }[] {
  const seen: { sql: string; params: unknown[] }[] = []
  const original = db.prepare.bind(db)
  const spy = ((sql: string) => {
    const stmt = original(sql)
    const record = (params: unknown[]) => seen.push({ sql, params })
    for (const method of ['get', 'all', 'run'] as const) {
      const call = (stmt[method] as (...a: unknown[]) => unknown).bind(stmt)
      Object.defineProperty(stmt, method, {
        value: (...params: unknown[]) => {
          record(params)
          return call(...params)
        },
      })
    }
    return stmt
  }) as Db['prepare']
  db.prepare = spy
  try {
    fn()
  } finally {
    db.prepare = original
  }
  return seen
}

/** The query plan of each statement `fn` ran, one string per statement. */
function plans(fn: () => void): string[] {
  return capture(fn).map(({ sql, params }) =>
    (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[])
      .map((r) => r.detail)
      .join(' | '),
  )
}

describe('listCrops', () => {
  it('pages through every crop in import order', () => {
    const page = listCrops(db, { offset: 10, limit: 3 })
    expect(page.total).toBe(6660)
    expect(page.offset).toBe(10)
    expect(page.items.map((c) => c.id)).toEqual([11, 12, 13])
    expect(page.items[0]).toEqual({
      id: 11,
      camera: 'c5',
      identity: 'P0011',
      kind: 'labelled',
      width: 64,
      height: 128,
    })
  })

  it('filters by camera name', () => {
    const page = listCrops(db, { camera: 'c2', offset: 0, limit: 5 })
    expect(page.total).toBe(1100)
    expect(page.items.map((c) => c.camera)).toEqual(Array(5).fill('c2'))
    expect(listCrops(db, { camera: 'nowhere', offset: 0, limit: 5 })).toEqual({
      total: 0,
      offset: 0,
      items: [],
    })
  })

  it('filters by identity, and by identity and camera together', () => {
    expect(listCrops(db, { identity: 'P0007', offset: 0, limit: 50 }).total).toBe(20)
    // P0007 is crop 6, 306, 606, …: always camera c1 (300 is a multiple of 6).
    const both = listCrops(db, { identity: 'P0007', camera: 'c1', offset: 0, limit: 50 })
    expect(both.total).toBe(20)
    expect(both.items.every((c) => c.identity === 'P0007' && c.camera === 'c1')).toBe(true)
    expect(listCrops(db, { identity: 'P0007', camera: 'c2', offset: 0, limit: 50 }).total).toBe(0)
  })

  it('finds crops of one camera through the crops_camera index, not a full scan', () => {
    const found = plans(() => listCrops(db, { camera: 'c3', offset: 0, limit: 50 }))
    expect(found).toHaveLength(2) // the count and the page
    for (const plan of found) {
      expect(plan).toMatch(/SEARCH crops USING (COVERING )?INDEX crops_camera \(camera_id=\?\)/)
      expect(plan).not.toMatch(/SCAN crops/)
    }
  })

  it('finds crops of one identity through the crops_identity index, not a full scan', () => {
    const found = plans(() => listCrops(db, { identity: 'P0042', offset: 0, limit: 50 }))
    expect(found).toHaveLength(2)
    for (const plan of found) {
      expect(plan).toMatch(/SEARCH crops USING (COVERING )?INDEX crops_identity \(identity=\?\)/)
      expect(plan).not.toMatch(/SCAN crops/)
    }
  })
})

describe('listIdentities', () => {
  it('lists identities by prefix with their crop counts', () => {
    expect(listIdentities(db, 'P000', null, 3)).toEqual([
      { identity: 'P0001', count: 20 },
      { identity: 'P0002', count: 20 },
      { identity: 'P0003', count: 20 },
    ])
    expect(listIdentities(db, '', undefined, 1000)).toHaveLength(270)
    expect(listIdentities(db, 'Q', null, 10)).toEqual([])
  })

  it('counts only the crops of one camera when given one', () => {
    // P0001 is crop 0, 300, 600, …: always camera c1; P0002 always c2.
    expect(listIdentities(db, 'P0001', 'c1', 10)).toEqual([{ identity: 'P0001', count: 20 }])
    expect(listIdentities(db, 'P0001', 'c2', 10)).toEqual([])
    expect(listIdentities(db, 'P0002', 'c2', 10)).toEqual([{ identity: 'P0002', count: 20 }])
  })
})

describe('libraryTotals', () => {
  it('counts crops, distinct identities and cameras in use', () => {
    expect(libraryTotals(db)).toEqual({ crops: 6660, identities: 270, cameras: 6 })
  })
})
