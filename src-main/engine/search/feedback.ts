/**
 * Relevance feedback before any training (issue #6): the analyst's confirmed crops join the query
 * and the rejected ones push their look-alikes down, in well under a second.
 *
 * 1. Rocchio (1971): q' = normalise(mean(query and confirmed vectors) − γ·mean(rejected vectors)),
 *    one vector, so the whole library is ranked in one pass of the index.
 * 2. A distance penalty on the best `window` candidates of that ranking: a crop nearer to some
 *    rejected crop than to the query, and closer to it than `margin` (squared distance between
 *    unit vectors), gets λ·(margin − that distance) added, so look-alikes of a rejected crop sink
 *    with it while true matches (between the query and its look-alikes) keep their place.
 * Crops beyond the window keep their Rocchio order after it.
 */

export interface FeedbackParams {
  gamma: number
  lambda: number
  margin: number
  window: number
}

/** Defaults chosen on the simulated-analyst benchmark's training identities (bench/simulated-analyst.ts). */
export const FEEDBACK: FeedbackParams = { gamma: 0.3, lambda: 1, margin: 0.8, window: 1000 }

/** normalise(mean(pos) − γ·mean(neg)) for unit-vector rows of dimension d. */
export function rocchioQuery(pos: Float32Array, neg: Float32Array, d: number, gamma: number): Float32Array {
  const np = pos.length / d
  const nn = neg.length / d
  const q = new Float64Array(d)
  for (let i = 0; i < np; i++) for (let k = 0; k < d; k++) q[k]! += pos[i * d + k]! / np
  if (nn > 0) for (let i = 0; i < nn; i++) for (let k = 0; k < d; k++) q[k]! -= (gamma * neg[i * d + k]!) / nn
  let s = 0
  for (let k = 0; k < d; k++) s += q[k]! ** 2
  const inv = s > 0 ? 1 / Math.sqrt(s) : 0
  return Float32Array.from(q, (v) => v * inv)
}

/**
 * Re-orders candidates (ascending distance, vectors as rows of d) with the penalty for closeness
 * to any rejected vector. Returns the new order (indices into the candidates) and the adjusted
 * distances in that order. Ties keep the original order.
 */
export function penaliseNearRejected(
  distances: ArrayLike<number>,
  vectors: Float32Array,
  neg: Float32Array,
  d: number,
  params: Pick<FeedbackParams, 'lambda' | 'margin'>,
): { order: Int32Array; distances: Float64Array } {
  const n = distances.length
  const nn = neg.length / d
  const adjusted = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    let best = Infinity
    for (let j = 0; j < nn; j++) {
      let dot = 0
      for (let k = 0; k < d; k++) dot += vectors[i * d + k]! * neg[j * d + k]!
      const dist = Math.max(0, 2 - 2 * dot)
      if (dist < best) best = dist
    }
    // Only a candidate nearer to a rejected crop than to the query is pushed down: true matches
    // lie between the query and its look-alikes, and must not lose to crops far from both.
    adjusted[i] =
      distances[i]! + (best < distances[i]! ? params.lambda * Math.max(0, params.margin - best) : 0)
  }
  const order = Int32Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => adjusted[a]! - adjusted[b]! || a - b,
  )
  return { order, distances: Float64Array.from(order, (i) => adjusted[i]!) }
}
