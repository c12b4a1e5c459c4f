/** The P×K identity sampler, the validation split and the checkpointable Rng. */
import { describe, expect, it } from 'vitest'
import { LineupError } from '../../../src-shared/errors'
import { Rng } from '../../../src-main/engine/training/rng'
import { IdentitySampler, splitIdentities, type Batch } from '../../../src-main/engine/training/sampler'

/** Class per row from counts per class (class c has counts[c] rows), rows interleaved. */
function classesFromCounts(counts: number[], extra: number[] = []): Int32Array {
  const rows: number[] = []
  const left = counts.slice()
  while (left.some((c) => c > 0)) {
    left.forEach((c, id) => {
      if (c > 0) {
        rows.push(id)
        left[id] = c - 1
      }
    })
  }
  return Int32Array.from([...rows, ...extra])
}

function checkBatch(b: Batch, classes: Int32Array, p: number, k: number) {
  expect(b.rows.length).toBe(p * k)
  expect(b.labels.length).toBe(p * k)
  const ids: number[] = []
  for (let slot = 0; slot < p; slot++) {
    const id = b.labels[slot * k]!
    ids.push(id)
    for (let j = 0; j < k; j++) {
      // Every row of a slot carries that slot's label, and is really a row of that identity.
      expect(b.labels[slot * k + j]).toBe(id)
      expect(classes[b.rows[slot * k + j]!]).toBe(id)
    }
  }
  // P distinct identities.
  expect(new Set(ids).size).toBe(p)
}

describe('IdentitySampler', () => {
  it('gives P distinct identities × K rows of the right identity in every batch', () => {
    const counts = Array.from({ length: 40 }, (_, i) => 4 + (i % 9))
    const classes = classesFromCounts(counts)
    const s = new IdentitySampler(classes, { p: 8, k: 4 })
    expect(s.p).toBe(8)
    expect(s.k).toBe(4)
    const rng = new Rng(3)
    for (let e = 0; e < 5; e++) {
      const batches = s.epoch(rng)
      expect(batches.length).toBeGreaterThan(0)
      for (const b of batches) checkBatch(b, classes, 8, 4)
      // Within an epoch a row is used at most once (chunks of K without replacement when n ≥ K).
      const used = batches.flatMap((b) => [...b.rows])
      expect(new Set(used).size).toBe(used.length)
    }
  })

  it('covers each identity ⌊n/K⌋ times per epoch, except what is left over when fewer than P identities remain', () => {
    const counts = [4, 8, 12, 4, 8, 12, 4, 8, 12, 16]
    const classes = classesFromCounts(counts)
    const s = new IdentitySampler(classes, { p: 3, k: 4 })
    const batches = s.epoch(new Rng(5))
    const chunks = counts.reduce((a, c) => a + Math.floor(c / 4), 0)
    const served = batches.length * 3
    expect(served).toBeLessThanOrEqual(chunks)
    // Dealing stops only when fewer than P identities have chunks left: at most (P − 1) identities' leftovers.
    const perId = new Map<number, number>()
    for (const b of batches)
      for (let slot = 0; slot < 3; slot++)
        perId.set(b.labels[slot * 4]!, (perId.get(b.labels[slot * 4]!) ?? 0) + 1)
    const short = counts.map((c, id) => Math.floor(c / 4) - (perId.get(id) ?? 0))
    expect(short.every((v) => v >= 0)).toBe(true)
    expect(short.filter((v) => v > 0).length).toBeLessThanOrEqual(2)
  })

  it('shrinks P to the number of identities', () => {
    const classes = classesFromCounts([6, 5, 4])
    const s = new IdentitySampler(classes, { p: 32, k: 4 })
    expect(s.p).toBe(3)
    const batches = s.epoch(new Rng(1))
    expect(batches.length).toBeGreaterThan(0)
    for (const b of batches) checkBatch(b, classes, 3, 4)
  })

  it('pads identities with fewer than K images with their own rows', () => {
    // Identities 0–2 have 2 or 3 images, K = 4.
    const classes = classesFromCounts([2, 3, 2, 8, 8])
    const s = new IdentitySampler(classes, { p: 5, k: 4 })
    const rng = new Rng(9)
    let small = 0
    for (let e = 0; e < 10; e++) {
      for (const b of s.epoch(rng)) {
        checkBatch(b, classes, 5, 4)
        for (let slot = 0; slot < 5; slot++) {
          const id = b.labels[slot * 4]!
          if (id > 2) continue
          small++
          const rows = [...b.rows.subarray(slot * 4, slot * 4 + 4)]
          // Every one of the identity's images appears, the rest are repeats of its own rows.
          const own = new Set(s.groups[id])
          expect(new Set(rows)).toEqual(own)
        }
      }
    }
    expect(small).toBeGreaterThan(0)
  })

  it('drops identities with fewer than 2 images and rows marked −1', () => {
    const classes = Int32Array.from([0, 0, 1, 2, 2, 2, -1, -1, 3])
    const s = new IdentitySampler(classes, { p: 4, k: 2 })
    expect(s.groups.map((g) => [...g])).toEqual([
      [0, 1],
      [3, 4, 5],
    ])
    expect(s.p).toBe(2)
    for (const b of s.epoch(new Rng(2))) {
      for (const r of b.rows) expect([0, 1, 3, 4, 5]).toContain(r)
    }
  })

  it('refuses fewer than 2 usable identities with a LineupError', () => {
    const one = () => new IdentitySampler(Int32Array.from([0, 0, 0, 1, 2]), { p: 2, k: 2 })
    expect(one).toThrow(LineupError)
    expect(one).toThrow(/at least 2 identities with 2 or more images each \(found 1\)/)
    try {
      one()
    } catch (e) {
      expect((e as LineupError).kind).toBe('invalid-input')
    }
    expect(() => new IdentitySampler(Int32Array.from([-1, -1]), { p: 2, k: 2 })).toThrow(/found 0/)
  })

  it('refuses P or K below 2', () => {
    const classes = classesFromCounts([4, 4])
    expect(() => new IdentitySampler(classes, { p: 1, k: 4 })).toThrow(RangeError)
    expect(() => new IdentitySampler(classes, { p: 2, k: 1 })).toThrow(/K must be an integer ≥ 2/)
    expect(() => new IdentitySampler(classes, { p: 2.5, k: 2 })).toThrow(/P must be an integer ≥ 2/)
  })

  it('replays the same epoch from the same Rng state, and another from another state', () => {
    const classes = classesFromCounts(Array.from({ length: 12 }, (_, i) => 3 + (i % 5)))
    const s = new IdentitySampler(classes, { p: 4, k: 3 })
    const rng = new Rng(77)
    s.epoch(rng)
    const state = rng.state
    const e2 = s.epoch(rng)
    const after = rng.state
    const replay = s.epoch(Rng.fromState(state))
    expect(replay).toEqual(e2)
    const restored = new Rng(1)
    restored.restore(state)
    expect(s.epoch(restored)).toEqual(e2)
    expect(restored.state).toBe(after)
    // A fresh sampler over the same rows gives the same epoch too.
    expect(new IdentitySampler(classes, { p: 4, k: 3 }).epoch(Rng.fromState(state))).toEqual(e2)
    // The next epoch differs.
    expect(s.epoch(rng)).not.toEqual(e2)
  })
})

describe('Rng', () => {
  it('continues the same sequence from its state', () => {
    const a = new Rng(123)
    for (let i = 0; i < 10; i++) a.next()
    const b = Rng.fromState(a.state)
    expect(Array.from({ length: 20 }, () => b.next())).toEqual(Array.from({ length: 20 }, () => a.next()))
  })

  it('draws in range and shuffles into a permutation', () => {
    const r = new Rng(4)
    for (let i = 0; i < 1000; i++) {
      const v = r.next()
      expect(v).toBeGreaterThanOrEqual(0)
      expect(v).toBeLessThan(1)
      const k = r.int(7)
      expect(Number.isInteger(k) && k >= 0 && k < 7).toBe(true)
    }
    const a = Array.from({ length: 50 }, (_, i) => i)
    const s = r.shuffle(a.slice())
    expect([...s].sort((x, y) => x - y)).toEqual(a)
    expect(s).not.toEqual(a)
  })
})

describe('splitIdentities', () => {
  const ids = Array.from({ length: 20 }, (_, i) => i + 1)
  const counts = new Map(ids.map((id) => [id, id === 3 ? 1 : 4]))

  it('holds out the requested share of identities with ≥ 2 images, chosen by the Rng', () => {
    const val = splitIdentities(ids, counts, 0.3, new Rng(1))
    // 19 usable identities × 0.3 → 6.
    expect(val.size).toBe(6)
    expect(val.has(3)).toBe(false)
    for (const id of val) expect(ids).toContain(id)
    expect(splitIdentities(ids, counts, 0.3, new Rng(1))).toEqual(val)
    expect(splitIdentities([...ids].reverse(), counts, 0.3, new Rng(1))).toEqual(val)
    expect(splitIdentities(ids, counts, 0.3, new Rng(2))).not.toEqual(val)
  })

  it('holds out nothing when either side would have fewer than 2 identities', () => {
    expect(splitIdentities(ids, counts, 0, new Rng(1)).size).toBe(0)
    expect(splitIdentities([1, 2, 4], counts, 0.3, new Rng(1)).size).toBe(0)
    expect(splitIdentities([1, 2, 4, 5], counts, 0.5, new Rng(1)).size).toBe(2)
    expect(splitIdentities([1, 2, 4, 5], counts, 0.75, new Rng(1)).size).toBe(0)
  })
})
