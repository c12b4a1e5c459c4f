/**
 * Before/after on the analyst's own labels (issue #6): each compared person's query crop ranks the
 * whole library with the old model and with the new one; the confirmed matches are the positives.
 * Reported per person (AP, R1, and the rank of every confirmed match before and after) and as means.
 * Vectors are streamed from the library, so a large library costs one pass per model, not memory.
 */
import type { LabelComparison } from '../../../src-shared/domain'
import type { Db } from '../db/open'
import type { StoredModel } from '../library/models'
import { storedVector } from '../library/vectors'
import { averagePrecision } from '../ranking/ap'

interface Compared {
  personId: number
  name: string
  queryCropId: number
  confirmed: number[]
}

/** 1-based ranks of the positives among every other crop, by distance (ties count against them). */
function ranksFor(db: Db, model: StoredModel, persons: Compared[]): Map<number, Map<number, number>> {
  const d = model.dim
  const queries = new Map<number, Float32Array>()
  const vectorOf = db.prepare('SELECT vector FROM embeddings WHERE model_id = ? AND crop_id = ?')
  for (const p of persons) {
    const v = vectorOf.get(model.id, p.queryCropId) as { vector: Buffer } | undefined
    if (v) queries.set(p.personId, storedVector(model, p.queryCropId, v.vector))
  }
  // Pass 1: each query's similarity to each positive. Pass 2: count crops at least as similar.
  const posSim = new Map<number, Map<number, number>>()
  const all = () =>
    db.prepare('SELECT crop_id, vector FROM embeddings WHERE model_id = ?').iterate(model.id) as Iterable<{
      crop_id: number
      vector: Buffer
    }>
  const dot = (q: Float32Array, v: Buffer): number => {
    const f = new Float32Array(v.buffer, v.byteOffset, d)
    let s = 0
    for (let k = 0; k < d; k++) s += q[k]! * f[k]!
    return s
  }
  const positives = new Map(
    persons.map((p) => [p.personId, new Set(p.confirmed.filter((c) => c !== p.queryCropId))]),
  )
  for (const r of all()) {
    const v = Buffer.from(r.vector)
    for (const p of persons) {
      const q = queries.get(p.personId)
      if (!q || !positives.get(p.personId)!.has(r.crop_id)) continue
      let m = posSim.get(p.personId)
      if (!m) posSim.set(p.personId, (m = new Map()))
      m.set(r.crop_id, dot(q, v))
    }
  }
  const ranks = new Map<number, Map<number, number>>()
  for (const p of persons)
    ranks.set(p.personId, new Map([...(posSim.get(p.personId) ?? new Map()).keys()].map((c) => [c, 1])))
  for (const r of all()) {
    const v = Buffer.from(r.vector)
    for (const p of persons) {
      const q = queries.get(p.personId)
      const sims = posSim.get(p.personId)
      if (!q || !sims || r.crop_id === p.queryCropId) continue
      const s = dot(q, v)
      const pos = positives.get(p.personId)!
      for (const [c, sc] of sims) {
        if (c === r.crop_id) continue
        // Every other crop at least as similar ranks before c (pessimistic ties), except that two
        // tied matches of the same person are ordered by crop id, so their ranks stay distinct.
        const before = pos.has(r.crop_id) ? s > sc || (s === sc && r.crop_id < c) : s >= sc
        if (before) ranks.get(p.personId)!.set(c, ranks.get(p.personId)!.get(c)! + 1)
      }
    }
  }
  return ranks
}

/** AP (the ranking core's, standard) and R1 from the positives' ranks. */
function apOf(ranks: number[]): { AP: number; R1: number } {
  const sorted = [...ranks].sort((a, b) => a - b)
  return { AP: averagePrecision(sorted, sorted.length), R1: sorted[0] === 1 ? 1 : 0 }
}

export function compareOnLabels(
  db: Db,
  before: StoredModel,
  after: StoredModel,
  persons: Compared[],
  heldOut: boolean,
): LabelComparison {
  const withMatches = persons.filter((p) => p.confirmed.some((c) => c !== p.queryCropId))
  const rb = ranksFor(db, before, withMatches)
  const ra = ranksFor(db, after, withMatches)
  const rows = withMatches.map((p) => {
    const b = rb.get(p.personId) ?? new Map<number, number>()
    const a = ra.get(p.personId) ?? new Map<number, number>()
    const matches = [...b.keys()]
      .filter((c) => a.has(c))
      .map((c) => ({ cropId: c, before: b.get(c)!, after: a.get(c)! }))
    return {
      personId: p.personId,
      name: p.name,
      before: apOf(matches.map((m) => m.before)),
      after: apOf(matches.map((m) => m.after)),
      matches,
    }
  })
  const mean = (f: (r: (typeof rows)[number]) => number) =>
    rows.length ? rows.reduce((s, r) => s + f(r), 0) / rows.length : 0
  return {
    heldOut,
    persons: rows,
    before: { mAP: mean((r) => r.before.AP), R1: mean((r) => r.before.R1) },
    after: { mAP: mean((r) => r.after.AP), R1: mean((r) => r.after.R1) },
  }
}
