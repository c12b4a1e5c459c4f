/**
 * Cross-view Quadratic Discriminant Analysis (XQDA; Liao et al., CVPR 2015, §4) fitted on labelled
 * descriptors, expressed as a linear projection: the built-in descriptor's learned part. Used offline
 * by bench/builtin-fit.ts (the shipped projection) and bench/builtin-descriptor.ts (train-val).
 *
 * XQDA models the difference of two descriptors as zero-mean Gaussian under "same person" (Σ_I)
 * and "different person" (Σ_E) and finds the subspace W maximising the Rayleigh quotient
 * wᵀΣ_E w / wᵀΣ_I w (eq. 14–16): the generalised eigenvectors of (Σ_E, Σ_I). With W normalised so
 * that WᵀΣ_I W = I and WᵀΣ_E W = Λ, the learned metric (eq. 11) is (x−z)ᵀW(I − Λ⁻¹)Wᵀ(x−z), i.e. the
 * Euclidean distance after y = diag(√(1 − 1/λ_k)) Wᵀx, which is what this module returns; only
 * directions with λ_k > 1 (more spread between people than within) carry weight.
 *
 * Choices (made on the train-val split of bounding_box_train; see bench/builtin-descriptor.ts):
 * - "same person" pairs are the pairs of one identity seen by *different* cameras (the pairs the
 *   metric must bring together; same-camera pairs are near duplicates), "different person" pairs
 *   are all pairs of different identities;
 * - Σ_I is regularised by λ = 1e-3 on its diagonal, as in the paper (descriptor parts are L2-normalised);
 * - the covariances live in the n-dimensional span of the n training descriptors (d ≫ n), with an
 *   orthonormal basis from the Cholesky factor of the Gram matrix (the paper uses a QR
 *   decomposition; the basis differs by a rotation, which leaves XQDA unchanged).
 *
 * Cost for n samples: about n²·nnz/2 for the Gram matrix, and a few n³ for the factorisations and the
 * eigendecomposition (n = 2,412: about 2–3 minutes in plain TypeScript).
 */
import { cholesky, invertLower, matmul, matmulTransB, symmetricEigen } from './builtin-linalg'

export interface XqdaInput {
  /** n×d descriptors, row-major, typically sparse (many exact zeros). */
  x: Float32Array
  n: number
  d: number
  /** Identity of each row (any integers; rows with the same value are one person). */
  labels: Int32Array
  /** Camera of each row. */
  cams: Int32Array
}

export interface XqdaOptions {
  /** Output dimension r (the r directions with the largest λ). Default 64. */
  dim?: number
  /** Ridge added to Σ_I's diagonal. Default 1e-3. */
  lambda?: number
  /** Progress lines (each stage and its time). */
  log?: (line: string) => void
}

export interface XqdaFit {
  /** d×r row-major: y = Pᵀ(x − mean). */
  projection: Float64Array
  /** Training mean, length d. */
  mean: Float64Array
  d: number
  r: number
  /** λ of each kept direction (descending); all should be > 1. */
  eigenvalues: Float64Array
  /** How many generalised eigenvalues exceed 1 in all. */
  aboveOne: number
}

/** Fits XQDA; see the module comment. Throws a RangeError on inconsistent input or too few pairs. */
export function fitXqda(input: XqdaInput, options: XqdaOptions = {}): XqdaFit {
  const { x, n, d, labels, cams } = input
  const r = options.dim ?? 64
  const lambda = options.lambda ?? 1e-3
  const log = options.log ?? (() => {})
  if (x.length !== n * d) throw new RangeError(`x has ${x.length} values, expected n×d = ${n}×${d}`)
  if (labels.length !== n || cams.length !== n) throw new RangeError('labels and cams need one entry per row')
  if (r < 1 || r > n) throw new RangeError(`dim must be in 1..${n}, got ${r}`)
  let t = performance.now()
  const stage = (what: string): void => {
    const now = performance.now()
    log(`xqda: ${what} (${((now - t) / 1000).toFixed(1)} s)`)
    t = now
  }

  // Sparse rows: indices and values of the non-zeros.
  const rowStart = new Int32Array(n + 1)
  for (let i = 0; i < n; i++) {
    let nz = 0
    for (let k = i * d; k < (i + 1) * d; k++) if (x[k] !== 0) nz++
    rowStart[i + 1] = rowStart[i]! + nz
  }
  const idx = new Int32Array(rowStart[n]!)
  const val = new Float64Array(rowStart[n]!)
  for (let i = 0, p = 0; i < n; i++) {
    for (let k = 0; k < d; k++) {
      const v = x[i * d + k]!
      if (v !== 0) {
        idx[p] = k
        val[p++] = v
      }
    }
  }

  // Gram matrix K = X Xᵀ and its Cholesky factor: row i of L is sample i in an orthonormal basis
  // of the training span (X = L Qᵀ with Qᵀ = L⁻¹X, QᵀQ = I).
  const gram = new Float64Array(n * n)
  for (let i = 0; i < n; i++) {
    const row = x.subarray(i * d, (i + 1) * d)
    for (let j = 0; j <= i; j++) {
      let s = 0
      for (let p = rowStart[j]!; p < rowStart[j + 1]!; p++) s += val[p]! * row[idx[p]!]!
      gram[i * n + j] = s
      gram[j * n + i] = s
    }
  }
  stage(`Gram matrix of ${n} descriptors (${(idx.length / n).toFixed(0)} non-zeros each)`)
  const z = cholesky(gram, n)
  stage('Cholesky factor of the Gram matrix')

  // Pair-sum identities (ordered pairs): Σ_{i∈A, j∈B} (z_i − z_j)(z_i − z_j)ᵀ
  // = |B| Σ_A z zᵀ + |A| Σ_B z zᵀ − s_A s_Bᵀ − s_B s_Aᵀ.
  const groups = groupRows(labels, cams)
  const wI = new Float64Array(n) // weight of z_i z_iᵀ in S_I: rows of its identity under other cameras
  const wE = new Float64Array(n) // weight in S_E: rows of other identities
  let pairsI = 0
  let sumSq = 0
  for (const g of groups.values()) {
    const nc = g.rows.length
    sumSq += nc * nc
    let camSq = 0
    for (const rows of g.byCam.values()) {
      camSq += rows.length * rows.length
      for (const i of rows) wI[i] = nc - rows.length
    }
    pairsI += nc * nc - camSq
    for (const i of g.rows) wE[i] = n - nc
  }
  const pairsE = n * n - sumSq
  if (pairsI === 0) throw new RangeError('no identity is seen by two cameras: XQDA needs cross-camera pairs')
  if (pairsE === 0) throw new RangeError('only one identity: XQDA needs pairs of different people')
  const sI = weightedGram(z, n, wI)
  const sE = weightedGram(z, n, wE)
  const total = new Float64Array(n)
  for (let i = 0; i < n; i++) addTo(total, z, i * n, n, 1)
  for (const g of groups.values()) {
    const sc = sumRows(z, n, g.rows)
    addOuter(sI, sc, -1)
    addOuter(sE, sc, 1)
    for (const rows of g.byCam.values()) addOuter(sI, sumRows(z, n, rows), 1)
  }
  addOuter(sE, total, -1)
  for (let k = 0; k < n * n; k++) {
    sI[k] = (2 * sI[k]!) / pairsI
    sE[k] = (2 * sE[k]!) / pairsE
  }
  for (let i = 0; i < n; i++) sI[i * n + i] = sI[i * n + i]! + lambda
  stage(`covariances (${pairsI} cross-camera same-person pairs, ${pairsE} different-person pairs)`)

  // Generalised eigenproblem Σ_E w = λ Σ_I w through Σ_I = C Cᵀ: eig of C⁻¹ Σ_E C⁻ᵀ.
  const cInv = invertLower(cholesky(sI, n), n)
  const a = matmulTransB(matmul(cInv, sE, n, n, n), cInv, n, n, n)
  for (let i = 0; i < n; i++)
    for (let j = 0; j < i; j++) a[i * n + j] = a[j * n + i] = (a[i * n + j]! + a[j * n + i]!) / 2
  stage('whitened between-person covariance')
  const { values, vectors } = symmetricEigen(a, n)
  stage('eigendecomposition')
  let aboveOne = 0
  while (aboveOne < n && values[aboveOne]! > 1) aboveOne++

  // W (n×r, subspace coordinates) = C⁻ᵀ V_r diag(√(1 − 1/λ)); then G = L⁻ᵀ W so that P = Xᵀ G.
  const w = new Float64Array(n * r)
  for (let k = 0; k < r; k++) {
    const gain = values[k]! > 1 ? Math.sqrt(1 - 1 / values[k]!) : 0
    for (let i = 0; i < n; i++) {
      let s = 0
      for (let j = i; j < n; j++) s += cInv[j * n + i]! * vectors[j * n + k]!
      w[i * r + k] = s * gain
    }
  }
  const g = solveUpperTransposed(z, n, w, r)
  const projection = new Float64Array(d * r)
  for (let i = 0; i < n; i++) {
    for (let p = rowStart[i]!; p < rowStart[i + 1]!; p++) {
      const v = val[p]!
      const base = idx[p]! * r
      for (let k = 0; k < r; k++) projection[base + k] = projection[base + k]! + v * g[i * r + k]!
    }
  }
  const mean = new Float64Array(d)
  for (let p = 0; p < idx.length; p++) mean[idx[p]!] = mean[idx[p]!]! + val[p]! / n
  stage(`projection ${d}×${r} (${aboveOne} eigenvalues above 1)`)
  return { projection, mean, d, r, eigenvalues: values.slice(0, r), aboveOne }
}

interface Group {
  rows: number[]
  byCam: Map<number, number[]>
}

function groupRows(labels: Int32Array, cams: Int32Array): Map<number, Group> {
  const groups = new Map<number, Group>()
  for (let i = 0; i < labels.length; i++) {
    let g = groups.get(labels[i]!)
    if (!g) groups.set(labels[i]!, (g = { rows: [], byCam: new Map() }))
    g.rows.push(i)
    let c = g.byCam.get(cams[i]!)
    if (!c) g.byCam.set(cams[i]!, (c = []))
    c.push(i)
  }
  return groups
}

/** Σ_i w_i z_i z_iᵀ over the rows of z (n×n). */
function weightedGram(z: Float64Array, n: number, weight: Float64Array): Float64Array {
  const out = new Float64Array(n * n)
  for (let i = 0; i < n; i++) {
    const wi = weight[i]!
    if (wi === 0) continue
    const zi = i * n
    // Row i of the Cholesky factor is zero past column i.
    for (let a = 0; a <= i; a++) {
      const f = wi * z[zi + a]!
      if (f === 0) continue
      const ra = a * n
      for (let b = 0; b <= a; b++) out[ra + b] = out[ra + b]! + f * z[zi + b]!
    }
  }
  for (let a = 0; a < n; a++) for (let b = 0; b < a; b++) out[b * n + a] = out[a * n + b]!
  return out
}

function sumRows(z: Float64Array, n: number, rows: readonly number[]): Float64Array {
  const s = new Float64Array(n)
  for (const i of rows) addTo(s, z, i * n, n, 1)
  return s
}

function addTo(acc: Float64Array, src: Float64Array, at: number, len: number, f: number): void {
  for (let k = 0; k < len; k++) acc[k] = acc[k]! + f * src[at + k]!
}

/** m += f · s sᵀ. */
function addOuter(m: Float64Array, s: Float64Array, f: number): void {
  const n = s.length
  for (let a = 0; a < n; a++) {
    const fa = f * s[a]!
    if (fa === 0) continue
    addTo(m.subarray(a * n, (a + 1) * n), s, 0, n, fa)
  }
}

/** Solves Lᵀ G = B for G (n×r), L lower triangular n×n: back substitution, column by column of B. */
function solveUpperTransposed(l: Float64Array, n: number, b: Float64Array, r: number): Float64Array {
  const g = b.slice()
  for (let i = n - 1; i >= 0; i--) {
    const pivot = l[i * n + i]!
    for (let k = 0; k < r; k++) g[i * r + k] = g[i * r + k]! / pivot
    // (Lᵀ)[j, i] = L[i, j] for j < i: remove row i's contribution from rows j < i.
    for (let j = 0; j < i; j++) {
      const f = l[i * n + j]!
      if (f === 0) continue
      for (let k = 0; k < r; k++) g[j * r + k] = g[j * r + k]! - f * g[i * r + k]!
    }
  }
  return g
}
