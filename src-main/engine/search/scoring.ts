/**
 * Dot-product kernels of the vector index over *panels*: d×w float32 blocks stored column-major
 * (component k of vector j at `panel[k·w + j]`). The fast one is onnxruntime's GEMV
 * (ml/onnx/scorer.ts, the only place allowed to import onnxruntime); the plain-JS one here is the
 * fallback when the native module cannot load, and the reference the tests compare against.
 */
import { checkDim } from '../ranking/matrix'

/** Computes `out[i·w + j] = queries_i · column j of panel` for m queries (row-major m×d). */
export interface PanelScorer {
  /** What runs, for logs and the bench ("onnxruntime-node 1.31.1 MatMul (cpu, 1 thread)"). */
  readonly description: string
  dots(
    queries: Float32Array,
    m: number,
    panel: Float32Array,
    d: number,
    w: number,
    out: Float32Array,
  ): Promise<void>
  close(): Promise<void>
}

/** Columns per tile of the JS kernel: m·TILE double accumulators stay in L1. */
const TILE = 256

/**
 * Plain-JS panel kernel over columns j0 ≤ j < j1: `out[i·outStride + j] = Σ_k q[i·d + k]·panel[k·w + j]`.
 * Each sum is accumulated in doubles in component order, `((q₀g₀ + q₁g₁) + q₂g₂) + …`, the
 * canonical dot product of ranking/matrix.ts (`dotRows`), then rounded to float32. ≈ 2 GFLOP/s:
 * about 17–20× slower than the ONNX GEMV on a 1M × 512 gallery (bench/search.ts).
 */
export function jsPanelDots(
  queries: Float32Array,
  m: number,
  panel: Float32Array,
  d: number,
  w: number,
  j0: number,
  j1: number,
  out: Float32Array,
  outStride: number,
): void {
  const acc = new Float64Array(m * TILE)
  for (let t0 = j0; t0 < j1; t0 += TILE) {
    const n = Math.min(TILE, j1 - t0)
    acc.fill(0)
    for (let k = 0; k < d; k++) {
      const base = k * w + t0
      for (let i = 0; i < m; i++) {
        const qk = queries[i * d + k]!
        const a = i * TILE
        for (let t = 0; t < n; t++) acc[a + t]! += qk * panel[base + t]!
      }
    }
    for (let i = 0; i < m; i++) {
      const o = i * outStride + t0
      for (let t = 0; t < n; t++) out[o + t] = acc[i * TILE + t]!
    }
  }
}

/** {@link jsPanelDots} over whole panels, as a {@link PanelScorer}. */
export class JsPanelScorer implements PanelScorer {
  constructor(readonly description = 'plain JS (1 thread)') {}

  async dots(
    queries: Float32Array,
    m: number,
    panel: Float32Array,
    d: number,
    w: number,
    out: Float32Array,
  ): Promise<void> {
    checkDim(d)
    if (queries.length < m * d || panel.length !== d * w || out.length < m * w)
      throw new RangeError(`dots: shapes do not match m = ${m}, d = ${d}, w = ${w}`)
    jsPanelDots(queries, m, panel, d, w, 0, w, out, w)
  }

  async close(): Promise<void> {}
}

/** Which kernel: 'auto' is onnxruntime when it loads and passes a self-check, else plain JS. */
export type ScorerChoice = 'auto' | 'onnx' | 'js'

/**
 * Creates a kernel. 'onnx' throws when onnxruntime-node cannot load; 'auto' then falls back to
 * plain JS and says why in `description` ("plain JS (onnxruntime-node unavailable: …)").
 */
export async function createScorer(
  choice: ScorerChoice = 'auto',
  options: { threads?: number } = {},
): Promise<PanelScorer> {
  if (choice === 'js') return new JsPanelScorer()
  if (choice !== 'onnx' && choice !== 'auto')
    throw new RangeError(`unknown scorer '${String(choice)}': expected auto, onnx or js`)
  try {
    const { OnnxPanelScorer } = await import('../ml/onnx/scorer')
    const scorer = await OnnxPanelScorer.create(options)
    await selfCheck(scorer)
    return scorer
  } catch (err) {
    if (choice === 'onnx') throw err
    const why = err instanceof Error ? err.message : String(err)
    return new JsPanelScorer(`plain JS (1 thread; onnxruntime-node unavailable: ${why})`)
  }
}

let shared: Promise<PanelScorer> | undefined

/** The process-wide kernel used by indexes given none: `createScorer('auto')`, probed once. */
export function defaultScorer(): Promise<PanelScorer> {
  shared ??= createScorer('auto')
  return shared
}

/** Refuses a kernel whose answer on a small odd-shaped case differs from the JS reference. */
async function selfCheck(scorer: PanelScorer): Promise<void> {
  const d = 7
  const w = 19
  const m = 2
  const q = Float32Array.from({ length: m * d }, (_, i) => Math.sin(i + 1))
  const panel = Float32Array.from({ length: d * w }, (_, i) => Math.cos(3 * i))
  const got = new Float32Array(m * w)
  const want = new Float32Array(m * w)
  await scorer.dots(q, m, panel, d, w, got)
  jsPanelDots(q, m, panel, d, w, 0, w, want, w)
  for (let i = 0; i < got.length; i++) {
    if (!(Math.abs(got[i]! - want[i]!) <= 1e-4))
      throw new Error(`${scorer.description} failed its self-check (${got[i]} ≠ ${want[i]})`)
  }
}
