import { describe, expect, it } from 'vitest'
import {
  averagePrecision,
  deltaApSwap,
  inverseRankPrefix,
  type ApVariant,
} from '../../../src-main/engine/ranking/ap'
import { batchMetrics, rankTripletLoss } from '../../../src-main/engine/ranking/rank-triplet'
import { mulberry32, pairwiseSq, randomBatch, sumCD } from './helpers'

/** Brute-force AP of a list of booleans (true = positive), either variant. */
function bruteAp(list: boolean[], variant: ApVariant): number {
  const ranks: number[] = []
  list.forEach((p, r) => p && ranks.push(r + 1))
  return averagePrecision(ranks, ranks.length, variant)
}

/**
 * Independent reference of DESIGN.md §4: rank with a comparator (pessimistic ties), swap each
 * mis-ranked pair in a copy of the list, recompute AP and R1 from scratch.
 */
function bruteRankTriplet(
  D: Float64Array,
  labels: number[],
  margin: number,
  variant: ApVariant,
  baseline = false,
) {
  const n = labels.length
  let loss = 0
  let misranked = 0
  for (let i = 0; i < n; i++) {
    const others = [...Array(n).keys()].filter((j) => j !== i)
    const key = (j: number) => D[i * n + j]! + (labels[j] === labels[i] ? margin : 0)
    const isPos = (j: number) => labels[j] === labels[i]
    others.sort((a, b) => key(a) - key(b) || (isPos(a) === isPos(b) ? a - b : isPos(a) ? 1 : -1))
    const list = others.map(isPos)
    const ap0 = bruteAp(list, variant)
    const r10 = list[0] ? 1 : 0
    let sum = 0
    let k = 0
    for (let rj = 0; rj < others.length; rj++) {
      if (!list[rj]) continue
      for (let rk = 0; rk < rj; rk++) {
        if (list[rk]) continue
        const swapped = [...list]
        swapped[rj] = false
        swapped[rk] = true
        const w = baseline ? 1 : bruteAp(swapped, variant) - ap0 + ((swapped[0] ? 1 : 0) - r10)
        sum += (D[i * n + others[rj]!]! + margin - D[i * n + others[rk]!]!) * w
        k++
      }
    }
    if (k > 0) loss += sum / k
    misranked += k
  }
  return { loss: loss / n, misranked }
}

describe('AP and the ΔAP of a swap (DESIGN.md §4.4–4.5)', () => {
  it('computes standard and paper AP of a written-out ranking', () => {
    // Positives at ranks 2 and 4 of [neg, pos, neg, pos].
    expect(averagePrecision([2, 4], 2, 'standard')).toBeCloseTo((1 / 2 + 2 / 4) / 2, 15)
    expect(averagePrecision([2, 4], 2, 'paper')).toBeCloseTo(0.5 + 1 / 4 - 1 / 8, 15)
    expect(averagePrecision([1, 2, 3], 3)).toBe(1)
    expect(averagePrecision([], 0)).toBe(0)
  })

  it('matches brute-force recomputation on thousands of random rankings, and is always > 0', () => {
    const rand = mulberry32(7)
    let pairs = 0
    for (let trial = 0; trial < 3000; trial++) {
      const len = 2 + Math.floor(rand() * 30)
      const list = Array.from({ length: len }, () => rand() < 0.3)
      if (!list.some(Boolean)) list[Math.floor(rand() * len)] = true
      const ranks = list.flatMap((p, r) => (p ? [r + 1] : []))
      const m = ranks.length
      const prefix = inverseRankPrefix(ranks, m, new Float64Array(m + 1))
      for (const variant of ['standard', 'paper'] as const) {
        const ap0 = bruteAp(list, variant)
        let s = 0
        for (let rk = 1; rk <= len; rk++) {
          if (list[rk - 1]) {
            s++
            continue
          }
          for (let t = s + 1; t <= m; t++) {
            const swapped = [...list]
            swapped[ranks[t - 1]! - 1] = false
            swapped[rk - 1] = true
            const expected = bruteAp(swapped, variant) - ap0
            const got = deltaApSwap(ranks, prefix, m, t, rk, s, variant)
            expect(got).toBeCloseTo(expected, 12)
            expect(got).toBeGreaterThan(0)
            pairs++
          }
        }
      }
    }
    expect(pairs).toBeGreaterThan(10_000)
  })
})

describe('Rank-Triplet loss (DESIGN.md §4.6–4.7)', () => {
  it('pins a hand-worked batch', () => {
    // Labels [0, 0, 1]; D01 = 0.5, D02 = 0.2, D12 = 0.9; m = 0.1.
    // Query 0: D' = {1: 0.6 (pos), 2: 0.2 (neg)} → list [neg, pos], π = (2), K = 1.
    //   swap → [pos, neg]: ΔAP = 1 − 1/2 = 0.5, ΔR1 = 1 → w = 1.5; term (0.5 + 0.1 − 0.2)·1.5 = 0.6.
    // Query 1: D' = {0: 0.6 (pos), 2: 0.9 (neg)} → correct, K = 0. Query 2: no positive.
    // L = (0.6 + 0 + 0)/3 = 0.2; baseline: 0.4/3.
    const D = new Float64Array([0, 0.5, 0.2, 0.5, 0, 0.9, 0.2, 0.9, 0])
    const r = rankTripletLoss(D, [0, 0, 1], { margin: 0.1 })
    expect(r.loss).toBeCloseTo(0.2, 15)
    expect(r.misranked).toBe(1)
    // C: row 0 gets +w/(nK) on the positive and −w/(nK) on the negative.
    expect(Array.from(r.coeff)).toEqual([0, 0.5, -0.5, 0, 0, 0, 0, 0, 0].map((x) => x + 0))
    expect(r.constant).toBeCloseTo((0.1 * 1.5) / 3, 15)
    expect(rankTripletLoss(D, [0, 0, 1], { margin: 0.1, weighting: 'baseline' }).loss).toBeCloseTo(
      0.4 / 3,
      15,
    )
    // Online metrics by plain D: query 0 ranks 2 (0.2) before 1 (0.5) → AP 1/2, R1 0; query 1 → AP 1.
    expect(r.batchMAP).toBeCloseTo(0.75, 15)
    expect(r.batchR1).toBeCloseTo(0.5, 15)
    expect(r.validQueries).toBe(2)
  })

  it('pins the weights of a written-out list with three mis-ranked pairs', () => {
    // Query 0 of labels [0, 0, 1, 0, 1], row D0 = [0, 0.5, 0.2, 0.9, 0.7], m = 0.1:
    // D' → 2: 0.2 (neg, r=1), 1: 0.6 (pos, r=2), 4: 0.7 (neg, r=3), 3: 1.0 (pos, r=4); π = (2, 4).
    // (1,2): ΔAP = ½(1/1 − 1/2) = 0.25, +ΔR1 1 → 1.25
    // (3,2): ΔAP = ½(1/1 − 2/4 + 1/2) = 0.5, +1 → 1.5
    // (3,4): ΔAP = ½(2/3 − 2/4) = 1/12 → 1/12
    // Other rows are set so that they have no mis-ranked pair (their C rows stay 0).
    const n = 5
    const D = new Float64Array(n * n).fill(5)
    const row0 = [0, 0.5, 0.2, 0.9, 0.7]
    for (let j = 0; j < n; j++) {
      D[j] = row0[j]!
      D[j * n] = row0[j]!
      D[j * n + j] = 0
    }
    const labels = [0, 0, 1, 0, 1]
    D[1 * n + 3] = D[3 * n + 1] = 0.01
    D[2 * n + 4] = D[4 * n + 2] = 0.01
    const r = rankTripletLoss(D, labels, { margin: 0.1 })
    const K = 3
    const scale = 1 / (n * K)
    expect(r.coeff[1]).toBeCloseTo(1.25 * scale, 14)
    expect(r.coeff[3]).toBeCloseTo((1.5 + 1 / 12) * scale, 14)
    expect(r.coeff[2]).toBeCloseTo(-(1.25 + 1.5) * scale, 14)
    expect(r.coeff[4]).toBeCloseTo(-(1 / 12) * scale, 14)
    const brute = bruteRankTriplet(D, labels, 0.1, 'standard')
    expect(r.loss).toBeCloseTo(brute.loss, 14)
    expect(r.misranked).toBe(brute.misranked)
  })

  it('agrees with the brute-force reference on random batches, ties included, both AP variants', () => {
    const rand = mulberry32(11)
    for (let trial = 0; trial < 200; trial++) {
      const { labels, X, d } = randomBatch(
        rand,
        2 + Math.floor(rand() * 5),
        1 + Math.floor(rand() * 4),
        1 + Math.floor(rand() * 5),
      )
      // Every 4th batch on an integer grid, so distances tie.
      if (trial % 4 === 0) for (let i = 0; i < X.length; i++) X[i] = Math.round(X[i]! * 2)
      const D = pairwiseSq(X, labels.length, d)
      const margin = [0, 0.3, 1][trial % 3]!
      for (const ap of ['standard', 'paper'] as const) {
        for (const weighting of ['rank-triplet', 'baseline'] as const) {
          const r = rankTripletLoss(D, labels, { margin, ap, weighting })
          const b = bruteRankTriplet(D, labels, margin, ap, weighting === 'baseline')
          expect(r.loss).toBeCloseTo(b.loss, 12)
          expect(r.misranked).toBe(b.misranked)
          expect(sumCD(r.coeff, D) + r.constant).toBeCloseTo(r.loss, 12)
        }
      }
    }
  })

  it('computes the weights of a 32 × 4 batch well inside the 2 ms budget', () => {
    const rand = mulberry32(3)
    const { labels, X, d } = randomBatch(rand, 32, 4, 64)
    const D = pairwiseSq(X, labels.length, d)
    for (let i = 0; i < 20; i++) rankTripletLoss(D, labels, { margin: 0.3 })
    const t0 = performance.now()
    const reps = 50
    for (let i = 0; i < reps; i++) rankTripletLoss(D, labels, { margin: 0.3 })
    const ms = (performance.now() - t0) / reps
    // Generous bound for a loaded CI machine; bench/ranking-loss.ts records the real figure.
    expect(ms).toBeLessThan(10)
  })
})

describe('degenerate batches behave', () => {
  it('one identity: nothing is mis-ranked, loss 0, mAP 1', () => {
    const D = pairwiseSq(new Float64Array([0, 1, 2, 3]), 4, 1)
    const r = rankTripletLoss(D, [5, 5, 5, 5], { margin: 0.5 })
    expect(r).toMatchObject({ loss: 0, misranked: 0, batchMAP: 1, batchR1: 1, validQueries: 4 })
    expect(r.coeff.every((c) => c === 0)).toBe(true)
  })

  it('all singletons: no query has a positive, loss 0, no valid query', () => {
    const D = pairwiseSq(new Float64Array([0, 1, 2]), 3, 1)
    expect(rankTripletLoss(D, [1, 2, 3], { margin: 0.5 })).toMatchObject({
      loss: 0,
      misranked: 0,
      validQueries: 0,
      batchMAP: 0,
    })
  })

  it('identical embeddings: every pair ties and counts as mis-ranked, with a gradient', () => {
    const D = new Float64Array(16)
    const r = rankTripletLoss(D, [0, 0, 1, 1], { margin: 0.2 })
    expect(r.misranked).toBe(8) // each query: 1 positive behind 2 negatives = 2 pairs
    expect(r.loss).toBeGreaterThan(0)
    const zeroMargin = rankTripletLoss(D, [0, 0, 1, 1], { margin: 0 })
    expect(zeroMargin.loss).toBe(0)
    expect(zeroMargin.coeff.some((c) => c !== 0)).toBe(true)
  })

  it('n = 2 and d = 1', () => {
    const D = pairwiseSq(new Float64Array([0, 1]), 2, 1)
    expect(rankTripletLoss(D, [0, 0], { margin: 1 })).toMatchObject({ loss: 0, misranked: 0, batchMAP: 1 })
    expect(rankTripletLoss(D, [0, 1], { margin: 1 })).toMatchObject({
      loss: 0,
      misranked: 0,
      validQueries: 0,
    })
  })

  it('rejects a matrix that does not fit the labels, and non-finite distances', () => {
    expect(() => rankTripletLoss(new Float64Array(3), [0, 1], { margin: 1 })).toThrow(/2×2/)
    expect(() => rankTripletLoss(new Float64Array([0, NaN, NaN, 0]), [0, 1], { margin: 1 })).toThrow(
      /not finite/,
    )
  })
})

describe('online metrics', () => {
  it('batchMetrics ranks by plain D', () => {
    const D = pairwiseSq(new Float64Array([0, 0.1, 1, 1.1]), 4, 1)
    expect(batchMetrics(D, [0, 0, 1, 1])).toEqual({ batchMAP: 1, batchR1: 1, validQueries: 4 })
    const swapped = batchMetrics(D, [0, 1, 0, 1])
    expect(swapped.batchR1).toBe(0)
  })
})
