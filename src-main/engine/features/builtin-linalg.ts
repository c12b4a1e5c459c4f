/**
 * The dense linear algebra the built-in descriptor's projection is fitted with (bench/builtin-fit.ts):
 * symmetric eigendecomposition and Cholesky factorisation, on row-major n×n Float64Arrays. Plain
 * TypeScript; used offline on matrices up to a few thousand rows, never at embedding time.
 */

/** Eigenpairs of a symmetric matrix: values descending, vectors as the columns of an n×n matrix. */
export interface SymmetricEigen {
  values: Float64Array
  /** Row-major n×n; column k is the unit eigenvector of values[k]. */
  vectors: Float64Array
}

/**
 * Eigendecomposition of a symmetric n×n matrix: Householder reduction to tridiagonal form and the
 * implicit QL algorithm (EISPACK tred2 / tql2, as in JAMA). Only the lower triangle of `a` is read;
 * `a` is not modified. Cost about 9n³ flops.
 */
export function symmetricEigen(a: Float64Array, n: number): SymmetricEigen {
  if (a.length !== n * n) throw new RangeError(`matrix has ${a.length} entries, expected ${n}×${n}`)
  // Work on the transpose of JAMA's V (row k of `vt` = column k of V) so the inner loops run along rows.
  const vt = new Float64Array(n * n)
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) vt[j * n + i] = a[i * n + j]!
  const d = new Float64Array(n)
  const e = new Float64Array(n)
  tred2(vt, d, e, n)
  tql2(vt, d, e, n)
  const order = Array.from({ length: n }, (_, k) => k).sort((x, y) => d[y]! - d[x]! || x - y)
  const values = new Float64Array(n)
  const vectors = new Float64Array(n * n)
  for (let k = 0; k < n; k++) {
    const src = order[k]!
    values[k] = d[src]!
    const row = src * n
    for (let i = 0; i < n; i++) vectors[i * n + k] = vt[row + i]!
  }
  return { values, vectors }
}

// JAMA's V[i][j] is vt[j * n + i] throughout.
function tred2(vt: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) d[j] = vt[j * n + (n - 1)]!
  for (let i = n - 1; i > 0; i--) {
    let scale = 0
    let h = 0
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]!)
    if (scale === 0) {
      e[i] = d[i - 1]!
      for (let j = 0; j < i; j++) {
        d[j] = vt[j * n + (i - 1)]!
        vt[j * n + i] = 0
        vt[i * n + j] = 0
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] = d[k]! / scale
        h += d[k]! * d[k]!
      }
      let f = d[i - 1]!
      let g = Math.sqrt(h)
      if (f > 0) g = -g
      e[i] = scale * g
      h -= f * g
      d[i - 1] = f - g
      for (let j = 0; j < i; j++) e[j] = 0
      for (let j = 0; j < i; j++) {
        f = d[j]!
        const rowJ = j * n
        vt[i * n + j] = f
        g = e[j]! + vt[rowJ + j]! * f
        for (let k = j + 1; k <= i - 1; k++) {
          const v = vt[rowJ + k]!
          g += v * d[k]!
          e[k] = e[k]! + v * f
        }
        e[j] = g
      }
      f = 0
      for (let j = 0; j < i; j++) {
        e[j] = e[j]! / h
        f += e[j]! * d[j]!
      }
      const hh = f / (h + h)
      for (let j = 0; j < i; j++) e[j] = e[j]! - hh * d[j]!
      for (let j = 0; j < i; j++) {
        f = d[j]!
        g = e[j]!
        const rowJ = j * n
        for (let k = j; k <= i - 1; k++) vt[rowJ + k] = vt[rowJ + k]! - (f * e[k]! + g * d[k]!)
        d[j] = vt[rowJ + (i - 1)]!
        vt[rowJ + i] = 0
      }
    }
    d[i] = h
  }
  // Accumulate transformations.
  for (let i = 0; i < n - 1; i++) {
    const rowI = i * n
    vt[rowI + (n - 1)] = vt[rowI + i]!
    vt[rowI + i] = 1
    const h = d[i + 1]!
    const rowH = (i + 1) * n
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = vt[rowH + k]! / h
      for (let j = 0; j <= i; j++) {
        let g = 0
        const rowJ = j * n
        for (let k = 0; k <= i; k++) g += vt[rowH + k]! * vt[rowJ + k]!
        for (let k = 0; k <= i; k++) vt[rowJ + k] = vt[rowJ + k]! - g * d[k]!
      }
    }
    for (let k = 0; k <= i; k++) vt[rowH + k] = 0
  }
  for (let j = 0; j < n; j++) {
    d[j] = vt[j * n + (n - 1)]!
    vt[j * n + (n - 1)] = 0
  }
  vt[(n - 1) * n + (n - 1)] = 1
  e[0] = 0
}

function tql2(vt: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i]!
  e[n - 1] = 0
  let f = 0
  let tst1 = 0
  const eps = 2 ** -52
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!))
    let m = l
    while (m < n) {
      if (Math.abs(e[m]!) <= eps * tst1) break
      m++
    }
    if (m > l) {
      let iter = 0
      do {
        if (++iter > 1000) throw new Error('symmetricEigen: QL iteration did not converge')
        let g = d[l]!
        let p = (d[l + 1]! - g) / (2 * e[l]!)
        let r = Math.hypot(p, 1)
        if (p < 0) r = -r
        d[l] = e[l]! / (p + r)
        d[l + 1] = e[l]! * (p + r)
        const dl1 = d[l + 1]!
        let h = g - d[l]!
        for (let i = l + 2; i < n; i++) d[i] = d[i]! - h
        f += h
        p = d[m]!
        let c = 1
        let c2 = c
        let c3 = c
        const el1 = e[l + 1]!
        let s = 0
        let s2 = 0
        for (let i = m - 1; i >= l; i--) {
          c3 = c2
          c2 = c
          s2 = s
          g = c * e[i]!
          h = c * p
          r = Math.hypot(p, e[i]!)
          e[i + 1] = s * r
          s = e[i]! / r
          c = p / r
          p = c * d[i]! - s * g
          d[i + 1] = h + s * (c * g + s * d[i]!)
          // Rotate columns i and i+1 of V = rows i and i+1 of vt.
          const ri = i * n
          const ri1 = ri + n
          for (let k = 0; k < n; k++) {
            const a = vt[ri1 + k]!
            const b = vt[ri + k]!
            vt[ri1 + k] = s * b + c * a
            vt[ri + k] = c * b - s * a
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1
        e[l] = s * p
        d[l] = c * p
      } while (Math.abs(e[l]!) > eps * tst1)
    }
    d[l] = d[l]! + f
    e[l] = 0
  }
}

/**
 * Cholesky factor L (lower triangular, row-major n×n) of a symmetric positive-definite matrix, A = L Lᵀ.
 * Throws when A is not positive definite.
 */
export function cholesky(a: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n)
  for (let i = 0; i < n; i++) {
    const ri = i * n
    for (let j = 0; j <= i; j++) {
      const rj = j * n
      let s = a[ri + j]!
      for (let k = 0; k < j; k++) s -= l[ri + k]! * l[rj + k]!
      if (i === j) {
        if (!(s > 0)) throw new RangeError(`cholesky: matrix is not positive definite (pivot ${i} = ${s})`)
        l[ri + i] = Math.sqrt(s)
      } else {
        l[ri + j] = s / l[rj + j]!
      }
    }
  }
  return l
}

/** Inverse of a lower-triangular n×n matrix (row-major), itself lower triangular; row-oriented, n³/6 multiply-adds. */
export function invertLower(l: Float64Array, n: number): Float64Array {
  const inv = new Float64Array(n * n)
  for (let i = 0; i < n; i++) {
    const ri = i * n
    // Row i of L·X = e_i: X[i, :] = (e_i − Σ_{k<i} L[i, k] X[k, :]) / L[i, i]; row k of X is zero past column k.
    for (let k = 0; k < i; k++) {
      const f = l[ri + k]!
      if (f === 0) continue
      const rk = k * n
      for (let j = 0; j <= k; j++) inv[ri + j] = inv[ri + j]! - f * inv[rk + j]!
    }
    const pivot = l[ri + i]!
    inv[ri + i] = inv[ri + i]! + 1
    for (let j = 0; j <= i; j++) inv[ri + j] = inv[ri + j]! / pivot
  }
  return inv
}

/** C = A·B for row-major A (m×k) and B (k×p). */
export function matmul(a: Float64Array, b: Float64Array, m: number, k: number, p: number): Float64Array {
  const c = new Float64Array(m * p)
  for (let i = 0; i < m; i++) {
    const ci = i * p
    for (let t = 0; t < k; t++) {
      const v = a[i * k + t]!
      if (v === 0) continue
      const bt = t * p
      for (let j = 0; j < p; j++) c[ci + j] = c[ci + j]! + v * b[bt + j]!
    }
  }
  return c
}

/** Aᵀ for row-major A (m×k): k×m. */
export function transpose(a: Float64Array, m: number, k: number): Float64Array {
  const t = new Float64Array(k * m)
  for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) t[j * m + i] = a[i * k + j]!
  return t
}

/** C = A·Bᵀ for row-major A (m×k) and B (p×k): m×p, every entry a dot product of two rows. */
export function matmulTransB(
  a: Float64Array,
  b: Float64Array,
  m: number,
  k: number,
  p: number,
): Float64Array {
  const c = new Float64Array(m * p)
  for (let i = 0; i < m; i++) {
    const ai = i * k
    for (let j = 0; j < p; j++) {
      const bj = j * k
      let s0 = 0
      let s1 = 0
      let t = 0
      for (; t + 1 < k; t += 2) {
        s0 += a[ai + t]! * b[bj + t]!
        s1 += a[ai + t + 1]! * b[bj + t + 1]!
      }
      if (t < k) s0 += a[ai + t]! * b[bj + t]!
      c[i * p + j] = s0 + s1
    }
  }
  return c
}
