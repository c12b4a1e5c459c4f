import { describe, expect, it } from 'vitest'
import {
  evaluateProtocol,
  type ProtocolAp,
  type ProtocolInput,
} from '../../../src-main/engine/ranking/protocol'
import { explainNumpySkip, numpy, rng, runReference } from '../../reference/harness'

const i32 = (xs: number[]) => Int32Array.from(xs)
const f32 = (xs: number[]) => Float32Array.from(xs)

describe('the Market-1501 protocol on hand-worked rankings', () => {
  // Gallery: g0 id 1 cam 1 · g1 id 2 cam 2 · g2 junk (−1) cam 2 · g3 distractor (0) cam 3 · g4 id 1 cam 3.
  //
  // Query 0, id 1, cam 2. Distances 0.4 0.1 0.05 0.2 0.3.
  //   g2 is junk: removed, although it is the nearest. Nothing shares id 1 and cam 2.
  //   Ranked: g1 (0.1, id 2: negative) · g3 (0.2, distractor: negative) · g4 (0.3, hit) · g0 (0.4, hit).
  //   Hits at ranks 3 and 4, M = 2.
  //   standard  AP = (1/3 + 2/4) / 2 = 5/12
  //   trapezoid AP = ½[(0/2 + 1/3)/2 + (1/3 + 2/4)/2] = ½[1/6 + 5/12] = 7/24
  //     (precision just before the first hit is 0 of 2; before the second, 1 of 3)
  //   first hit: rank 3.
  // Query 1, id 2, cam 2: its only id-2 item, g1, is in camera 2 too, so it is removed: no valid
  //   match, the query is skipped (and counted).
  // CMC over the one evaluated query: 0, 0, 1, 1, 1.
  const small: ProtocolInput = {
    distmat: f32([0.4, 0.1, 0.05, 0.2, 0.3, 0.5, 0.1, 0.2, 0.3, 0.4]),
    qPids: i32([1, 2]),
    qCams: i32([2, 2]),
    gPids: i32([1, 2, -1, 0, 1]),
    gCams: i32([1, 2, 2, 3, 3]),
  }

  it('removes junk and same-identity-same-camera items, keeps distractors, skips a query with no match', () => {
    const r = evaluateProtocol(small)
    expect(r.queries).toBe(1)
    expect(r.skipped).toBe(1)
    expect(r.firstHit).toEqual(i32([3, 0]))
    expect(r.perQueryAP[0]).toBeCloseTo(5 / 12, 12)
    expect(r.perQueryAP[1]).toBeNaN()
    expect(r.mAP).toBeCloseTo(5 / 12, 12)
    expect(Array.from(r.cmc)).toEqual([0, 0, 1, 1, 1])
  })

  it('gives the official trapezoid AP, lower than the standard one when the first hit is not at rank 1', () => {
    const r = evaluateProtocol(small, { ap: 'trapezoid' })
    expect(r.perQueryAP[0]).toBeCloseTo(7 / 24, 12)
    expect(r.mAP).toBeCloseTo(7 / 24, 12)
    expect(Array.from(r.cmc)).toEqual([0, 0, 1, 1, 1])
  })

  // Gallery: g0 id 5 cam 1 · g1 id 6 cam 1 · g2 id 5 cam 2 · g3 id 6 cam 2.
  // Query 0, id 5, cam 3: distances 0.2 0.2 0.9 0.1. g0 and g1 tie at 0.2: the lower gallery index
  //   comes first, so: g3 (neg) · g0 (hit) · g1 (neg) · g2 (hit): hits at 2 and 4.
  //   standard (1/2 + 2/4)/2 = 1/2; trapezoid ½[(0/1 + 1/2)/2 + (1/3 + 2/4)/2] = ½[1/4 + 5/12] = 1/3.
  //   (Breaking the tie the other way would put the hits at 3 and 4: standard 5/12.)
  // Query 1, id 6, cam 3: distances 0.3 0.1 0.5 0.2: g1 (hit) · g3 (hit) · g0 · g2: hits at 1 and 2.
  //   standard (1/1 + 2/2)/2 = 1; trapezoid ½[(1 + 1)/2 + (1 + 1)/2] = 1 (precision starts at 1).
  // Query 2, id 6, cam 1: g1 shares id and camera: removed. Distances 0.1 0.05 0.3 0.4:
  //   g0 (neg) · g2 (neg) · g3 (hit): hit at 3. standard 1/3; trapezoid (0/2 + 1/3)/2 = 1/6.
  // mAP: standard (1/2 + 1 + 1/3)/3 = 11/18; trapezoid (1/3 + 1 + 1/6)/3 = 1/2.
  // First hits 2, 1, 3: CMC 1/3, 2/3, 1, 1.
  const three: ProtocolInput = {
    distmat: f32([0.2, 0.2, 0.9, 0.1, 0.3, 0.1, 0.5, 0.2, 0.1, 0.05, 0.3, 0.4]),
    qPids: i32([5, 6, 6]),
    qCams: i32([3, 3, 1]),
    gPids: i32([5, 6, 5, 6]),
    gCams: i32([1, 1, 2, 2]),
  }

  it('breaks distance ties by gallery index and averages CMC over the evaluated queries', () => {
    const r = evaluateProtocol(three)
    expect(Array.from(r.perQueryAP)).toEqual([0.5, 1, 1 / 3].map((x) => expect.closeTo(x, 12)))
    expect(r.mAP).toBeCloseTo(11 / 18, 12)
    expect(r.firstHit).toEqual(i32([2, 1, 3]))
    expect(Array.from(r.cmc)).toEqual([1 / 3, 2 / 3, 1, 1].map((x) => expect.closeTo(x, 12)))
    expect([r.queries, r.skipped]).toEqual([3, 0])
  })

  it('computes the trapezoid variant of the same rankings', () => {
    const r = evaluateProtocol(three, { ap: 'trapezoid' })
    expect(Array.from(r.perQueryAP)).toEqual([1 / 3, 1, 1 / 6].map((x) => expect.closeTo(x, 12)))
    expect(r.mAP).toBeCloseTo(1 / 2, 12)
  })

  it('cuts or extends the CMC curve to maxRank', () => {
    expect(Array.from(evaluateProtocol(three, { maxRank: 2 }).cmc)).toEqual(
      [1 / 3, 2 / 3].map((x) => expect.closeTo(x, 12)),
    )
    expect(Array.from(evaluateProtocol(three, { maxRank: 6 }).cmc).slice(2)).toEqual([1, 1, 1, 1])
  })

  it('reports NaN mAP and a zero CMC when no query can be evaluated', () => {
    const r = evaluateProtocol({ ...small, qPids: i32([7, -1]) })
    expect([r.queries, r.skipped]).toEqual([0, 2])
    expect(r.mAP).toBeNaN()
    expect(Array.from(r.cmc)).toEqual([0, 0, 0, 0, 0])
  })

  it('refuses inconsistent inputs with a message naming the field', () => {
    expect(() => evaluateProtocol({ ...small, distmat: new Float32Array(9) })).toThrow(
      /distmat has 9 values.*2×5/,
    )
    expect(() => evaluateProtocol({ ...small, gCams: i32([1, 2]) })).toThrow(/gCams has 2 entries/)
    expect(() => evaluateProtocol({ ...small, qCams: i32([1]) })).toThrow(/qCams has 1 entries/)
    expect(() => evaluateProtocol(small, { ap: 'paper' as ProtocolAp })).toThrow(
      /unknown AP variant 'paper'.*trapezoid/,
    )
    expect(() => evaluateProtocol(small, { maxRank: 0 })).toThrow(/maxRank/)
    const nan = f32(Array.from(small.distmat))
    nan[4] = Number.NaN
    expect(() => evaluateProtocol({ ...small, distmat: nan })).toThrow(/distmat\[0, 4\] is NaN/)
  })
})

/** A random problem: gallery identities 1..ids, some distractors (0) and junk (−1), quantised distances (ties). */
function randomProblem(
  seed: number,
  nq: number,
  ng: number,
  ids: number,
  cams: number,
  levels: number,
): ProtocolInput {
  const rand = rng(seed)
  const pick = (n: number) => Math.floor(rand() * n)
  const gPids = new Int32Array(ng).map(() => {
    const u = rand()
    return u < 0.1 ? -1 : u < 0.25 ? 0 : 1 + pick(ids)
  })
  return {
    distmat: new Float32Array(nq * ng).map(() => pick(levels) / levels),
    // Ids above `ids` are in no gallery: those queries have no match.
    qPids: new Int32Array(nq).map(() => 1 + pick(ids + 2)),
    qCams: new Int32Array(nq).map(() => pick(cams)),
    gPids,
    gCams: new Int32Array(ng).map(() => pick(cams)),
  }
}

/** The protocol by definition: stable full sort, filter, then AP and CMC position by position. */
function bruteForce(p: ProtocolInput, ap: ProtocolAp, maxRank: number) {
  const nq = p.qPids.length
  const ng = p.gPids.length
  const perQueryAP: number[] = []
  const firstHit: number[] = []
  const cmc = new Array<number>(maxRank).fill(0)
  let queries = 0
  for (let i = 0; i < nq; i++) {
    const order = [...Array(ng).keys()].sort(
      (a, b) => p.distmat[i * ng + a]! - p.distmat[i * ng + b]! || a - b,
    )
    const kept = order.filter(
      (j) => p.gPids[j] !== -1 && !(p.gPids[j] === p.qPids[i] && p.gCams[j] === p.qCams[i]),
    )
    const hit = kept.map((j) => p.gPids[j] === p.qPids[i])
    const m = hit.filter(Boolean).length
    if (m === 0) {
      perQueryAP.push(Number.NaN)
      firstHit.push(0)
      continue
    }
    queries++
    let hits = 0
    let sum = 0
    let previousPrecision = 1
    hit.forEach((h, pos) => {
      if (h) hits++
      const precision = hits / (pos + 1)
      if (h) sum += ap === 'standard' ? precision : (previousPrecision + precision) / 2
      previousPrecision = precision
    })
    perQueryAP.push(sum / m)
    const first = hit.indexOf(true) + 1
    firstHit.push(first)
    for (let k = first; k <= maxRank; k++) cmc[k - 1]! += 1
  }
  return {
    perQueryAP,
    firstHit,
    cmc: cmc.map((c) => c / queries),
    queries,
    mAP: perQueryAP.filter((x) => !Number.isNaN(x)).reduce((a, b) => a + b, 0) / queries,
  }
}

describe('the protocol on random problems', () => {
  it('agrees with a brute-force evaluation (full sort, position by position) on 300 problems', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const rand = rng(seed * 7919)
      const nq = 1 + Math.floor(rand() * 6)
      const ng = 1 + Math.floor(rand() * 60)
      const p = randomProblem(
        seed,
        nq,
        ng,
        1 + Math.floor(rand() * 6),
        1 + Math.floor(rand() * 4),
        2 + Math.floor(rand() * 20),
      )
      const maxRank = 1 + Math.floor(rand() * (ng + 3))
      for (const ap of ['standard', 'trapezoid'] as const) {
        const got = evaluateProtocol(p, { ap, maxRank })
        const want = bruteForce(p, ap, maxRank)
        expect(Array.from(got.firstHit), `seed ${seed}`).toEqual(want.firstHit)
        expect(got.queries).toBe(want.queries)
        expect(got.skipped).toBe(nq - want.queries)
        got.perQueryAP.forEach((x, i) =>
          Number.isNaN(want.perQueryAP[i]!)
            ? expect(x).toBeNaN()
            : expect(x).toBeCloseTo(want.perQueryAP[i]!, 12),
        )
        if (want.queries > 0) {
          expect(got.mAP).toBeCloseTo(want.mAP, 12)
          got.cmc.forEach((c, k) => expect(c).toBeCloseTo(want.cmc[k]!, 12))
        }
      }
    }
  })

  it('never gives a trapezoid AP above the standard one, and they are equal when every hit leads the list', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const p = randomProblem(seed, 8, 40, 3, 3, 10)
      const s = evaluateProtocol(p)
      const t = evaluateProtocol(p, { ap: 'trapezoid' })
      s.perQueryAP.forEach((x, i) => {
        if (Number.isNaN(x)) return
        expect(t.perQueryAP[i]!).toBeLessThanOrEqual(x + 1e-15)
        // AP = 1 in either variant exactly when all hits come first.
        expect(t.perQueryAP[i]! === 1).toBe(x === 1)
      })
    }
  })
})

describe.skipIf(!numpy.available)(
  'agreement with the NumPy references (torchreid-style and official compute_AP)',
  () => {
    explainNumpySkip('protocol vs NumPy reference')
    it.each([
      ['continuous distances', 11, 60, 300, 1000],
      ['heavily tied distances', 12, 40, 200, 6],
    ])('matches on %s to 1e-6', (_what, seed, nq, ng, levels) => {
      const p = randomProblem(seed, nq, ng, 15, 6, levels)
      const maxRank = 50
      const ref = runReference(
        'reid_eval.py',
        {
          distmat: p.distmat as Float32Array,
          q_pids: p.qPids,
          g_pids: p.gPids,
          q_cams: p.qCams,
          g_cams: p.gCams,
        },
        { max_rank: maxRank },
      ).result as Record<
        ProtocolAp,
        {
          mAP: number
          cmc: number[]
          perQueryAP: (number | null)[]
          firstHit: number[]
          queries: number
          skipped: number
        }
      >
      for (const ap of ['standard', 'trapezoid'] as const) {
        const got = evaluateProtocol(p, { ap, maxRank })
        const want = ref[ap]
        expect(want.queries).toBeGreaterThan(0)
        expect(want.skipped).toBeGreaterThan(0)
        expect([got.queries, got.skipped]).toEqual([want.queries, want.skipped])
        expect(Math.abs(got.mAP - want.mAP)).toBeLessThan(1e-6)
        expect(Array.from(got.firstHit)).toEqual(want.firstHit)
        got.cmc.forEach((c, k) => expect(Math.abs(c - want.cmc[k]!)).toBeLessThan(1e-6))
        got.perQueryAP.forEach((x, i) => {
          const w = want.perQueryAP[i]
          if (w === null) expect(x).toBeNaN()
          else expect(Math.abs(x - w!)).toBeLessThan(1e-6)
        })
      }
    })
  },
)
