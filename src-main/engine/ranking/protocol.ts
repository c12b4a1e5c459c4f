/**
 * The standard re-ID evaluation on a query×gallery distance matrix (DESIGN.md §5): the protocol of
 * Market-1501 (Zheng et al., ICCV 2015), also used for DukeMTMC-reID and CUHK03-NP.
 *
 * For each query:
 * - gallery items with the query's identity **and** camera are removed (same-camera matches are
 *   too easy), and so are items with identity −1 (junk: bad detections, ignored in both ranking
 *   and scoring);
 * - distractors (identity 0, Market-1501's "0000") stay, as negatives;
 * - the remaining items are ranked by distance ascending, ties broken by gallery index (the order
 *   a stable sort gives, as MATLAB's `sort` in the official code; torchreid's `np.argsort` does not
 *   define the order of ties);
 * - the good items are the remaining ones with the query's identity; a query without any is
 *   skipped and counted, and takes no part in mAP or CMC. (A query labelled −1 is therefore
 *   always skipped; one labelled 0 would be matched by the other cameras' distractors, as in
 *   torchreid. The standard query sets hold neither.)
 *
 * Ranks are 1-based positions in that filtered list. With the good items at ranks
 * r_1 < … < r_M:
 * - standard AP = (1/M) Σ_t t/r_t, the mean precision at each hit (torchreid's
 *   `eval_market1501` and the common Python evaluation);
 * - trapezoid AP = (1/M) Σ_t ½(p_{r_t − 1} + t/r_t), the area under the precision–recall curve by
 *   trapezoids as the official Market-1501 MATLAB `compute_AP` computes it: each hit raises recall
 *   by 1/M, and the area added is that step times the mean of the precision at the list position
 *   just before the hit, p_{r−1} = (t−1)/(r−1) (taken as 1 when r = 1), and the precision at the hit;
 * - CMC(k) = share of evaluated queries whose first hit r_1 is ≤ k.
 *
 * Cost per query: two passes over its row and O(M log M + ng log M) comparisons; the list is never
 * fully sorted. Each non-junk, non-matching item is placed among the M sorted good items by binary
 * search (and most items rank after the last hit, which one comparison settles), which gives every
 * hit's rank. Scratch buffers are allocated once per call.
 */

/** Identity of junk gallery items, removed for every query. */
export const JUNK_PID = -1
/** Identity of distractors: never a match for a real query, kept as negatives. */
export const DISTRACTOR_PID = 0

export type ProtocolAp = 'standard' | 'trapezoid'
export const protocolApVariants: readonly ProtocolAp[] = ['standard', 'trapezoid']

export interface ProtocolInput {
  /** nq×ng distances, row-major (smaller = more similar). */
  distmat: Float32Array | Float64Array
  /** Query identities, length nq. */
  qPids: Int32Array
  /** Gallery identities, length ng (−1 junk, 0 distractor). */
  gPids: Int32Array
  /** Query cameras, length nq. */
  qCams: Int32Array
  /** Gallery cameras, length ng. */
  gCams: Int32Array
}

export interface ProtocolOptions {
  /** AP variant; default 'standard'. */
  ap?: ProtocolAp
  /** Length of the CMC curve; default ng (every rank). May exceed ng (the curve is then flat). */
  maxRank?: number
}

export interface ProtocolResult {
  /** Mean of perQueryAP over evaluated queries; NaN when no query could be evaluated. */
  mAP: number
  /** cmc[k − 1] = CMC at rank k, for k = 1..maxRank; all 0 when no query was evaluated. */
  cmc: Float64Array
  /** AP of each query (length nq); NaN for skipped queries. */
  perQueryAP: Float64Array
  /** 1-based rank of each query's first hit in its filtered list (length nq); 0 for skipped queries. */
  firstHit: Int32Array
  /** Number of evaluated queries. */
  queries: number
  /** Number of queries skipped because no gallery item is a valid match. */
  skipped: number
}

/** Evaluates a distance matrix with the Market-1501 protocol; see the module comment. */
export function evaluateProtocol(input: ProtocolInput, options: ProtocolOptions = {}): ProtocolResult {
  const { distmat, qPids, gPids, qCams, gCams } = input
  const ap = options.ap ?? 'standard'
  if (!protocolApVariants.includes(ap)) {
    throw new RangeError(`unknown AP variant '${String(ap)}'; known: ${protocolApVariants.join(', ')}`)
  }
  const nq = qPids.length
  const ng = gPids.length
  if (qCams.length !== nq) throw new RangeError(`qCams has ${qCams.length} entries, qPids has ${nq}`)
  if (gCams.length !== ng) throw new RangeError(`gCams has ${gCams.length} entries, gPids has ${ng}`)
  if (distmat.length !== nq * ng) {
    throw new RangeError(`distmat has ${distmat.length} values, expected nq×ng = ${nq}×${ng} = ${nq * ng}`)
  }
  const maxRank = options.maxRank ?? ng
  if (!Number.isInteger(maxRank) || maxRank < 1) {
    throw new RangeError(`maxRank must be a positive integer, got ${maxRank}`)
  }

  const good = new Int32Array(ng)
  const goodDist = new Float64Array(ng)
  const before = new Int32Array(ng + 1)
  const perQueryAP = new Float64Array(nq).fill(Number.NaN)
  const firstHit = new Int32Array(nq)
  const firstHitCount = new Float64Array(maxRank)
  let apSum = 0
  let queries = 0

  for (let i = 0; i < nq; i++) {
    const row = i * ng
    const qp = qPids[i]!
    const qc = qCams[i]!
    let m = 0
    for (let j = 0; j < ng; j++) {
      if (gPids[j] === qp && gCams[j] !== qc && qp !== JUNK_PID) good[m++] = j
    }
    if (m === 0) continue
    for (let t = 0; t < m; t++) {
      const v = distmat[row + good[t]!]!
      if (Number.isNaN(v)) throw new RangeError(`distmat[${i}, ${good[t]}] is NaN`)
    }
    sortByDistance(good, m, distmat, row)
    for (let t = 0; t < m; t++) goodDist[t] = distmat[row + good[t]!]!
    before.fill(0, 0, m + 1)
    const lastDist = goodDist[m - 1]!
    const lastIndex = good[m - 1]!
    for (let j = 0; j < ng; j++) {
      const gp = gPids[j]!
      if (gp === JUNK_PID || gp === qp) continue
      const v = distmat[row + j]!
      if (v > lastDist || (v === lastDist && j > lastIndex)) continue
      if (Number.isNaN(v)) throw new RangeError(`distmat[${i}, ${j}] is NaN`)
      before[placeAmong(goodDist, good, m, v, j)]!++
    }
    // Hit t (0-based) has t hits and every negative placed at 0..t before it.
    let negatives = 0
    let sum = 0
    let rank = 0
    for (let t = 0; t < m; t++) {
      negatives += before[t]!
      rank = t + 1 + negatives
      if (t === 0) firstHit[i] = rank
      const precision = (t + 1) / rank
      if (ap === 'standard') sum += precision
      else sum += ((rank === 1 ? 1 : t / (rank - 1)) + precision) / 2
    }
    const apI = sum / m
    perQueryAP[i] = apI
    apSum += apI
    queries++
    if (firstHit[i]! <= maxRank) firstHitCount[firstHit[i]! - 1]!++
  }

  const cmc = new Float64Array(maxRank)
  let hits = 0
  for (let k = 0; k < maxRank; k++) {
    hits += firstHitCount[k]!
    cmc[k] = queries > 0 ? hits / queries : 0
  }
  return {
    mAP: queries > 0 ? apSum / queries : Number.NaN,
    cmc,
    perQueryAP,
    firstHit,
    queries,
    skipped: nq - queries,
  }
}

/** Sorts idx[0..m) (ascending gallery indices) by distance; ties keep index order. */
function sortByDistance(idx: Int32Array, m: number, dist: ArrayLike<number>, row: number): void {
  if (m <= 32) {
    for (let a = 1; a < m; a++) {
      const j = idx[a]!
      const v = dist[row + j]!
      let b = a
      while (b > 0 && dist[row + idx[b - 1]!]! > v) {
        idx[b] = idx[b - 1]!
        b--
      }
      idx[b] = j
    }
    return
  }
  idx.subarray(0, m).sort((x, y) => dist[row + x]! - dist[row + y]! || x - y)
}

/** Number of good items whose (distance, index) key is smaller than (v, j): binary search. */
function placeAmong(goodDist: Float64Array, good: Int32Array, m: number, v: number, j: number): number {
  let lo = 0
  let hi = m
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    const gv = goodDist[mid]!
    if (gv < v || (gv === v && good[mid]! < j)) lo = mid + 1
    else hi = mid
  }
  return lo
}
