/**
 * Before/after on the analyst's own labels (src-main/engine/training/label-comparison.ts): each
 * person's query ranks every other crop of the library with two models; the confirmed matches'
 * ranks, AP and R1 are checked against hand computations on 2-d unit vectors given by their angle,
 * and against a plain re-implementation on random vectors.
 */
import { join } from 'node:path'
import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { openLibrary, type Db } from '../../../src-main/engine/db/open'
import { insertModel, type StoredModel } from '../../../src-main/engine/library/models'
import { compareOnLabels } from '../../../src-main/engine/training/label-comparison'
import { tempDir } from '../../helpers/tmp'
import { mulberry32 } from '../ranking/helpers'

const tmp = tempDir('lineup-label-comparison-')
afterAll(() => tmp.dispose())
let n = 0

const CROPS = 40

function newLibrary(dim: number): { db: Db; before: StoredModel; after: StoredModel } {
  const db = openLibrary(join(tmp.path, `lib-${++n}.lineup`))
  db.prepare(`INSERT INTO sources (root, layout, created_at) VALUES ('/case', 'generic', 'now')`).run()
  db.prepare(
    `INSERT INTO jobs (kind, status, params, started_at) VALUES ('import', 'done', '{}', 'now')`,
  ).run()
  const crop = db.prepare(
    `INSERT INTO crops (id, source_id, rel_path, sha256, bytes, width, height, format, imported_at, job_id, kind)
     VALUES (?, 1, ?, ?, 100, 64, 128, 'png', 'now', 1, 'unlabelled')`,
  )
  for (let c = 1; c <= CROPS; c++) crop.run(c, `c/${c}.png`, c.toString(16).padStart(64, '0'))
  const model = (key: string, name: string) =>
    insertModel(db, { key, kind: 'builtin', name, dim, config: {}, file: null, bytes: null }).model
  return { db, before: model('test:before', 'Before'), after: model('test:after', 'After') }
}

function put(db: Db, model: StoredModel, vectors: Record<number, number[]>): void {
  const stmt = db.prepare('INSERT INTO embeddings (model_id, crop_id, vector) VALUES (?, ?, ?)')
  for (const [crop, v] of Object.entries(vectors)) {
    const f = Float32Array.from(v)
    stmt.run(model.id, Number(crop), Buffer.from(f.buffer, f.byteOffset, f.byteLength))
  }
}

/** A 2-d unit vector at `deg` degrees: similarity to the query = cos of the angle between them. */
const at = (deg: number): number[] => [Math.cos((deg * Math.PI) / 180), Math.sin((deg * Math.PI) / 180)]
const angles = (a: Record<number, number>): Record<number, number[]> =>
  Object.fromEntries(Object.entries(a).map(([c, d]) => [c, at(d)]))

const byCrop = <T extends { cropId: number }>(xs: T[]): T[] => [...xs].sort((a, b) => a.cropId - b.cropId)

describe('compareOnLabels', () => {
  let db: Db
  let before: StoredModel
  let after: StoredModel
  beforeEach(() => {
    ;({ db, before, after } = newLibrary(2))
    return () => db.close()
  })

  it('gives each confirmed match its rank before and after, and AP / R1 per person and as means', () => {
    //                 crop: 1   2   3   4   5   6
    put(db, before, angles({ 1: 0, 2: 50, 3: 10, 4: 20, 5: 30, 6: 90 }))
    put(db, after, angles({ 1: 0, 2: 5, 3: 40, 4: 40, 5: 60, 6: 180 }))
    const persons = [
      { personId: 1, name: 'A', queryCropId: 1, confirmed: [1, 2, 3] },
      { personId: 2, name: 'B', queryCropId: 6, confirmed: [6, 5] },
    ]
    const r = compareOnLabels(db, before, after, persons, true)
    expect(r.heldOut).toBe(true)
    expect(r.persons.map((p) => [p.personId, p.name])).toEqual([
      [1, 'A'],
      [2, 'B'],
    ])
    // A before: 3 (10°), 4, 5, 2 (50°), 6 → 3 first, 2 fourth: AP = (1/1 + 2/4) / 2.
    // A after: 2 (5°), then 3 and 4 tied at 40° → 3 counts 4 before it: rank 3; AP = (1/1 + 2/3) / 2.
    const a = r.persons[0]!
    expect(byCrop(a.matches)).toEqual([
      { cropId: 2, before: 4, after: 1 },
      { cropId: 3, before: 1, after: 3 },
    ])
    expect(a.before.AP).toBeCloseTo(0.75, 12)
    expect(a.before.R1).toBe(1)
    expect(a.after.AP).toBeCloseTo(5 / 6, 12)
    expect(a.after.R1).toBe(1)
    // B (query at 90°) before: 2 (40° away) ranks before 5 (60° away): rank 2, AP 1/2, R1 0.
    // B (query at 180°) after: 5 (120° away) is the nearest: rank 1.
    const b = r.persons[1]!
    expect(b.matches).toEqual([{ cropId: 5, before: 2, after: 1 }])
    expect(b.before).toEqual({ AP: 0.5, R1: 0 })
    expect(b.after).toEqual({ AP: 1, R1: 1 })
    expect(r.before.mAP).toBeCloseTo((0.75 + 0.5) / 2, 12)
    expect(r.before.R1).toBe(0.5)
    expect(r.after.mAP).toBeCloseTo((5 / 6 + 1) / 2, 12)
    expect(r.after.R1).toBe(1)
  })

  it('counts ties against the match (pessimistic), before and after', () => {
    put(db, before, angles({ 1: 0, 2: 30, 3: 30, 4: 30, 5: 60 }))
    put(db, after, angles({ 1: 0, 2: 10, 3: 30, 4: 30, 5: 10 }))
    const r = compareOnLabels(
      db,
      before,
      after,
      [{ personId: 7, name: 'T', queryCropId: 1, confirmed: [1, 2] }],
      false,
    )
    expect(r.heldOut).toBe(false)
    // Before: 3 and 4 tie with the match 2: both rank before it. After: 5 ties with it.
    expect(r.persons[0]!.matches).toEqual([{ cropId: 2, before: 3, after: 2 }])
    expect(r.persons[0]!.before.AP).toBeCloseTo(1 / 3, 12)
    expect(r.persons[0]!.before.R1).toBe(0)
    expect(r.persons[0]!.after).toEqual({ AP: 0.5, R1: 0 })
  })

  it('never counts the query crop itself, even when another crop looks exactly like it', () => {
    // Crop 2 is identical to the query; crop 3 is identical too but not confirmed.
    put(db, before, angles({ 1: 0, 2: 0, 3: 20, 4: 40 }))
    put(db, after, angles({ 1: 0, 2: 0, 3: 0, 4: 40 }))
    const r = compareOnLabels(
      db,
      before,
      after,
      [{ personId: 1, name: 'Q', queryCropId: 1, confirmed: [1, 2] }],
      true,
    )
    expect(r.persons[0]!.matches).toEqual([{ cropId: 2, before: 1, after: 2 }])
    expect(r.persons[0]!.before).toEqual({ AP: 1, R1: 1 })
    expect(r.persons[0]!.after).toEqual({ AP: 0.5, R1: 0 })
    // The query never appears among the matches.
    expect(r.persons[0]!.matches.map((m) => m.cropId)).not.toContain(1)
  })

  it('does not count tied confirmed matches against each other', () => {
    // Before: matches 2 and 3 are identical and nearest to the query: whatever the order, the
    // first two results are both matches, so AP = 1 and R1 = 1.
    // After: 2, 3 and the non-match 4 are identical: the worst order puts 4 first, the matches at
    // 2 and 3: AP = (1/2 + 2/3) / 2, R1 = 0.
    put(db, before, angles({ 1: 0, 2: 10, 3: 10, 4: 30 }))
    put(db, after, angles({ 1: 0, 2: 10, 3: 10, 4: 10 }))
    const r = compareOnLabels(
      db,
      before,
      after,
      [{ personId: 1, name: 'D', queryCropId: 1, confirmed: [1, 2, 3] }],
      true,
    )
    const p = r.persons[0]!
    expect.soft(p.before.R1).toBe(1)
    expect.soft(p.before.AP).toBeCloseTo(1, 12)
    expect.soft(p.after.R1).toBe(0)
    expect.soft(p.after.AP).toBeCloseTo((1 / 2 + 2 / 3) / 2, 12)
  })

  it('leaves out a person with no confirmed match besides the query', () => {
    put(db, before, angles({ 1: 0, 2: 10, 3: 20, 4: 30 }))
    put(db, after, angles({ 1: 0, 2: 10, 3: 20, 4: 30 }))
    const lonely = { personId: 3, name: 'Lonely', queryCropId: 4, confirmed: [4] }
    const r = compareOnLabels(
      db,
      before,
      after,
      [lonely, { personId: 5, name: 'E', queryCropId: 1, confirmed: [1, 3] }],
      true,
    )
    expect(r.persons.map((p) => p.personId)).toEqual([5])
    // Means over the compared persons only (E: match 3 second, AP 1/2).
    expect(r.before).toEqual({ mAP: 0.5, R1: 0 })
    expect(r.after).toEqual({ mAP: 0.5, R1: 0 })
    const none = compareOnLabels(db, before, after, [lonely], true)
    expect(none.persons).toEqual([])
    expect(none.before).toEqual({ mAP: 0, R1: 0 })
    expect(none.after).toEqual({ mAP: 0, R1: 0 })
  })

  it('matches a plain re-implementation on random vectors (no ties)', () => {
    db.close()
    ;({ db, before, after } = newLibrary(8))
    const rand = mulberry32(11)
    const unit = (): number[] => {
      const v = Array.from({ length: 8 }, () => rand() - 0.5)
      const s = Math.hypot(...v)
      return v.map((x) => x / s)
    }
    const vb: Record<number, number[]> = {}
    const va: Record<number, number[]> = {}
    for (let c = 1; c <= CROPS; c++) {
      vb[c] = unit()
      va[c] = unit()
    }
    put(db, before, vb)
    put(db, after, va)
    const persons = [
      { personId: 1, name: 'P1', queryCropId: 3, confirmed: [3, 7, 19, 33] },
      { personId: 2, name: 'P2', queryCropId: 40, confirmed: [40, 1] },
      { personId: 4, name: 'P4', queryCropId: 12, confirmed: [12, 13, 14, 15, 16, 30] },
    ]
    const f32 = (v: number[]) => Float32Array.from(v)
    const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0)
    /** Ranks of the positives in the query's full ranking (the query left out), AP and R1. */
    const reference = (vectors: Record<number, number[]>, p: (typeof persons)[number]) => {
      const q = f32(vectors[p.queryCropId]!)
      const order = Object.keys(vectors)
        .map(Number)
        .filter((c) => c !== p.queryCropId)
        .map((c) => ({ c, s: dot(q, f32(vectors[c]!)) }))
        .sort((x, y) => y.s - x.s)
        .map((x) => x.c)
      const positives = new Set(p.confirmed.filter((c) => c !== p.queryCropId))
      const ranks = new Map<number, number>()
      let hits = 0
      let ap = 0
      order.forEach((c, i) => {
        if (!positives.has(c)) return
        ranks.set(c, i + 1)
        ap += ++hits / (i + 1)
      })
      return { ranks, AP: ap / positives.size, R1: positives.has(order[0]!) ? 1 : 0 }
    }
    const r = compareOnLabels(db, before, after, persons, true)
    expect(r.persons.map((p) => p.personId)).toEqual([1, 2, 4])
    persons.forEach((p, i) => {
      const rb = reference(vb, p)
      const ra = reference(va, p)
      const got = r.persons[i]!
      expect(byCrop(got.matches)).toEqual(
        [...rb.ranks.keys()]
          .sort((x, y) => x - y)
          .map((c) => ({ cropId: c, before: rb.ranks.get(c), after: ra.ranks.get(c) })),
      )
      expect(got.before.AP).toBeCloseTo(rb.AP, 12)
      expect(got.after.AP).toBeCloseTo(ra.AP, 12)
      expect(got.before.R1).toBe(rb.R1)
      expect(got.after.R1).toBe(ra.R1)
    })
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length
    expect(r.before.mAP).toBeCloseTo(mean(persons.map((p) => reference(vb, p).AP)), 12)
    expect(r.after.mAP).toBeCloseTo(mean(persons.map((p) => reference(va, p).AP)), 12)
    expect(r.before.R1).toBeCloseTo(mean(persons.map((p) => reference(vb, p).R1)), 12)
    expect(r.after.R1).toBeCloseTo(mean(persons.map((p) => reference(va, p).R1)), 12)
  })
})
