/**
 * The search index's dot-product kernel on onnxruntime-node (issue #4): scores of query vectors
 * against one *panel* of the gallery, a d×w float32 block stored column-major (component k of
 * vector j at `panel[k·w + j]`), as one ONNX `MatMul(q[m,d], panel[d,w]) → s[m,w]`.
 *
 * Why this shape (bench/search.ts, 1M × 512, 1 thread): with m = 1 the MatMul runs MLAS's GEMV,
 * which streams the panel once at ≈ the memory-read floor (≈ 80 ms for 2.1 GB, ≈ 26 GB/s); the
 * row-major alternative `Gemm(q, G, transB=1)` packs G first and takes ≈ 160 ms, and
 * `MatMul(G, qᵀ)` ≈ 220 ms. For m ≥ 2 MLAS switches to its packed GEMM (≈ 0.5 s for m = 2..10
 * on one thread, compute-bound), so up to {@link GEMV_LOOP_MAX} queries run as separate GEMVs.
 *
 * Tensors wrap the caller's Float32Arrays: onnxruntime-node neither copies the 2 GB panel set on
 * input nor allocates the output (`run(feeds, fetches)` writes into `out`). It refuses arrays on a
 * SharedArrayBuffer ("Invalid argument"), so panels must be plain ArrayBuffer-backed.
 *
 * The graph is built in memory by a minimal protobuf writer below (one node, symbolic m, d, w), so
 * one session serves every model dimension.
 */
import { availableParallelism } from 'node:os'
import * as ort from 'onnxruntime-node'

/**
 * Queries scored as that many separate GEMV runs rather than one packed GEMM. Measured at
 * 1M × 512, 1 thread: GEMV ≈ 80 ms per query; GEMM ≈ 490 ms for m = 2 and 4, ≈ 600 ms for m = 10.
 */
export const GEMV_LOOP_MAX = 4

/** Options of {@link OnnxPanelScorer.create}. */
export interface OnnxScorerOptions {
  /**
   * Intra-op threads (default 2, or 1 on a one-core machine). Measured at 1M × 512 on 2 idle
   * cores: one query 64 ms with 2 threads against 81 ms with 1; a batch of 10, 280 against 517 ms.
   * When other processes keep both cores busy, 2 threads were no faster (≈ 120 ms for one query).
   * The threads never spin while idle (allow_spinning = 0: as fast here, and the embedding job
   * keeps the CPU between searches).
   */
  threads?: number
}

/** Scores queries against column-major gallery panels with onnxruntime-node (see the module comment). */
export class OnnxPanelScorer {
  readonly description: string

  private constructor(
    private readonly session: ort.InferenceSession,
    threads: number,
  ) {
    this.description = `onnxruntime-node ${ort.env.versions.node ?? ort.env.versions.common} MatMul (cpu, ${threads} thread${threads === 1 ? '' : 's'})`
  }

  static async create(options: OnnxScorerOptions = {}): Promise<OnnxPanelScorer> {
    const threads = options.threads ?? Math.min(2, availableParallelism())
    if (!Number.isInteger(threads) || threads < 1)
      throw new RangeError(`threads must be a positive integer, got ${threads}`)
    const session = await ort.InferenceSession.create(matMulModel(), {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'basic',
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    })
    return new OnnxPanelScorer(session, threads)
  }

  /**
   * `out[i·w + j] = Σ_k queries[i·d + k] · panel[k·w + j]` for the m queries (row-major m×d) and
   * the w columns of `panel` (d×w). `out` holds at least m·w values; float32 arithmetic, MLAS's
   * summation order.
   */
  async dots(
    queries: Float32Array,
    m: number,
    panel: Float32Array,
    d: number,
    w: number,
    out: Float32Array,
  ): Promise<void> {
    if (queries.length < m * d || panel.length !== d * w || out.length < m * w)
      throw new RangeError(`dots: shapes do not match m = ${m}, d = ${d}, w = ${w}`)
    const gallery = new ort.Tensor('float32', panel, [d, w])
    if (m > GEMV_LOOP_MAX) {
      await this.run(queries.subarray(0, m * d), m, d, gallery, out.subarray(0, m * w), w)
      return
    }
    for (let i = 0; i < m; i++) {
      await this.run(queries.subarray(i * d, (i + 1) * d), 1, d, gallery, out.subarray(i * w, (i + 1) * w), w)
    }
  }

  private async run(
    q: Float32Array,
    m: number,
    d: number,
    gallery: ort.Tensor,
    out: Float32Array,
    w: number,
  ): Promise<void> {
    const s = new ort.Tensor('float32', out, [m, w])
    await this.session.run({ q: new ort.Tensor('float32', q, [m, d]), g: gallery }, { s })
  }

  async close(): Promise<void> {
    await this.session.release()
  }
}

/**
 * Sums a Float32Array with `ReduceSum` on the given number of intra-op threads: the vectorised
 * read of bench/search.ts's memory-bandwidth floor. Returns a function running one sum.
 */
export async function createOnnxSum(
  threads: number,
): Promise<{ sum(x: Float32Array): Promise<number>; close(): Promise<void> }> {
  const session = await ort.InferenceSession.create(reduceSumModel(), {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  })
  return {
    async sum(x) {
      const r = await session.run({ x: new ort.Tensor('float32', x, [x.length]) })
      return (r.s!.data as Float32Array)[0]!
    },
    close: () => session.release(),
  }
}

// ---- A minimal ONNX (protobuf) writer: just the fields these two graphs use (onnx.proto3). ----

/** Bytes of a protobuf message under construction. */
class Message {
  private readonly bytes: number[] = []

  private varint(v: number): void {
    for (; v > 0x7f; v = Math.floor(v / 128)) this.bytes.push((v % 128) | 0x80)
    this.bytes.push(v)
  }

  int(field: number, v: number): this {
    this.varint(field << 3)
    this.varint(v)
    return this
  }

  raw(field: number, b: ArrayLike<number>): this {
    this.varint((field << 3) | 2)
    this.varint(b.length)
    for (let i = 0; i < b.length; i++) this.bytes.push(b[i]!)
    return this
  }

  str(field: number, s: string): this {
    return this.raw(field, new TextEncoder().encode(s))
  }

  msg(field: number, m: Message): this {
    return this.raw(field, m.bytes)
  }

  done(): Uint8Array {
    return Uint8Array.from(this.bytes)
  }
}

const FLOAT = 1
const ATTR_INT = 2

/** ValueInfoProto of a float tensor; string dims are symbolic. */
function floatValue(name: string, dims: (number | string)[]): Message {
  const shape = new Message()
  for (const dim of dims)
    shape.msg(1, typeof dim === 'number' ? new Message().int(1, dim) : new Message().str(2, dim))
  const tensorType = new Message().int(1, FLOAT).msg(2, shape)
  return new Message().str(1, name).msg(2, new Message().msg(1, tensorType))
}

function nodeProto(
  op: string,
  inputs: string[],
  outputs: string[],
  ints: Record<string, number> = {},
): Message {
  const n = new Message()
  for (const i of inputs) n.str(1, i)
  for (const o of outputs) n.str(2, o)
  n.str(4, op)
  for (const [name, v] of Object.entries(ints))
    n.msg(5, new Message().str(1, name).int(3, v).int(20, ATTR_INT))
  return n
}

function modelProto(node: Message, inputs: Message[], output: Message, opset: number): Uint8Array {
  const graph = new Message().msg(1, node).str(2, 'lineup_search')
  for (const i of inputs) graph.msg(11, i)
  graph.msg(12, output)
  return new Message()
    .int(1, 8) // ir_version
    .msg(8, new Message().str(1, '').int(2, opset))
    .msg(7, graph)
    .done()
}

function matMulModel(): Uint8Array {
  return modelProto(
    nodeProto('MatMul', ['q', 'g'], ['s']),
    [floatValue('q', ['m', 'd']), floatValue('g', ['d', 'w'])],
    floatValue('s', ['m', 'w']),
    13,
  )
}

function reduceSumModel(): Uint8Array {
  return modelProto(
    nodeProto('ReduceSum', ['x'], ['s'], { keepdims: 0 }),
    [floatValue('x', ['n'])],
    floatValue('s', []),
    13,
  )
}
