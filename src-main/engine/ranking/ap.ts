/**
 * Average precision of one ranked list and its change when one mis-ranked pair is swapped
 * (DESIGN.md §4 steps 4–5; Chen et al., MVA 2021, Eq. 5–7).
 *
 * Positives sit at 1-based ranks π_1 < … < π_M of the list.
 * - standard: AP = (1/M) Σ_t t/π_t
 * - paper (Eq. 6): AP + 1/(2M) − 1/(2π_M)
 */
export type ApVariant = 'standard' | 'paper'
export const apVariants: readonly ApVariant[] = ['standard', 'paper']

/** AP of a list from the ascending 1-based ranks of its M positives (`ranks[0..m-1]`); 0 when m = 0. */
export function averagePrecision(
  ranks: ArrayLike<number>,
  m: number,
  variant: ApVariant = 'standard',
): number {
  if (m === 0) return 0
  let sum = 0
  for (let t = 1; t <= m; t++) sum += t / ranks[t - 1]!
  const ap = sum / m
  return variant === 'paper' ? ap + 1 / (2 * m) - 1 / (2 * ranks[m - 1]!) : ap
}

/**
 * Prefix sums of 1/π: `out[q] = Σ_{u=1..q} 1/π_u` (out[0] = 0), so the middle sum of ΔAP is
 * `out[t-1] − out[s]` in O(1). `out` must hold m + 1 numbers.
 */
export function inverseRankPrefix(ranks: ArrayLike<number>, m: number, out: Float64Array): Float64Array {
  out[0] = 0
  for (let q = 1; q <= m; q++) out[q] = out[q - 1]! + 1 / ranks[q - 1]!
  return out
}

/**
 * ΔAP of swapping the t-th positive (rank π_t) with a negative at rank r_k < π_t that has s
 * positives ranked before it (so s < t). Closed form (DESIGN.md §4.5):
 *
 *   ΔAP = (1/M) [ (s+1)/r_k − t/π_t + Σ_{q=s+1}^{t−1} 1/π_q ]
 *
 * The paper variant adds the change of −1/(2π_M), which moves only when t = M: the new last
 * positive rank is max(π_{M−1}, r_k) (r_k when M = 1).
 *
 * @param ranks ascending 1-based positive ranks π_1..π_M
 * @param prefix {@link inverseRankPrefix} of `ranks`
 * @param t 1-based index of the positive (1..M)
 * @param rk 1-based rank of the negative, < π_t
 * @param s positives ranked before the negative (0..t−1)
 */
export function deltaApSwap(
  ranks: ArrayLike<number>,
  prefix: Float64Array,
  m: number,
  t: number,
  rk: number,
  s: number,
  variant: ApVariant = 'standard',
): number {
  const pit = ranks[t - 1]!
  let delta = ((s + 1) / rk - t / pit + (prefix[t - 1]! - prefix[s]!)) / m
  if (variant === 'paper' && t === m) {
    const newLast = m >= 2 ? Math.max(ranks[m - 2]!, rk) : rk
    delta += 1 / (2 * pit) - 1 / (2 * newLast)
  }
  return delta
}
