/**
 * A thin wrapper over one onnxruntime-node InferenceSession running an image model: NCHW float32
 * batch in, [batch, dim] float32 out. The only file besides the probe that loads onnxruntime
 * (STYLE.md §9).
 *
 * Execution providers: CPU by default, with intra-op threads = the machine's cores. Setting the
 * environment variable LINEUP_ORT_EP=cuda asks for the CUDA provider first (CPU as fallback for
 * operators CUDA lacks). CUDA needs the Linux x64 build of onnxruntime-node with its CUDA 12
 * binaries and a CUDA 12 / cuDNN 9 runtime on the machine; it is untested here (no GPU).
 */
import { availableParallelism } from 'node:os'
import * as ort from 'onnxruntime-node'
import { LineupError } from '../../../../src-shared/errors'

export type ExecutionProvider = 'cpu' | 'cuda'

export interface SessionConfig {
  /** Image input and embedding output names (see inspectModel). */
  inputName: string
  outputName: string
  /** Intra-op threads; default availableParallelism() (2 here). */
  threads?: number
  /** Default: from LINEUP_ORT_EP ('cuda'), else 'cpu'. */
  provider?: ExecutionProvider
}

/** The provider LINEUP_ORT_EP asks for; anything but 'cuda' means CPU. */
export function providerFromEnv(env: NodeJS.ProcessEnv = process.env): ExecutionProvider {
  return env.LINEUP_ORT_EP?.toLowerCase() === 'cuda' ? 'cuda' : 'cpu'
}

/** One loaded model. Not re-entrant: run one batch at a time (callers serialise). */
export class ImageModelSession {
  private readonly tensors = new WeakMap<Float32Array, Map<string, ort.Tensor>>()

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly inputName: string,
    readonly outputName: string,
    readonly provider: ExecutionProvider,
    readonly threads: number,
  ) {}

  /**
   * Loads a model from a file path or its bytes.
   *
   * @throws LineupError('invalid-input') when onnxruntime refuses the model (message included)
   */
  static async open(model: string | Uint8Array, config: SessionConfig): Promise<ImageModelSession> {
    const threads = config.threads ?? availableParallelism()
    const provider = config.provider ?? providerFromEnv()
    const options: ort.InferenceSession.SessionOptions = {
      executionProviders: provider === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      // No busy-waiting between operators: on 2 cores the spinning thread steals the core that
      // decodes the next batch (measured: 2 threads spinning cost 4.1–4.7 CPU ms per OSNet crop
      // instead of 2.5, for no gain in wall time on a loaded machine; bench/embed.ts).
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    }
    let session: ort.InferenceSession
    try {
      session =
        typeof model === 'string'
          ? await ort.InferenceSession.create(model, options)
          : await ort.InferenceSession.create(model, options)
    } catch (err) {
      throw new LineupError('invalid-input', `onnxruntime cannot load the model: ${firstLine(err)}`)
    }
    for (const [kind, name, names] of [
      ['input', config.inputName, session.inputNames],
      ['output', config.outputName, session.outputNames],
    ] as const) {
      if (!names.includes(name)) {
        await session.release()
        throw new LineupError(
          'invalid-input',
          `the model has no ${kind} named '${name}'; its ${kind}s: ${names.map((n) => `'${n}'`).join(', ')}`,
        )
      }
    }
    return new ImageModelSession(session, config.inputName, config.outputName, provider, threads)
  }

  /**
   * Runs one batch. `input` holds at least n·c·h·w values (the first ones are used, no copy: a
   * caller that reuses one buffer per batch gets one tensor object per buffer and batch size).
   *
   * @param input NCHW float32 images
   * @param shape [n, c, h, w]
   * @returns the output values, row-major [n, dim], and dim
   * @throws LineupError('invalid-input') when the model fails or its output is not [n, dim]
   */
  async run(
    input: Float32Array,
    shape: readonly [number, number, number, number],
  ): Promise<{ data: Float32Array; dim: number }> {
    const [n, c, h, w] = shape
    let output: ort.Tensor | undefined
    try {
      const result = await this.session.run(
        { [this.inputName]: this.tensorFor(input, n, c * h * w, shape) },
        [this.outputName],
      )
      output = result[this.outputName]
      if (!output) throw new Error(`no output '${this.outputName}'`)
      if (output.type !== 'float32') {
        throw new LineupError(
          'invalid-input',
          `the model's output '${this.outputName}' is ${output.type}, not float32`,
        )
      }
      if (output.dims.length !== 2 || output.dims[0] !== n) {
        throw new LineupError(
          'invalid-input',
          `the model's output '${this.outputName}' has shape [${output.dims.join(', ')}] for ${n} images; expected [${n}, dim]`,
        )
      }
      // A copy: the tensor's memory belongs to onnxruntime and is freed with it.
      return { data: new Float32Array(output.data as Float32Array), dim: output.dims[1]! }
    } catch (err) {
      if (err instanceof LineupError) throw err
      throw new LineupError('invalid-input', `the model failed to run on ${n} images: ${firstLine(err)}`)
    } finally {
      output?.dispose()
    }
  }

  /** Releases the native session. */
  async close(): Promise<void> {
    await this.session.release()
  }

  private tensorFor(input: Float32Array, n: number, size: number, shape: readonly number[]): ort.Tensor {
    if (input.length < n * size) throw new RangeError(`input has ${input.length} values, need ${n}×${size}`)
    let byBatch = this.tensors.get(input)
    if (!byBatch) this.tensors.set(input, (byBatch = new Map()))
    const key = shape.join('x')
    let t = byBatch.get(key)
    if (!t) {
      const view = input.length === n * size ? input : input.subarray(0, n * size)
      t = new ort.Tensor('float32', view, [...shape])
      byBatch.set(key, t)
    }
    return t
  }
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 300)
}
