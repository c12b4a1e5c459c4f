import { describe, expect, it } from 'vitest'
import {
  batchHardLoss,
  contrastiveLoss,
  quadrupletLoss,
  tripletLoss,
} from '../../../src-main/engine/ranking/losses'
import { getLoss, lossNames } from '../../../src-main/engine/ranking/registry'
import { gradFromCoeff, mulberry32, pairwiseSq, randomBatch, sumCD } from './helpers'

// Labels [0, 0, 1] and D01 = 0.5, D02 = 0.2, D12 = 0.9 in every hand-worked case below.
const D3 = new Float64Array([0, 0.5, 0.2, 0.5, 0, 0.9, 0.2, 0.9, 0])
const L3 = [0, 0, 1]

describe('comparison losses, hand-worked (paper Table 2)', () => {
  it('contrastive: positives pulled in, negatives pushed past m (Eq. 10)', () => {
    // Ordered pairs: positive (0,1),(1,0): mean D = 0.5. Negatives (0,2),(2,0),(1,2),(2,1) with m = 0.6:
    // hinges 0.4, 0.4, 0, 0 → mean 0.2. L = 0.7.
    expect(contrastiveLoss(D3, L3, 0.6).loss).toBeCloseTo(0.7, 15)
  })

  it('triplet over all valid triplets (Eq. 8)', () => {
    // Triplets (a,p,n): (0,1,2): 0.5 − 0.2 + 0.1 = 0.4; (1,0,2): 0.5 − 0.9 + 0.1 < 0 → 0. T = 2 → L = 0.2.
    expect(tripletLoss(D3, L3, 0.1).loss).toBeCloseTo(0.2, 15)
  })

  it('batch-hard (Eq. 11): hardest positive and negative per anchor', () => {
    // Anchors with a positive and a negative: 0 → 0.1 + 0.5 − 0.2 = 0.4; 1 → 0.1 + 0.5 − 0.9 < 0. L = 0.2.
    expect(batchHardLoss(D3, L3, 0.1).loss).toBeCloseTo(0.2, 15)
  })

  it('quadruplet (Eq. 12): a triplet term plus a term against negative pairs of other identities', () => {
    // Labels [0, 0, 1, 2]: D01 = 0.5, D02 = 0.2, D03 = 0.4, D12 = 0.9, D13 = 0.3, D23 = 0.45.
    // m1 = 1: triplets (0,1,2) 1.3, (0,1,3) 1.1, (1,0,2) 0.6, (1,0,3) 1.2 → mean 1.05.
    // m2 = 0.5: pairs (i,j) ∈ {(0,1),(1,0)}, negative pairs not touching identity 0: only (2,3):
    // 0.5 + 0.5 − 0.45 = 0.55 for both → mean 0.55. L = 1.6.
    const d = [
      [0, 0.5, 0.2, 0.4],
      [0.5, 0, 0.9, 0.3],
      [0.2, 0.9, 0, 0.45],
      [0.4, 0.3, 0.45, 0],
    ]
    const r = quadrupletLoss(new Float64Array(d.flat()), [0, 0, 1, 2], 1, 0.5)
    expect(r.loss).toBeCloseTo(1.6, 14)
  })
})

describe('every loss in the registry', () => {
  it('is listed by name, and an unknown name lists the known ones', () => {
    expect(lossNames).toEqual([
      'rank-triplet',
      'baseline',
      'contrastive',
      'triplet',
      'batch-hard',
      'quadruplet',
    ])
    expect(() => getLoss('arcface')).toThrow(/known: rank-triplet, baseline/)
  })

  for (const name of lossNames) {
    it(`${name}: loss = Σ C·D + constant`, () => {
      const rand = mulberry32(name.length * 31)
      for (let trial = 0; trial < 30; trial++) {
        const { labels, X, d } = randomBatch(rand, 2 + (trial % 5), 1 + (trial % 4), 1 + (trial % 6))
        const D = pairwiseSq(X, labels.length, d)
        const r = getLoss(name)(D, labels, { margin: 0.4 })
        expect(sumCD(r.coeff, D) + r.constant).toBeCloseTo(r.loss, 12)
      }
    })

    it(`${name}: gradient with respect to the embeddings matches finite differences`, () => {
      const rand = mulberry32(100 + name.length)
      let checked = 0
      for (let trial = 0; trial < 6; trial++) {
        const { labels, X, d } = randomBatch(rand, 3 + trial, 3, 4)
        const n = labels.length
        const lossAt = (x: Float64Array) => getLoss(name)(pairwiseSq(x, n, d), labels, { margin: 0.4 }).loss
        const r = getLoss(name)(pairwiseSq(X, n, d), labels, { margin: 0.4 })
        const g = gradFromCoeff(r.coeff, X, n, d)
        const h = 1e-6
        for (let e = 0; e < X.length; e++) {
          const xp = X.slice()
          const xm = X.slice()
          xp[e]! += h
          xm[e]! -= h
          const fd = (lossAt(xp) - lossAt(xm)) / (2 * h)
          expect(Math.abs(fd - g[e]!)).toBeLessThan(1e-6 * Math.max(1, Math.abs(fd)))
          checked++
        }
      }
      expect(checked).toBeGreaterThan(100)
    })
  }
})
