/**
 * Top-K selection over a stream of similarity scores, the O(N) half of an exact search.
 *
 * A bounded min-heap of the K best (score, row) pairs: the order is score descending, then row
 * ascending, so the result is the prefix of a stable sort of all rows by descending score
 * (deterministic ties, whatever order rows arrive in). Rows usually arrive in increasing order, and
 * then almost every row is rejected by one comparison with the heap's worst: about
 * K·ln(N/K) insertions in all for random order, ≈ 2 ms for N = 1M, K = 100 (bench/search.ts).
 */

/** Whether (s, r) ranks after (t, q): lower score, or equal score and higher row. */
function after(s: number, r: number, t: number, q: number): boolean {
  return s < t || (s === t && r > q)
}

/** The K best rows of a stream of scores. */
export class TopK {
  private readonly scores: Float64Array
  private readonly rows: Int32Array
  private count = 0

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 0)
      throw new RangeError(`top-k capacity must be an integer ≥ 0, got ${capacity}`)
    this.scores = new Float64Array(capacity)
    this.rows = new Int32Array(capacity)
  }

  /** Rows held (≤ capacity). */
  get size(): number {
    return this.count
  }

  /**
   * Offers rows `rowBase + j` with score `scores[j]` for from ≤ j < to, keeping those `accept`
   * lets through (null: all). `accept` is only asked about rows that would enter the heap.
   */
  offer(
    scores: Float32Array,
    from: number,
    to: number,
    rowBase: number,
    accept: Uint8Array | null = null,
  ): void {
    const K = this.capacity
    if (K === 0) return
    const hs = this.scores
    const hr = this.rows
    let j = from
    // Filling phase: sift up.
    for (; j < to && this.count < K; j++) {
      const row = rowBase + j
      if (accept !== null && accept[row] === 0) continue
      this.siftUp(scores[j]!, row)
    }
    if (this.count < K) return
    let worst = hs[0]!
    let worstRow = hr[0]!
    for (; j < to; j++) {
      const s = scores[j]!
      if (s < worst) continue
      const row = rowBase + j
      if (s === worst && row > worstRow) continue
      if (accept !== null && accept[row] === 0) continue
      this.replaceTop(s, row)
      worst = hs[0]!
      worstRow = hr[0]!
    }
  }

  /** The rows held, best first (score descending, then row ascending), with their scores. */
  sorted(): { rows: Int32Array; scores: Float64Array } {
    const n = this.count
    const order = Array.from({ length: n }, (_, i) => i)
    const hs = this.scores
    const hr = this.rows
    order.sort((a, b) => hs[b]! - hs[a]! || hr[a]! - hr[b]!)
    return {
      rows: Int32Array.from(order, (i) => hr[i]!),
      scores: Float64Array.from(order, (i) => hs[i]!),
    }
  }

  private siftUp(s: number, row: number): void {
    const hs = this.scores
    const hr = this.rows
    let at = this.count++
    while (at > 0) {
      const p = (at - 1) >> 1
      if (!after(s, row, hs[p]!, hr[p]!)) break
      hs[at] = hs[p]!
      hr[at] = hr[p]!
      at = p
    }
    hs[at] = s
    hr[at] = row
  }

  /** Replaces the worst entry (the root) by (s, row) and restores the heap. */
  private replaceTop(s: number, row: number): void {
    const hs = this.scores
    const hr = this.rows
    const n = this.count
    let at = 0
    for (;;) {
      let c = 2 * at + 1
      if (c >= n) break
      if (c + 1 < n && after(hs[c + 1]!, hr[c + 1]!, hs[c]!, hr[c]!)) c++
      if (!after(hs[c]!, hr[c]!, s, row)) break
      hs[at] = hs[c]!
      hr[at] = hr[c]!
      at = c
    }
    hs[at] = s
    hr[at] = row
  }
}
