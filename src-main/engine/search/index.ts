/**
 * Exact in-memory vector index of one model (issue #4): L2-normalised float32 embeddings with each
 * row's crop id, camera, identity id and timestamp beside them for filters. Similarity is the dot
 * product (= cosine); distances reported are squared Euclidean between unit vectors, 2 − 2·sim.
 *
 * **Method, and why** (bench/search.ts; 2 vCPU Zen 4, 1M × 512 = 2.1 GB, top-100, one query):
 * one query is a single pass over all N·d floats, so its floor is the time to read them: ≈ 65 ms
 * at the ≈ 32 GB/s this VM reads at best (≈ 80 ms at the rate measured alongside the searches).
 * - plain JS (V8 never vectorises; any accumulator layout): ≈ 1.35 s, ≈ 20× the floor;
 * - the same kernel split over 2 worker_threads on SharedArrayBuffers: 0.46–0.93 s, 7–14×;
 * - onnxruntime `Gemm(q, G, transB=1)` on a row-major matrix: ≈ 160 ms (MLAS packs G first);
 *   `MatMul(G, qᵀ)`: ≈ 220 ms;
 * - onnxruntime `MatMul(q[1,d], panel[d,w])` on column-major panels: MLAS's GEMV streams each
 *   panel once: 46–63 ms on 2 threads, ≈ 81 ms on 1, i.e. 1.0–1.1× a floor measured alongside
 *   (ml/onnx/scorer.ts). **This is the method.** While other processes kept both cores busy it
 *   took 85–130 ms, still ≈ 1.1–1.2× the floor measured alongside.
 * A batch of 10 queries runs as one packed GEMM (compute-bound: 0.28–0.55 s on 2 threads).
 * So vectors are stored column-major, in *panels* of at most `panelColumns` vectors (a d×w block,
 * component k of vector j at `panel[k·w + j]`, ≤ 256 MiB each; panels.ts): appending never moves
 * full panels, only the last one grows (by doubling, or exactly with `reserve`), and each panel
 * is one MatMul run (≈ 40 µs of overhead) after which the event loop gets a turn. Scores land in
 * a scratch of one panel and go straight into the top-k selection (topk.ts, ≈ 2 ms per 1M): no
 * N-sized score array. Without onnxruntime the same panels are scored in plain JS (scoring.ts).
 * No approximate index: the exact search already meets the issue's 2×-the-floor target.
 *
 * Fusion of several queries: 'mean' ranks by the mean similarity, which is one pass with the mean
 * query vector (exact: the dot product is linear); 'max' by the best similarity over the queries.
 * Ties rank by row (insertion) order. A zero vector (an empty crop's embedding) scores 0.
 */
import { LineupError } from '../../../src-shared/errors'
import { squaredDistance } from '../ranking/matrix'
import { filterMask, type SearchFilter } from './filters'
import { checkUnitRows, PanelStore } from './panels'
import { defaultScorer, type PanelScorer } from './scoring'
import { TopK } from './topk'

export type { SearchFilter } from './filters'
export { defaultPanelColumns, type Panel, type RowMetadata } from './panels'

/** Options of a search. */
export interface SearchOptions {
  /** Results per page (≥ 1). */
  k: number
  /** Results skipped before the page (default 0): page p of size k is offset p·k. */
  offset?: number
  filter?: SearchFilter
  /** How several query vectors combine into one ranking (default 'mean'). */
  fusion?: 'mean' | 'max'
}

/** One page of a ranking, best first. */
export interface SearchResult {
  /** The model whose vectors were searched (VectorIndex.modelKey). */
  modelKey: string
  /** Rows that pass the filter: the length of the whole ranking. */
  total: number
  offset: number
  /** Crop ids. */
  ids: Int32Array
  /** Row numbers in the index. */
  rows: Int32Array
  /** Squared Euclidean distances between unit vectors, 2 − 2·similarity, clamped at 0. */
  distances: Float64Array
  /** 1-based ranks: offset + 1, offset + 2, … */
  ranks: Int32Array
}

export interface VectorIndexOptions {
  /** What produced the vectors (model file SHA-256 or builtin:name@version); carried by results. */
  modelKey?: string
  /** Dot-product kernel (default: scoring.ts `defaultScorer()`, onnxruntime when it loads). */
  scorer?: PanelScorer
  /** Most vectors per panel (default: 2²⁶ floats / dim rounded down to a power of two, ≥ 1024). */
  panelColumns?: number
}

export class VectorIndex extends PanelStore {
  readonly modelKey: string
  scorer: PanelScorer | undefined

  constructor(dim: number, options: VectorIndexOptions = {}) {
    super(dim, options.panelColumns)
    this.modelKey = options.modelKey ?? ''
    this.scorer = options.scorer
  }

  /**
   * One ranking for one or several query vectors (nq×dim row-major, L2-normalised), fused by
   * `options.fusion` when nq > 1. Exact: every row is scored.
   */
  async search(queries: Float32Array, options: SearchOptions): Promise<SearchResult> {
    const nq = this.queryCount(queries)
    const fusion = options.fusion ?? 'mean'
    if (fusion !== 'mean' && fusion !== 'max')
      throw new RangeError(`fusion must be 'mean' or 'max', got '${String(fusion)}'`)
    if (nq === 1 || fusion === 'mean') {
      const mean = meanRow(queries, nq, this.dim)
      return (await this.rank(mean, 1, false, options))[0]!
    }
    return (await this.rank(queries, nq, true, options))[0]!
  }

  /** Independent rankings for each of the nq query vectors (nq×dim), one pass over the panels. */
  async searchBatch(queries: Float32Array, options: Omit<SearchOptions, 'fusion'>): Promise<SearchResult[]> {
    return this.rank(queries, this.queryCount(queries), false, options)
  }

  private async rank(
    queries: Float32Array,
    nq: number,
    fuseMax: boolean,
    options: Omit<SearchOptions, 'fusion'>,
  ): Promise<SearchResult[]> {
    const { k } = options
    const offset = options.offset ?? 0
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be an integer ≥ 1, got ${k}`)
    if (!Number.isInteger(offset) || offset < 0)
      throw new RangeError(`offset must be an integer ≥ 0, got ${offset}`)
    // Snapshot: rows appended while this search awaits the kernel are not ranked.
    const cols = { ...this.cols }
    const size = cols.size
    const panels = this.panels.map((p) => ({ ...p }))
    const filtered = filterMask(options.filter, cols)
    const mask = filtered?.mask ?? null
    const total = filtered?.total ?? size
    const selections = Array.from({ length: fuseMax ? 1 : nq }, () => new TopK(Math.min(offset + k, total)))
    if (total > 0) {
      const scorer = (this.scorer ??= await defaultScorer())
      const P = this.panelColumns
      const scores = new Float32Array(nq * Math.max(...panels.map((p) => p.capacity)))
      for (let p = 0; p < panels.length; p++) {
        const { data, capacity: w } = panels[p]!
        const base = p * P
        const filled = Math.min(w, size - base)
        if (filled <= 0) break
        await scorer.dots(queries, nq, data, this.dim, w, scores)
        if (fuseMax) {
          for (let i = 1; i < nq; i++) {
            for (let j = 0, o = i * w; j < filled; j++, o++)
              if (scores[o]! > scores[j]!) scores[j] = scores[o]!
          }
          selections[0]!.offer(scores, 0, filled, base, mask)
        } else {
          for (let i = 0; i < nq; i++) selections[i]!.offer(scores, i * w, i * w + filled, base - i * w, mask)
        }
      }
    }
    return selections.map((sel) => {
      const { rows, scores } = sel.sorted()
      const page = rows.subarray(Math.min(offset, rows.length))
      const sims = scores.subarray(Math.min(offset, rows.length))
      return {
        modelKey: this.modelKey,
        total,
        offset,
        ids: Int32Array.from(page, (r) => cols.ids[r]!),
        rows: Int32Array.from(page),
        distances: Float64Array.from(sims, (s) => squaredDistance(1, 1, s)),
        ranks: Int32Array.from(page, (_, i) => offset + i + 1),
      }
    })
  }

  private queryCount(queries: Float32Array): number {
    const d = this.dim
    if (queries.length === 0 || queries.length % d !== 0) {
      throw new LineupError(
        'invalid-input',
        `query vectors have ${queries.length} values, not a multiple of ${d}: this index holds ${d}-d vectors${this.modelKey ? ` of model ${this.modelKey}` : ''}`,
      )
    }
    const nq = queries.length / d
    checkUnitRows(queries, nq, d, (i) => `query vector ${i}`)
    return nq
  }
}

function meanRow(x: Float32Array, n: number, d: number): Float32Array {
  if (n === 1) return x
  const mean = new Float64Array(d)
  for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) mean[k]! += x[i * d + k]!
  return Float32Array.from(mean, (v) => v / n)
}
