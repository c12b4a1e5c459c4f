/** Small deterministic PRNG for property tests (Mulberry32). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** P identities × K images, embeddings uniform in [-1, 1]^d. */
export function randomBatch(rand: () => number, p: number, k: number, d: number) {
  const labels: number[] = []
  for (let i = 0; i < p; i++) for (let j = 0; j < k; j++) labels.push(i)
  const X = new Float64Array(labels.length * d).map(() => rand() * 2 - 1)
  return { labels, X, d }
}

/** Naive double-precision squared Euclidean distances of n points of dimension d. */
export function pairwiseSq(X: Float64Array, n: number, d: number): Float64Array {
  const D = new Float64Array(n * n)
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0
      for (let c = 0; c < d; c++) s += (X[i * d + c]! - X[j * d + c]!) ** 2
      D[i * n + j] = s
    }
  }
  return D
}

export function sumCD(C: Float64Array, D: Float64Array): number {
  let s = 0
  for (let i = 0; i < C.length; i++) s += C[i]! * D[i]!
  return s
}

/** ∂L/∂X from C (L = Σ C_ij D_ij + c, D_ij = |x_i − x_j|²): g_a = 2 Σ_j (C_aj + C_ja)(x_a − x_j). */
export function gradFromCoeff(C: Float64Array, X: Float64Array, n: number, d: number): Float64Array {
  const g = new Float64Array(n * d)
  for (let a = 0; a < n; a++) {
    for (let j = 0; j < n; j++) {
      const c = C[a * n + j]! + C[j * n + a]!
      if (c === 0) continue
      for (let k = 0; k < d; k++) g[a * d + k]! += 2 * c * (X[a * d + k]! - X[j * d + k]!)
    }
  }
  return g
}
