import { describe, expect, it } from 'vitest'
import { TopK } from '../../../src-main/engine/search/topk'
import { rng } from '../../reference/harness'

/** The first `k` rows of a stable sort by descending score, among accepted rows. */
function stableTop(scores: Float32Array, k: number, accept?: Uint8Array): number[] {
  const rows = Array.from(scores.keys()).filter((r) => !accept || accept[r] === 1)
  return rows.sort((a, b) => scores[b]! - scores[a]! || a - b).slice(0, k)
}

describe('TopK', () => {
  it('keeps the prefix of a stable descending sort, with many ties, in any chunking', () => {
    const rand = rng(1)
    for (const [n, k] of [
      [1000, 1],
      [1000, 10],
      [5000, 100],
      [50, 100],
      [100, 100],
    ] as const) {
      // Few distinct values: ties everywhere, including at the k-th place.
      const scores = Float32Array.from({ length: n }, () => Math.floor(rand() * 20) / 20)
      const sel = new TopK(k)
      for (let from = 0; from < n;) {
        const to = Math.min(n, from + 1 + Math.floor(rand() * 300))
        sel.offer(scores.subarray(from, to), 0, to - from, from, null)
        from = to
      }
      const { rows, scores: got } = sel.sorted()
      expect([...rows]).toEqual(stableTop(scores, k))
      expect([...got]).toEqual([...rows].map((r) => scores[r]!))
    }
  })

  it('gives the same answer when rows arrive out of order', () => {
    const rand = rng(2)
    const n = 2000
    const scores = Float32Array.from({ length: n }, () => Math.floor(rand() * 50))
    const sel = new TopK(70)
    // Chunks offered back to front.
    for (let from = n - 100; from >= 0; from -= 100) sel.offer(scores, from, from + 100, 0, null)
    expect([...sel.sorted().rows]).toEqual(stableTop(scores, 70))
  })

  it('offers only accepted rows, with scores read at an offset from the row number', () => {
    const rand = rng(3)
    const n = 3000
    const scores = Float32Array.from({ length: n }, () => rand())
    const accept = Uint8Array.from({ length: n }, () => (rand() < 0.1 ? 1 : 0))
    const buffer = new Float32Array(n + 500)
    buffer.set(scores, 500)
    const sel = new TopK(25)
    sel.offer(buffer, 500, 500 + n, -500, accept)
    expect([...sel.sorted().rows]).toEqual(stableTop(scores, 25, accept))
  })

  it('holds nothing with capacity 0 and refuses a negative capacity', () => {
    const sel = new TopK(0)
    sel.offer(new Float32Array([1, 2]), 0, 2, 0)
    expect(sel.size).toBe(0)
    expect(sel.sorted().rows.length).toBe(0)
    expect(() => new TopK(-1)).toThrow(/capacity/)
  })
})
