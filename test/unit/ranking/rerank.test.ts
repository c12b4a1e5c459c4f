import { describe, expect, it } from 'vitest'
import { squaredEuclidean, squaredEuclideanAllPairs } from '../../../src-main/engine/ranking/distances'
import { evaluateProtocol } from '../../../src-main/engine/ranking/protocol'
import {
  kReciprocalRerank,
  kReciprocalRerankFeatures,
  roundHalfEven,
  type RerankOptions,
} from '../../../src-main/engine/ranking/rerank'
import { explainNumpySkip, gaussian, numpy, rng, runReference } from '../../reference/harness'

const sqrt32 = (x: Float32Array) => x.map(Math.sqrt)

/** Euclidean (not squared) q×g, q×q, g×g matrices: the reference's inputs. */
function euclideanMatrices(q: Float32Array, g: Float32Array, d: number) {
  return {
    qg: sqrt32(squaredEuclidean(q, g, d)),
    qq: sqrt32(squaredEuclideanAllPairs(q, d)),
    gg: sqrt32(squaredEuclideanAllPairs(g, d)),
    nq: q.length / d,
    ng: g.length / d,
  }
}

/**
 * Identities as Gaussian clusters: `perId` gallery images and one query per identity, each image
 * its identity's centre plus noise; cameras cycle so that most matches are cross-camera.
 */
function clustered(seed: number, ids: number, perId: number, d: number, noise: number) {
  const normal = gaussian(rng(seed))
  const centres = new Float32Array(ids * d).map(() => normal())
  const sample = (id: number, out: Float32Array, row: number) => {
    for (let k = 0; k < d; k++) out[row * d + k] = centres[id * d + k]! + noise * normal()
  }
  const q = new Float32Array(ids * d)
  const g = new Float32Array(ids * perId * d)
  const qPids = new Int32Array(ids)
  const gPids = new Int32Array(ids * perId)
  const qCams = new Int32Array(ids)
  const gCams = new Int32Array(ids * perId)
  for (let id = 0; id < ids; id++) {
    sample(id, q, id)
    qPids[id] = id + 1
    qCams[id] = 0
    for (let t = 0; t < perId; t++) {
      const row = id * perId + t
      sample(id, g, row)
      gPids[row] = id + 1
      gCams[row] = 1 + (t % 5)
    }
  }
  return { q, g, qPids, gPids, qCams, gCams }
}

function random(seed: number, n: number, d: number): Float32Array {
  const normal = gaussian(rng(seed))
  return new Float32Array(n * d).map(() => normal())
}

describe('k-reciprocal re-ranking on a hand-worked example', () => {
  // One query at 0 and two gallery items at 1 and 3 on a line (d = 1); k1 = 1, k2 = 1, λ = 0.3.
  // Squared distances: q–g0 1, q–g1 9, g0–g1 4. Each row divided by its maximum (9, 4, 9):
  //   q: [0, 1/9, 1]   g0: [1/4, 0, 1]   g1: [1, 4/9, 0]      (columns q, g0, g1)
  // Two nearest (k1 + 1 = 2): q → q, g0;  g0 → g0, q;  g1 → g1, g0.
  // R(q, 1) = {q, g0} (g0 lists q back); R(g0, 1) = {g0, q}; R(g1, 1) = {g1} (g0 does not list g1).
  // h = round(1/2) = 0: each R(c, 0) = {c} lies inside R(i, 1), so the expansion adds nothing.
  // V_q  = [1, a, 0] / (1 + a),  a = e^(−1/9)
  // V_g0 = [b, 1, 0] / (1 + b),  b = e^(−1/4)
  // V_g1 = [0, 0, 1]
  // q–g0: m = min(1/(1+a), b/(1+b)) + min(a/(1+a), 1/(1+b)); d_J = 1 − m/(2 − m);
  //       d* = 0.7·d_J + 0.3·(1/9).
  // q–g1: no shared support, d_J = 1; d* = 0.7 + 0.3·1 = 1.
  const a = Math.exp(-1 / 9)
  const b = Math.exp(-1 / 4)
  const m = Math.min(1 / (1 + a), b / (1 + b)) + Math.min(a / (1 + a), 1 / (1 + b))
  const expected = [0.7 * (1 - m / (2 - m)) + 0.3 * Math.fround(1 / 9), 1]
  const options: RerankOptions = { k1: 1, k2: 1, lambda: 0.3 }

  it('from features', () => {
    const got = kReciprocalRerankFeatures(Float32Array.from([0]), Float32Array.from([1, 3]), 1, options)
    expect(got[0]).toBeCloseTo(expected[0]!, 6)
    expect(got[1]).toBeCloseTo(expected[1]!, 6)
    // The re-ranked q–g0 distance (≈ 0.149) is well below the plain normalised 1/9 blended with 1.
    expect(got[0]).toBeGreaterThan(0.14)
    expect(got[0]).toBeLessThan(0.16)
  })

  it('from Euclidean distance matrices', () => {
    const got = kReciprocalRerank(
      {
        qg: Float32Array.from([1, 3]),
        qq: Float32Array.from([0]),
        gg: Float32Array.from([0, 2, 2, 0]),
        nq: 1,
        ng: 2,
      },
      options,
    )
    expect(Array.from(got)).toEqual(expected.map((x) => expect.closeTo(x, 6)))
  })
})

describe('k-reciprocal re-ranking, properties', () => {
  const d = 8
  const q = random(1, 12, d)
  const g = random(2, 40, d)

  it('with λ = 1 returns the original squared distances divided by each query row maximum', () => {
    const got = kReciprocalRerankFeatures(q, g, d, { lambda: 1 })
    const qg = squaredEuclidean(q, g, d)
    const qq = squaredEuclideanAllPairs(q, d)
    for (let i = 0; i < 12; i++) {
      const max = Math.max(...qg.subarray(i * 40, i * 40 + 40), ...qq.subarray(i * 12, i * 12 + 12))
      for (let j = 0; j < 40; j++) expect(got[i * 40 + j]).toBeCloseTo(qg[i * 40 + j]! / max, 6)
    }
  })

  it('stays in [0, 1], and with λ = 0 is a Jaccard distance that is 1 exactly where no neighbourhood is shared', () => {
    const got = kReciprocalRerankFeatures(q, g, d, { lambda: 0, k1: 4, k2: 2 })
    expect(Math.min(...got)).toBeGreaterThanOrEqual(0)
    expect(Math.max(...got)).toBeLessThanOrEqual(1)
    const ones = got.filter((x) => x === 1).length
    expect(ones).toBeGreaterThan(0)
    expect(ones).toBeLessThan(got.length)
  })

  it('gives exactly the same result from features as from squared-distance matrices', () => {
    const squaredMatrices = (qs: Float32Array, gs: Float32Array, dim: number) => ({
      qg: squaredEuclidean(qs, gs, dim),
      qq: squaredEuclideanAllPairs(qs, dim),
      gg: squaredEuclideanAllPairs(gs, dim),
      nq: qs.length / dim,
      ng: gs.length / dim,
      squared: true,
    })
    for (const options of [{}, { k1: 5, k2: 3, lambda: 0.5 }, { k1: 3, k2: 1 }] as RerankOptions[]) {
      expect(kReciprocalRerankFeatures(q, g, d, options)).toEqual(
        kReciprocalRerank(squaredMatrices(q, g, d), options),
      )
    }
    // Large enough for several tiles and packed blocks in every pass (256 rows per block at d = 4).
    const bigQ = random(11, 60, 4)
    const bigG = random(12, 600, 4)
    expect(kReciprocalRerankFeatures(bigQ, bigG, 4, { k1: 8, k2: 3 })).toEqual(
      kReciprocalRerank(squaredMatrices(bigQ, bigG, 4), { k1: 8, k2: 3 }),
    )
  })

  it('gives the same result from features when duplicate rows make many ties', () => {
    // Only 6 distinct gallery rows repeated: every neighbour list is decided by index order.
    const base = random(3, 6, d)
    const dup = new Float32Array(40 * d)
    for (let j = 0; j < 40; j++) dup.set(base.subarray((j % 6) * d, ((j % 6) + 1) * d), j * d)
    const fromFeatures = kReciprocalRerankFeatures(q, dup, d, { k1: 6, k2: 3 })
    const fromMatrices = kReciprocalRerank(
      {
        qg: squaredEuclidean(q, dup, d),
        qq: squaredEuclideanAllPairs(q, d),
        gg: squaredEuclideanAllPairs(dup, d),
        nq: 12,
        ng: 40,
        squared: true,
      },
      { k1: 6, k2: 3 },
    )
    expect(fromFeatures).toEqual(fromMatrices)
  })

  it('still agrees when dividing by the row maximum turns two distinct distances into one float32', () => {
    // Query (0, 0); gallery 0 = (a, b2) and gallery 1..20 = (a, b1), with squared distances r2 > r1
    // adjacent float32s; gallery 21 = (c, 0) sets the row maximum M so that r1/M and r2/M round
    // to the same float32. Normalised, gallery 0 ties with the twenty others and, by index, comes
    // first: a selection by raw distance with a little slack never sees it, which the features
    // path must detect (and recompute the row).
    const f = Math.fround
    const a = f(1.4)
    const raw = (b: number) => f(a * a + b * b)
    const nextUp = (x: number) => {
      const u = new Uint32Array(Float32Array.of(x).buffer)
      u[0]!++
      return new Float32Array(u.buffer)[0]!
    }
    let b1 = 0
    for (let t = 1; b1 === 0 && t < 100_000; t++)
      if (raw(f((t + 1) * 1e-5)) === nextUp(raw(f(t * 1e-5)))) b1 = f(t * 1e-5)
    const b2 = f(b1 + 1e-5)
    let c = f(1.975)
    while (f(raw(b1) / f(c * c)) !== f(raw(b2) / f(c * c))) c = nextUp(c)
    expect(raw(b2)).toBeGreaterThan(raw(b1))
    expect(c).toBeLessThan(2)
    const g = new Float32Array(22 * 2)
    g.set([a, b2], 0)
    for (let j = 1; j <= 20; j++) g.set([a, b1], 2 * j)
    g.set([c, 0], 42)
    const q = Float32Array.of(0, 0)
    for (const options of [
      { k1: 3, k2: 1 },
      { k1: 3, k2: 2 },
    ]) {
      const fromMatrices = kReciprocalRerank(
        {
          qg: squaredEuclidean(q, g, 2),
          qq: squaredEuclideanAllPairs(q, 2),
          gg: squaredEuclideanAllPairs(g, 2),
          nq: 1,
          ng: 22,
          squared: true,
        },
        options,
      )
      expect(kReciprocalRerankFeatures(q, g, 2, options)).toEqual(fromMatrices)
    }
  })

  it('improves mAP on clustered data with several gallery images per identity', () => {
    const data = clustered(5, 40, 8, 16, 0.9)
    const labels = { qPids: data.qPids, gPids: data.gPids, qCams: data.qCams, gCams: data.gCams }
    const before = evaluateProtocol({ distmat: squaredEuclidean(data.q, data.g, 16), ...labels })
    const after = evaluateProtocol({ distmat: kReciprocalRerankFeatures(data.q, data.g, 16), ...labels })
    expect(before.mAP).toBeLessThan(0.8) // hard enough to leave room
    // Measured: 0.54 → 0.67 (rank-1 moves by one query either way here, so it is not pinned).
    expect(after.mAP).toBeGreaterThan(before.mAP + 0.08)
  })

  it('rounds k1/2 half to even, as NumPy does', () => {
    expect([0.5, 1.5, 2.5, 3.5, 10, 10.5].map(roundHalfEven)).toEqual([0, 2, 2, 4, 10, 10])
  })

  it('refuses bad options and shapes with a message naming them', () => {
    expect(() => kReciprocalRerankFeatures(q, g, d, { k1: 0 })).toThrow(/k1 must be a positive integer/)
    expect(() => kReciprocalRerankFeatures(q, g, d, { k2: 1.5 })).toThrow(/k2 must be a positive integer/)
    expect(() => kReciprocalRerankFeatures(q, g, d, { lambda: 2 })).toThrow(/lambda must be in \[0, 1\]/)
    expect(() => kReciprocalRerankFeatures(q, g.subarray(1), d)).toThrow(/g has 319 values/)
    const m = euclideanMatrices(q, g, d)
    expect(() => kReciprocalRerank({ ...m, gg: m.gg.subarray(1) })).toThrow(
      /gg has 1599 values, expected ng×ng/,
    )
    const bad = m.qg.slice()
    bad[3] = Number.NaN
    expect(() => kReciprocalRerank({ ...m, qg: bad })).toThrow(/qg\[3\] = NaN: distances must be finite/)
    const nanFeatures = q.slice()
    nanFeatures[0] = Number.NaN
    expect(() => kReciprocalRerankFeatures(nanFeatures, g, d)).toThrow(/NaN or infinite/)
  })
})

describe.skipIf(!numpy.available)(
  'k-reciprocal re-ranking against the NumPy reference (dense re_ranking)',
  () => {
    explainNumpySkip('re-ranking vs NumPy reference')
    it.each([
      ['the paper defaults k1 = 20, k2 = 6, λ = 0.3', 21, {}],
      ['k1 = 5 (round(2.5) = 2), k2 = 3, λ = 0.5', 22, { k1: 5, k2: 3, lambda: 0.5 }],
      ['k1 = 7 (round(3.5) = 4), no query expansion (k2 = 1)', 23, { k1: 7, k2: 1, lambda: 0.1 }],
    ] as [string, number, RerankOptions][])(
      'agrees to 1e-6 with %s on 30 × 80, d = 16',
      (_what, seed, options) => {
        const data = clustered(seed, 10, 8, 16, 1.2)
        const q = random(seed + 100, 30, 16).map((x, t) => 0.5 * x + data.q[t % data.q.length]!)
        const m = euclideanMatrices(q, data.g, 16)
        const ref = runReference(
          'rerank.py',
          { qg: m.qg, qq: m.qq, gg: m.gg },
          { nq: 30, ng: 80, k1: options.k1 ?? 20, k2: options.k2 ?? 6, lambda: options.lambda ?? 0.3 },
        ).array('final')
        const got = kReciprocalRerank(m, options)
        expect(got.length).toBe(ref.length)
        let worst = 0
        for (let t = 0; t < got.length; t++) worst = Math.max(worst, Math.abs(got[t]! - ref[t]!))
        expect(worst).toBeLessThan(1e-6)
        // And the re-ranking really moved the distances (the comparison is not of two no-ops).
        expect(got.filter((x) => x < 0.999).length).toBeGreaterThan(100)
      },
    )

    it('agrees with ties everywhere (duplicate features, stable order in both)', () => {
      const base = random(31, 7, 16)
      const g = new Float32Array(80 * 16)
      for (let j = 0; j < 80; j++) g.set(base.subarray((j % 7) * 16, ((j % 7) + 1) * 16), j * 16)
      const q = random(32, 30, 16)
      const m = euclideanMatrices(q, g, 16)
      const options = { k1: 6, k2: 3, lambda: 0.3 }
      const ref = runReference(
        'rerank.py',
        { qg: m.qg, qq: m.qq, gg: m.gg },
        { nq: 30, ng: 80, ...options },
      ).array('final')
      const got = kReciprocalRerank(m, options)
      for (let t = 0; t < got.length; t++) expect(Math.abs(got[t]! - ref[t]!)).toBeLessThan(1e-6)
    })
  },
)
