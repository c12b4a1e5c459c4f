/**
 * A projection head applied in bulk on onnxruntime (issue #5: "applying it to the whole library
 * is one matrix product"): y = normalise(x·W + b) as the graph Gemm → LpNormalization(p = 2),
 * built in memory. MLAS runs the Gemm near the machine's floor (PERFORMANCE.md: ≈ 85 GFLOP/s on
 * 2 cores, vs ≈ 2–4 for the plain-TypeScript `applyHead`), so a million 512-d vectors take
 * seconds rather than minutes. A zero output row (normalisation undefined) comes back as zeros,
 * as `applyHead` gives.
 */
import { availableParallelism } from 'node:os'
import * as ort from 'onnxruntime-node'
import { centerRows, type CameraCentering } from '../../training/centering'
import { buildModel } from './build-model'

export interface HeadMatrices {
  inDim: number
  outDim: number
  /** inDim × outDim, row-major. */
  W: Float32Array
  b: Float32Array
  /** When present, rows are centred by camera first (training/centering.ts). */
  centering?: CameraCentering
}

export class OnnxHeadApplier {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly inDim: number,
    readonly outDim: number,
    private readonly centering: CameraCentering | undefined,
  ) {}

  static async open(head: HeadMatrices, threads = availableParallelism()): Promise<OnnxHeadApplier> {
    const model = buildModel({
      inputs: [{ name: 'x', dims: ['n', head.inDim] }],
      outputs: [{ name: 'f', dims: ['n', head.outDim] }],
      initializers: [
        { name: 'W', dims: [head.inDim, head.outDim], values: head.W },
        { name: 'b', dims: [head.outDim], values: head.b },
      ],
      nodes: [
        { op: 'Gemm', inputs: ['x', 'W', 'b'], outputs: ['y'] },
        { op: 'LpNormalization', inputs: ['y'], outputs: ['f'], intAttrs: { axis: 1, p: 2 } },
      ],
    })
    const session = await ort.InferenceSession.create(model, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    })
    return new OnnxHeadApplier(session, head.inDim, head.outDim, head.centering)
  }

  /**
   * The head's embeddings of `rows` feature rows (row-major). `cameras` (one per row, null when
   * unknown) matter only to a head with camera centering: without them every row is centred on the
   * library's mean.
   */
  async apply(x: Float32Array, rows: number, cameras?: readonly (string | null)[]): Promise<Float32Array> {
    if (x.length < rows * this.inDim)
      throw new RangeError(`features hold ${x.length} values; ${rows} rows of ${this.inDim} expected`)
    if (rows === 0) return new Float32Array(0)
    if (this.centering) x = centerRows(this.centering, x, rows, cameras)
    const input = new ort.Tensor('float32', x.subarray(0, rows * this.inDim), [rows, this.inDim])
    const out = await this.session.run({ x: input })
    const f = out.f!.data as Float32Array
    for (let i = 0; i < f.length; i++) if (Number.isNaN(f[i]!)) f[i] = 0
    return f
  }

  async close(): Promise<void> {
    await this.session.release()
  }
}

/**
 * Applies a head to `rows` feature rows with one short-lived session: what `lineup train`,
 * `lineup eval --head`, the library's bulk pass and a head model's extractor all use, so a crop
 * gets the same vector, bit for bit, whichever path computed it (MLAS gives the same result for
 * any batch size and thread count here; test/unit/library/heads.test.ts pins it).
 */
export async function applyHeadOnnx(
  head: HeadMatrices,
  x: Float32Array,
  rows: number,
  cameras?: readonly (string | null)[],
): Promise<Float32Array> {
  const applier = await OnnxHeadApplier.open(head)
  try {
    return await applier.apply(x, rows, cameras)
  } finally {
    await applier.close()
  }
}
