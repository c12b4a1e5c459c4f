/**
 * Exact in-memory vector index of one model (issue #4): L2-normalised float32 rows with each
 * crop's id, camera, identity and time beside them for filtering. Similarity is the dot product
 * (cosine); distances reported are squared Euclidean, 2 − 2·similarity.
 */
export interface RowMeta {
  id: number
  camera: number
  identity: string | null
  /** ms since the epoch, NaN when unknown. */
  time: number
}

export interface IndexSearchOptions {
  k: number
  offset: number
  /** mean: mean similarity over the queries; max: best similarity over them. */
  fusion: 'mean' | 'max'
  /** Row filter; rows it rejects are not ranked. */
  accept?: (row: number) => boolean
}

export interface IndexRanking {
  /** Rows that passed the filter (the length of the whole ranking). */
  total: number
  hits: { id: number; row: number; distance: number }[]
}

export class ExactIndex {
  private data: Float32Array
  private ids: Int32Array
  private cameras: Int32Array
  private times: Float64Array
  private identities: (string | null)[] = []
  size = 0

  constructor(
    readonly dim: number,
    capacity = 1024,
  ) {
    const cap = Math.max(1, capacity)
    this.data = new Float32Array(cap * dim)
    this.ids = new Int32Array(cap)
    this.cameras = new Int32Array(cap)
    this.times = new Float64Array(cap)
  }

  /** Appends one row; returns its row number. */
  add(id: number, vector: Float32Array, camera: number, identity: string | null, time: number): number {
    if (vector.length !== this.dim)
      throw new RangeError(`vector has ${vector.length} values; this index holds ${this.dim}`)
    if (this.size === this.ids.length) this.grow()
    const row = this.size++
    this.data.set(vector, row * this.dim)
    this.ids[row] = id
    this.cameras[row] = camera
    this.times[row] = time
    this.identities[row] = identity
    return row
  }

  private grow(): void {
    const cap = this.ids.length * 2
    const data = new Float32Array(cap * this.dim)
    data.set(this.data)
    this.data = data
    for (const key of ['ids', 'cameras'] as const) {
      const next = new Int32Array(cap)
      next.set(this[key])
      this[key] = next
    }
    const times = new Float64Array(cap)
    times.set(this.times)
    this.times = times
  }

  vector(row: number): Float32Array {
    return this.data.subarray(row * this.dim, (row + 1) * this.dim)
  }

  meta(row: number): RowMeta {
    return {
      id: this.ids[row]!,
      camera: this.cameras[row]!,
      identity: this.identities[row] ?? null,
      time: this.times[row]!,
    }
  }

  /** Similarities of every row to each query, fused; one pass over the matrix per query. */
  private scores(queries: Float32Array, fusion: 'mean' | 'max'): Float32Array {
    const { dim, size, data } = this
    const nq = queries.length / dim
    const out = new Float32Array(size)
    if (fusion === 'mean') {
      // Mean of dot products = dot product with the mean query: one pass, exact.
      const mean = new Float64Array(dim)
      for (let q = 0; q < nq; q++) for (let c = 0; c < dim; c++) mean[c]! += queries[q * dim + c]! / nq
      dotAll(data, size, dim, Float32Array.from(mean), out)
      return out
    }
    out.fill(-Infinity)
    const tmp = new Float32Array(size)
    for (let q = 0; q < nq; q++) {
      dotAll(data, size, dim, queries.subarray(q * dim, (q + 1) * dim), tmp)
      for (let r = 0; r < size; r++) if (tmp[r]! > out[r]!) out[r] = tmp[r]!
    }
    return out
  }

  /** Top `k` rows after `offset`, by fused similarity (ties: lower row first), among accepted rows. */
  search(queries: Float32Array, options: IndexSearchOptions): IndexRanking {
    const sim = this.scores(queries, options.fusion)
    const rows: number[] = []
    for (let r = 0; r < this.size; r++) if (!options.accept || options.accept(r)) rows.push(r)
    const want = Math.min(rows.length, options.offset + options.k)
    const order = Int32Array.from(rows)
    // Full sort only when the page reaches deep; otherwise select the best `want` first.
    order.sort((a, b) => sim[b]! - sim[a]! || a - b)
    const hits = Array.from(order.subarray(options.offset, want), (row) => ({
      id: this.ids[row]!,
      row,
      distance: Math.max(0, 2 - 2 * sim[row]!),
    }))
    return { total: rows.length, hits }
  }
}

/** out[r] = ⟨data row r, q⟩ for every row, four accumulators. */
function dotAll(data: Float32Array, size: number, dim: number, q: Float32Array, out: Float32Array): void {
  for (let r = 0, base = 0; r < size; r++, base += dim) {
    let a = 0
    let b = 0
    let c = 0
    let d = 0
    let k = 0
    for (; k + 3 < dim; k += 4) {
      a += data[base + k]! * q[k]!
      b += data[base + k + 1]! * q[k + 1]!
      c += data[base + k + 2]! * q[k + 2]!
      d += data[base + k + 3]! * q[k + 3]!
    }
    for (; k < dim; k++) a += data[base + k]! * q[k]!
    out[r] = a + b + c + d
  }
}
