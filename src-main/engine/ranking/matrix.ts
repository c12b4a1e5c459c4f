/**
 * Building blocks shared by distances, re-ranking and query expansion: shape checks, the one
 * canonical dot product, a cache-blocked engine that produces tiles of dot products, and a small
 * "k smallest of a stream" selector.
 *
 * Features are row-major `Float32Array`s of n rows × d columns. All arithmetic is in doubles.
 *
 * **Canonical dot product.** Every dot product in ranking/ is the plain sequential sum
 * `((a₀b₀ + a₁b₁) + a₂b₂) + …` in doubles, in column order. The blocked kernel gets its
 * instruction-level parallelism from computing a 3×4 block of pairs at once (12 independent
 * accumulators), not from splitting one sum, so the value of a pair never depends on the tiling,
 * on where the pair sits in a tile, or on which function computed it: `dotRows` returns the very
 * same double as the kernel. Re-ranking relies on this to recompute single pairs exactly, and it
 * makes an all-pairs matrix exactly symmetric with an exactly zero diagonal.
 */

/** Throws unless `d` is a positive integer (the feature dimension). */
export function checkDim(d: number): void {
  if (!Number.isInteger(d) || d < 1)
    throw new RangeError(`feature dimension d must be a positive integer, got ${d}`)
}

/** Number of rows of a row-major n×d matrix `x` named `name`; throws when its length is not a multiple of d. */
export function rowsOf(name: string, x: ArrayLike<number>, d: number): number {
  checkDim(d)
  if (x.length % d !== 0) {
    throw new RangeError(
      `${name} has ${x.length} values, not a multiple of d = ${d} (expected n×d, row-major)`,
    )
  }
  return x.length / d
}

/** Returns `out` after checking it holds exactly `n` values, or a new Float32Array(n). */
export function outputBuffer(out: Float32Array | undefined, n: number, shape: string): Float32Array {
  if (out === undefined) return new Float32Array(n)
  if (out.length !== n) throw new RangeError(`out has ${out.length} values, expected ${shape} = ${n}`)
  return out
}

/** The canonical dot product of row `i` of `a` and row `j` of `b` (both n×d); see the module comment. */
export function dotRows(a: Float32Array, i: number, b: Float32Array, j: number, d: number): number {
  let s = 0
  const ai = i * d
  const bj = j * d
  for (let k = 0; k < d; k++) s += a[ai + k]! * b[bj + k]!
  return s
}

/** Squared L2 norms of the n rows of `x` (n×d), each the canonical dot product of the row with itself. */
export function squaredNorms(x: Float32Array, d: number): Float64Array {
  const n = rowsOf('x', x, d)
  const out = new Float64Array(n)
  for (let i = 0; i < n; i++) out[i] = dotRows(x, i, x, i, d)
  return out
}

/**
 * Squared Euclidean distance from squared norms and a dot product: |a|² + |b|² − 2a·b, clamped at
 * 0 (cancellation can make it slightly negative for near-identical rows); NaN inputs give NaN. Every squared distance
 * in ranking/ goes through this one expression, so equal inputs give bit-equal outputs.
 */
export function squaredDistance(normA: number, normB: number, dot: number): number {
  const v = normA + normB - 2 * dot
  return v < 0 ? 0 : v // NaN stays NaN
}

/**
 * Receives one tile of dot products: `dots[(i − i0)·stride + (j − j0)] = a_i · b_j` for
 * i0 ≤ i < i1, j0 ≤ j < j1. The buffer is reused for the next tile.
 */
export type DotTileVisitor = (
  i0: number,
  i1: number,
  j0: number,
  j1: number,
  dots: Float64Array,
  stride: number,
) => void

/** Rows of `a` per tile (a multiple of the kernel's 3). */
const TILE_ROWS = 48
/**
 * Bytes of packed `b` rows per block: as large as L2 (1 MiB per core on Zen 4) while every row of
 * `a` streams past. Measured here: 4.45 GFLOP/s at d = 2,048 against 3.85 with 256 KiB; splitting
 * d into L1-sized chunks as well brought nothing measurable, so the kernel runs over all of d.
 */
const PACKED_BYTES = 1024 * 1024

/**
 * Calls `visit` with tiles of dot products covering every pair (i, j) of rows of `a` (na×d) and
 * `b` (nb×d). With `symmetric` (a and b are the same matrix) only tiles that hold some pair with
 * i ≤ j are computed; a tile on the diagonal also holds some pairs with i > j, which the visitor may
 * use or ignore.
 *
 * Blocking: a block of `b` rows (≤ 1 MiB as doubles, 4 to 256 rows) is packed once, interleaved by 4
 * (b_{j,k}, b_{j+1,k}, b_{j+2,k}, b_{j+3,k}, b_{j,k+1}, …), then every row triple of `a` is packed
 * the same way and run against it with a 3×4 register block. Scratch: the packed block, 3·d
 * doubles and one 48×(block) tile: about 1.1 MiB (more only when d > 8,192), independent of na and nb.
 */
export function forEachDotTile(
  a: Float32Array,
  b: Float32Array,
  d: number,
  visit: DotTileVisitor,
  symmetric = false,
): void {
  const na = rowsOf('a', a, d)
  const nb = rowsOf('b', b, d)
  if (na === 0 || nb === 0) return
  const blockRows = Math.max(4, Math.min(256, Math.floor(PACKED_BYTES / (32 * d)) * 4))
  const packedB = new Float64Array(blockRows * d)
  const packedA = new Float64Array(3 * d)
  const stride = blockRows
  const dots = new Float64Array(TILE_ROWS * stride)
  for (let j0 = 0; j0 < nb; j0 += blockRows) {
    const jn = Math.min(blockRows, nb - j0)
    const jPadded = Math.ceil(jn / 4) * 4
    packRows(b, j0, jn, jPadded, 4, d, packedB)
    const iEnd = symmetric ? Math.min(na, j0 + jn) : na
    for (let i0 = 0; i0 < iEnd; i0 += TILE_ROWS) {
      const in_ = Math.min(TILE_ROWS, iEnd - i0)
      for (let ii = 0; ii < in_; ii += 3) {
        packRows(a, i0 + ii, Math.min(3, in_ - ii), 3, 3, d, packedA)
        kernel3x4(packedA, packedB, jPadded, d, dots, ii * stride, stride)
      }
      visit(i0, i0 + in_, j0, j0 + jn, dots, stride)
    }
  }
}

/**
 * Packs rows r0..r0+count−1 of x (and zero rows up to `padded`) into `out`, interleaved by `group`:
 * row r0+g·group+u, column k goes to out[g·group·d + k·group + u].
 */
function packRows(
  x: Float32Array,
  r0: number,
  count: number,
  padded: number,
  group: number,
  d: number,
  out: Float64Array,
): void {
  for (let r = 0; r < padded; r++) {
    const base = Math.floor(r / group) * group * d + (r % group)
    if (r < count) {
      const src = (r0 + r) * d
      for (let k = 0; k < d; k++) out[base + k * group] = x[src + k]!
    } else {
      for (let k = 0; k < d; k++) out[base + k * group] = 0
    }
  }
}

/**
 * 3 packed rows of `a` against `cols` (a multiple of 4) packed rows of `b`: 12 independent
 * sequential sums per step. Zero-padded rows only produce entries nobody reads.
 */
function kernel3x4(
  pa: Float64Array,
  pb: Float64Array,
  cols: number,
  d: number,
  dots: Float64Array,
  rowOffset: number,
  stride: number,
): void {
  for (let jj = 0; jj < cols; jj += 4) {
    const base = jj * d
    const end = base + 4 * d
    let s00 = 0,
      s01 = 0,
      s02 = 0,
      s03 = 0,
      s10 = 0,
      s11 = 0,
      s12 = 0,
      s13 = 0,
      s20 = 0,
      s21 = 0,
      s22 = 0,
      s23 = 0
    for (let kb = base, ka = 0; kb < end; kb += 4, ka += 3) {
      const y0 = pb[kb]!
      const y1 = pb[kb + 1]!
      const y2 = pb[kb + 2]!
      const y3 = pb[kb + 3]!
      let x = pa[ka]!
      s00 += x * y0
      s01 += x * y1
      s02 += x * y2
      s03 += x * y3
      x = pa[ka + 1]!
      s10 += x * y0
      s11 += x * y1
      s12 += x * y2
      s13 += x * y3
      x = pa[ka + 2]!
      s20 += x * y0
      s21 += x * y1
      s22 += x * y2
      s23 += x * y3
    }
    const o = rowOffset + jj
    dots[o] = s00
    dots[o + 1] = s01
    dots[o + 2] = s02
    dots[o + 3] = s03
    dots[o + stride] = s10
    dots[o + stride + 1] = s11
    dots[o + stride + 2] = s12
    dots[o + stride + 3] = s13
    dots[o + 2 * stride] = s20
    dots[o + 2 * stride + 1] = s21
    dots[o + 2 * stride + 2] = s22
    dots[o + 2 * stride + 3] = s23
  }
}

/**
 * For each of `rows` rows, the `capacity` smallest entries of a stream of (value, index) pairs,
 * kept sorted ascending by value and then by index: the prefix of a stable sort of the row,
 * whatever order the pairs arrive in. O(rows·capacity) memory; most pushes are rejected by one
 * comparison with the row's current worst.
 */
export class RowSmallestK {
  /** rows×capacity values; row r's entries are values[r·capacity .. r·capacity + size(r)). */
  readonly values: Float64Array
  /** rows×capacity indices, parallel to `values`. */
  readonly indices: Int32Array
  readonly sizes: Int32Array

  constructor(
    readonly rows: number,
    readonly capacity: number,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`capacity must be ≥ 1, got ${capacity}`)
    this.values = new Float64Array(rows * capacity)
    this.indices = new Int32Array(rows * capacity)
    this.sizes = new Int32Array(rows)
  }

  push(row: number, value: number, index: number): void {
    const { values, indices, capacity } = this
    const start = row * capacity
    let pos = this.sizes[row]!
    if (pos === capacity) {
      const worst = values[start + pos - 1]!
      if (value > worst || (value === worst && index > indices[start + pos - 1]!)) return
      pos--
    } else {
      this.sizes[row] = pos + 1
    }
    let at = start + pos
    while (at > start) {
      const v = values[at - 1]!
      if (v < value || (v === value && indices[at - 1]! < index)) break
      values[at] = v
      indices[at] = indices[at - 1]!
      at--
    }
    values[at] = value
    indices[at] = index
  }
}
