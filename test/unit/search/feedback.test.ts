import { describe, expect, it } from 'vitest'
import { FEEDBACK, penaliseNearRejected, rocchioQuery } from '../../../src-main/engine/search/feedback'

const unit = (v: number[]) => {
  const n = Math.hypot(...v)
  return v.map((x) => x / n)
}
const rows = (...vs: number[][]) => Float32Array.from(vs.flat())
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!
  return s
}
const norm = (a: ArrayLike<number>) => Math.sqrt(dot(a, a))

/** Deterministic pseudo-random unit vectors (mulberry32). */
function randomUnits(count: number, d: number, seed: number): number[][] {
  let a = seed >>> 0
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5
  }
  return Array.from({ length: count }, () => unit(Array.from({ length: d }, rand)))
}

describe('rocchioQuery', () => {
  it('is the normalised mean of the positives when there are no negatives', () => {
    const q = rocchioQuery(rows([1, 0, 0], [0, 1, 0]), new Float32Array(0), 3, FEEDBACK.gamma)
    expect(Array.from(q)).toEqual([Math.fround(Math.SQRT1_2), Math.fround(Math.SQRT1_2), 0])
    const one = unit([0.2, -0.5, 0.8, 0.1])
    const single = rocchioQuery(rows(one), new Float32Array(0), 4, 0.3)
    single.forEach((x, k) => expect(x).toBeCloseTo(one[k]!, 6))
  })

  it('equals normalise(mean(pos) − γ·mean(neg))', () => {
    const [p1, p2, n1, n2] = randomUnits(4, 8, 7)
    const gamma = 0.3
    const q = rocchioQuery(rows(p1!, p2!), rows(n1!, n2!), 8, gamma)
    const expected = unit(p1!.map((_, k) => (p1![k]! + p2![k]!) / 2 - (gamma * (n1![k]! + n2![k]!)) / 2))
    q.forEach((x, k) => expect(x).toBeCloseTo(expected[k]!, 6))
  })

  it('moves the query away from the negatives, and a larger γ moves it further', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const vs = randomUnits(5, 16, seed)
      const pos = rows(vs[0]!, vs[1]!)
      const neg = rows(vs[2]!, vs[3]!, vs[4]!)
      const negMean = Array.from({ length: 16 }, (_, k) => (vs[2]![k]! + vs[3]![k]! + vs[4]![k]!) / 3)
      const plain = rocchioQuery(pos, new Float32Array(0), 16, FEEDBACK.gamma)
      const fed = rocchioQuery(pos, neg, 16, FEEDBACK.gamma)
      const more = rocchioQuery(pos, neg, 16, 1)
      expect(dot(fed, negMean)).toBeLessThan(dot(plain, negMean))
      expect(dot(more, negMean)).toBeLessThan(dot(fed, negMean))
    }
  })

  it('returns a unit vector (or zeros, never NaN, when the negatives cancel the positives)', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const vs = randomUnits(6, 32, 100 + seed)
      const q = rocchioQuery(rows(vs[0]!, vs[1]!, vs[2]!), rows(vs[3]!, vs[4]!, vs[5]!), 32, FEEDBACK.gamma)
      expect(q).toHaveLength(32)
      expect(norm(q)).toBeCloseTo(1, 5)
    }
    const v = unit([1, 2, 3])
    const zero = rocchioQuery(rows(v), rows(v), 3, 1)
    expect(Array.from(zero)).toEqual([0, 0, 0])
  })

  it('ignores the negatives with γ = 0', () => {
    const [p, m] = randomUnits(2, 6, 3)
    expect(rocchioQuery(rows(p!), rows(m!), 6, 0)).toEqual(
      rocchioQuery(rows(p!), new Float32Array(0), 6, 0.3),
    )
  })
})

describe('penaliseNearRejected', () => {
  const params = { lambda: FEEDBACK.lambda, margin: FEEDBACK.margin }

  it('sinks a candidate identical to a rejected vector below the ones far from every rejected vector', () => {
    const rejected = [1, 0, 0]
    // Candidate 0 is the rejected crop's twin and was ranked first; 1 and 2 are orthogonal to it
    // (squared distance 2, beyond the margin).
    const { order, distances } = penaliseNearRejected(
      [0.1, 0.3, 0.5],
      rows(rejected, [0, 1, 0], [0, 0, 1]),
      rows(rejected),
      3,
      params,
    )
    expect(Array.from(order)).toEqual([1, 2, 0])
    expect(distances[0]).toBeCloseTo(0.3, 12)
    expect(distances[1]).toBeCloseTo(0.5, 12)
    expect(distances[2]).toBeCloseTo(0.1 + FEEDBACK.lambda * FEEDBACK.margin, 6)
  })

  it('leaves untouched candidates farther than the margin from every rejected vector, or nearer the query than any', () => {
    const cands = randomUnits(40, 12, 11)
    const neg = randomUnits(3, 12, 12)
    const dist = Array.from({ length: 40 }, (_, i) => i * 0.05)
    const { order, distances } = penaliseNearRejected(dist, rows(...cands), rows(...neg), 12, params)
    let farChecked = 0
    const at = new Map(Array.from(order, (i, r) => [i, distances[r]!]))
    cands.forEach((c, i) => {
      const nearest = Math.min(...neg.map((n) => 2 - 2 * dot(c, n)))
      if (nearest >= params.margin || nearest >= dist[i]!) {
        expect(at.get(i)).toBe(dist[i]) // exactly the same number
        farChecked++
      } else {
        expect(at.get(i)).toBeGreaterThan(dist[i]!)
      }
    })
    expect(farChecked).toBeGreaterThan(10)
  })

  it('uses the nearest rejected vector and scales with λ', () => {
    const c = unit([1, 1, 0])
    // Rejected: one at squared distance 2 − 2·cos45° ≈ 0.586 (within the margin), one orthogonal.
    const neg = rows([1, 0, 0], [0, 0, 1])
    const d = 2 - 2 * Math.SQRT1_2
    for (const lambda of [0.5, 1, 2]) {
      // 0.7 from the query: nearer the rejected vector (0.586) than the query, so penalised.
      const { distances } = penaliseNearRejected([0.7], rows(c), neg, 3, { lambda, margin: 0.8 })
      expect(distances[0]).toBeCloseTo(0.7 + lambda * (0.8 - d), 6)
    }
    // 0.2 from the query: nearer the query than the rejected vector, so a true-match candidate: untouched.
    expect(penaliseNearRejected([0.2], rows(c), neg, 3, { lambda: 1, margin: 0.8 }).distances[0]).toBe(0.2)
  })

  it('changes nothing without rejected vectors', () => {
    const cands = randomUnits(5, 4, 5)
    const { order, distances } = penaliseNearRejected(
      [0.1, 0.2, 0.2, 0.3, 0.9],
      rows(...cands),
      new Float32Array(0),
      4,
      params,
    )
    expect(Array.from(order)).toEqual([0, 1, 2, 3, 4])
    expect(Array.from(distances)).toEqual([0.1, 0.2, 0.2, 0.3, 0.9])
  })

  it('keeps the original order on ties', () => {
    // All beyond the margin, all at the same distance.
    const far = penaliseNearRejected(
      [0.25, 0.25, 0.25, 0.25],
      rows([0, 1, 0], [0, 0, 1], [0, -1, 0], [0, 0, -1]),
      rows([1, 0, 0]),
      3,
      params,
    )
    expect(Array.from(far.order)).toEqual([0, 1, 2, 3])
    // A tie made by the penalty: candidate 0 (0.5 from the query, at squared distance 0.25 from the
    // rejected vector: penalty 0.75 − 0.25) meets candidates 1 and 2 (1.0, unpenalised) at exactly 1.
    const made = penaliseNearRejected(
      [0.5, 1, 1],
      rows([0.875, Math.sqrt(1 - 0.765625), 0], [0, 0, 1], [0, -1, 0]),
      rows([1, 0, 0]),
      3,
      { lambda: 1, margin: 0.75 },
    )
    expect(Array.from(made.distances)).toEqual([1, 1, 1])
    expect(Array.from(made.order)).toEqual([0, 1, 2])
  })

  it('returns the adjusted distances in the new order, ascending', () => {
    const cands = randomUnits(60, 8, 21)
    const neg = randomUnits(2, 8, 22)
    const dist = Array.from({ length: 60 }, (_, i) => 0.3 + i * 0.01)
    const { order, distances } = penaliseNearRejected(dist, rows(...cands), rows(...neg), 8, params)
    expect(order).toBeInstanceOf(Int32Array)
    expect(distances).toBeInstanceOf(Float64Array)
    expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => i))
    for (let r = 0; r < 60; r++) {
      const i = order[r]!
      const nearest = Math.min(...neg.map((n) => Math.max(0, 2 - 2 * dot(cands[i]!, n))))
      const penalty = nearest < dist[i]! ? Math.max(0, params.margin - nearest) : 0
      expect(distances[r]).toBeCloseTo(dist[i]! + penalty, 5)
      if (r > 0) expect(distances[r]).toBeGreaterThanOrEqual(distances[r - 1]!)
    }
  })
})
