/**
 * The ranked list of one query inside a training batch (DESIGN.md §4 steps 1–3), the shared
 * ground of the list-wise losses and of the online metrics.
 *
 * Query i is ranked against the other n−1 items by D'_ij = D_ij + m for positives (same label)
 * and D'_ij = D_ij for negatives. Ties in D' put negatives first (the pessimistic order): a
 * positive tied with a negative counts as mis-ranked, with a hinge value of exactly 0, so a
 * batch of identical embeddings still has a gradient that pulls it apart.
 */

/** Square distance matrix (n×n, row-major) accepted by the ranking code. */
export type SquareMatrix = Float32Array | Float64Array

/** Per-query workspace, allocated once per batch size and reused for every query. */
export class QueryRanking {
  /** Batch indices of the positives, in rank order (length m). */
  readonly pos: Int32Array
  /** 1-based ranks π_1 < … < π_M of the positives. */
  readonly posRank: Float64Array
  /** Batch indices of the negatives ranked before the last positive (length negCount; any order). */
  readonly neg: Int32Array
  /** 1-based ranks of the negatives. */
  readonly negRank: Float64Array
  /** Positives ranked before each negative (s_k). */
  readonly negBefore: Int32Array
  /** Prefix sums of 1/π, length m + 1 (see ap.ts). */
  readonly prefix: Float64Array
  m = 0
  negCount = 0
  private readonly key: Float64Array
  private readonly sorted: Float64Array
  private readonly before: Int32Array

  constructor(readonly n: number) {
    this.pos = new Int32Array(n)
    this.posRank = new Float64Array(n)
    this.neg = new Int32Array(n)
    this.negRank = new Float64Array(n)
    this.negBefore = new Int32Array(n)
    this.prefix = new Float64Array(n + 1)
    this.key = new Float64Array(n)
    this.sorted = new Float64Array(n)
    this.before = new Int32Array(n + 1)
  }

  /**
   * Ranks query `i` of a batch (D n×n, labels length n) with margin `margin` on positives.
   *
   * Only what the losses and metrics read is computed: the ranks of all positives, and the rank
   * and s_k of each negative ranked before the last positive (the only ones in a mis-ranked
   * pair). Negatives are not sorted as objects: their keys are sorted natively and each one's
   * place is found by binary search. With `negatives = false` (metrics only need π) the
   * negatives' own ranks are skipped and `negRank` is left stale.
   */
  rank(D: SquareMatrix, labels: ArrayLike<number>, i: number, margin: number, negatives = true): this {
    const { n, key, pos, neg, sorted, before } = this
    const li = labels[i]
    let m = 0
    const row = i * n
    for (let j = 0; j < n; j++) {
      if (j === i || labels[j] !== li) continue
      key[j] = D[row + j]! + margin
      pos[m++] = j
    }
    sortByKey(pos, m, key)
    const last = m > 0 ? key[pos[m - 1]!]! : -Infinity
    let c = 0
    for (let j = 0; j < n; j++) {
      if (j === i || labels[j] === li) continue
      const kj = D[row + j]!
      // Pessimistic ties: a negative level with the last positive is ranked before it.
      if (kj <= last) {
        key[j] = kj
        sorted[c] = kj
        neg[c++] = j
      }
    }
    this.m = m
    this.negCount = c
    // Rank order of the negatives by (key, index): sort their keys and indices together.
    if (negatives) argsortByKey(neg, sorted, c)
    before.fill(0, 0, m + 1)
    let s = 0
    for (let u = 0; u < c; u++) {
      const kk = key[neg[u]!]!
      // Positives ahead: strictly smaller keys (a positive level with a negative comes after it).
      if (!negatives) s = 0
      while (s < m && key[pos[s]!]! < kk) s++
      this.negBefore[u] = s
      before[s]!++
      if (negatives) this.negRank[u] = s + u + 1
    }
    // π_t = t + (negatives whose s_k < t).
    let negAhead = 0
    for (let t = 1; t <= m; t++) {
      negAhead += before[t - 1]!
      this.posRank[t - 1] = t + negAhead
    }
    return this
  }
}

/**
 * Sorts idx[0..len) and its keys vals[0..len) together by (value, index) ascending: Hoare
 * quicksort with a median-of-three pivot down to runs of 16, then one insertion pass, on typed
 * arrays only (no comparator closure: ~3× faster than a comparator sort for a 128-image batch).
 * Indices are distinct, so the order is total and the result deterministic.
 */
function argsortByKey(idx: Int32Array, vals: Float64Array, len: number): void {
  quickRuns(idx, vals, 0, len - 1)
  for (let x = 1; x < len; x++) {
    const v = vals[x]!
    const ix = idx[x]!
    let y = x - 1
    while (y >= 0 && (vals[y]! > v || (vals[y] === v && idx[y]! > ix))) {
      vals[y + 1] = vals[y]!
      idx[y + 1] = idx[y]!
      y--
    }
    vals[y + 1] = v
    idx[y + 1] = ix
  }
}

function lessAt(idx: Int32Array, vals: Float64Array, a: number, b: number): boolean {
  return vals[a]! < vals[b]! || (vals[a] === vals[b] && idx[a]! < idx[b]!)
}

function quickRuns(idx: Int32Array, vals: Float64Array, lo: number, hi: number): void {
  while (hi - lo > 16) {
    // Median of three by (value, index).
    const mid = (lo + hi) >>> 1
    let p = hi
    if (lessAt(idx, vals, lo, mid) !== lessAt(idx, vals, lo, hi)) p = lo
    else if (lessAt(idx, vals, mid, lo) !== lessAt(idx, vals, mid, hi)) p = mid
    const pv = vals[p]!
    const pi = idx[p]!
    let i = lo - 1
    let j = hi + 1
    for (;;) {
      do i++
      while (vals[i]! < pv || (vals[i] === pv && idx[i]! < pi))
      do j--
      while (vals[j]! > pv || (vals[j] === pv && idx[j]! > pi))
      if (i >= j) break
      const v = vals[i]!
      vals[i] = vals[j]!
      vals[j] = v
      const x = idx[i]!
      idx[i] = idx[j]!
      idx[j] = x
    }
    // Recurse into the smaller half, loop on the larger (stack depth O(log n)).
    if (j - lo < hi - j) {
      quickRuns(idx, vals, lo, j)
      lo = j + 1
    } else {
      quickRuns(idx, vals, j + 1, hi)
      hi = j
    }
  }
}

/** Sorts idx[0..len) by (key, index) ascending: insertion sort for short runs, else the built-in sort. */
function sortByKey(idx: Int32Array, len: number, key: Float64Array): void {
  if (len > 24) {
    idx.subarray(0, len).sort((a, b) => key[a]! - key[b]! || a - b)
    return
  }
  for (let x = 1; x < len; x++) {
    const v = idx[x]!
    const kv = key[v]!
    let y = x - 1
    while (y >= 0) {
      const w = idx[y]!
      const kw = key[w]!
      if (kw < kv || (kw === kv && w < v)) break
      idx[y + 1] = w
      y--
    }
    idx[y + 1] = v
  }
}
