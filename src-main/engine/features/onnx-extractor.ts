/**
 * The ONNX backbone extractor (DESIGN.md §3): any re-ID network exported to ONNX, one float32
 * image input [batch, 3, H, W] and one [batch, dim] output, run with onnxruntime-node
 * (engine/ml/onnx). Crops are decoded and preprocessed as features/preprocess.ts says, embedded in
 * batches, and each row is L2-normalised.
 *
 * It loads the model in this process: probe a model first (ml/onnx/probe.ts, in a child process)
 * when it is new, as `lineup model add` and `lineup eval` do, so a broken file never gets here.
 *
 * Throughput: within one `embed` call, batch k+1 is decoded (sharp, on libuv's thread pool) while
 * batch k runs in onnxruntime, with two input buffers in turn; pass a few batches per call
 * (e.g. 256 crops) to benefit. Calls are serialised.
 */
import { createHash } from 'node:crypto'
import { LineupError } from '../../../src-shared/errors'
import { inspectModel, type InspectedModel } from '../ml/onnx/inspect'
import { readModelFile } from '../ml/onnx/probe'
import { ImageModelSession } from '../ml/onnx/session'
import {
  IMAGENET_MEAN,
  IMAGENET_STD,
  preprocessInto,
  type PreprocessConfig,
  type ResizeMethod,
} from './preprocess'
import type { Extractor } from './types'

export interface OnnxExtractorConfig {
  /** The .onnx file. */
  path: string
  /** Input and output names; default the model's only input and first output. */
  input?: string
  output?: string
  /** [H, W]; default the model's fixed size, else 256×128. */
  inputSize?: readonly [number, number]
  /** RGB mean and std on the [0, 1] scale; default ImageNet's. */
  mean?: readonly [number, number, number]
  std?: readonly [number, number, number]
  /** Default 'bilinear' (see preprocess.ts). */
  resize?: ResizeMethod
  /** Images per inference batch; default 32 (a model with a fixed batch size uses that). */
  batchSize?: number
  /** onnxruntime intra-op threads; default the number of cores. */
  threads?: number
}

/** Wall time spent per stage since the extractor was opened (the two overlap). */
export interface ExtractorStats {
  images: number
  /** Decoding and preprocessing, per batch from its first decode to its last pixel written. */
  decodeMs: number
  /** onnxruntime runs. */
  inferenceMs: number
}

export class OnnxExtractor implements Extractor {
  readonly stats: ExtractorStats = { images: 0, decodeMs: 0, inferenceMs: 0 }
  private readonly buffers: [Float32Array, Float32Array]
  private queue: Promise<unknown> = Promise.resolve()

  private constructor(
    /** SHA-256 of the model file, hex. */
    readonly key: string,
    readonly dim: number,
    readonly model: InspectedModel,
    readonly preprocess: PreprocessConfig,
    /** Images per onnxruntime run. */
    readonly batchSize: number,
    private readonly session: ImageModelSession,
  ) {
    const size = batchSize * 3 * preprocess.height * preprocess.width
    this.buffers = [new Float32Array(size), new Float32Array(size)]
  }

  /**
   * Reads, inspects and loads a model.
   *
   * @throws LineupError: 'not-found'/'io' for the file, 'invalid-input' for a model Lineup cannot run
   */
  static async open(config: OnnxExtractorConfig): Promise<OnnxExtractor> {
    const bytes = readModelFile(config.path)
    const model = inspectModel(
      bytes,
      { input: config.input, output: config.output, inputSize: config.inputSize },
      config.path,
    )
    const [height, width] = config.inputSize ?? model.fixedSize ?? [256, 128]
    const preprocess: PreprocessConfig = {
      height,
      width,
      mean: config.mean ?? IMAGENET_MEAN,
      std: config.std ?? IMAGENET_STD,
      resize: config.resize ?? 'bilinear',
    }
    const batchSize = model.fixedBatch ?? config.batchSize ?? 32
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`)
    const session = await ImageModelSession.open(bytes, {
      inputName: model.inputName,
      outputName: model.outputName,
      threads: config.threads,
    })
    try {
      let dim = model.outputDim
      if (dim === null) {
        // The model does not declare its embedding length: run one blank batch to learn it.
        const blank = new Float32Array(batchSize * 3 * height * width)
        dim = (await session.run(blank, [batchSize, 3, height, width])).dim
      }
      const key = createHash('sha256').update(bytes).digest('hex')
      return new OnnxExtractor(key, dim, model, preprocess, batchSize, session)
    } catch (err) {
      await session.close()
      throw err
    }
  }

  /** See Extractor.embed; images are batched by `batchSize` and decoded while the previous batch runs. */
  embed(batch: readonly Uint8Array[]): Promise<Float32Array> {
    const run = this.queue.then(() => this.embedNow(batch))
    this.queue = run.catch(() => undefined)
    return run
  }

  async close(): Promise<void> {
    await this.queue
    await this.session.close()
  }

  private async embedNow(batch: readonly Uint8Array[]): Promise<Float32Array> {
    const out = new Float32Array(batch.length * this.dim)
    const chunks = Math.ceil(batch.length / this.batchSize)
    const decodeChunk = (k: number): Promise<void> => {
      const p = this.decode(batch, k * this.batchSize, this.buffers[k % 2]!)
      p.catch(() => undefined) // awaited below; this only keeps an early failure from being "unhandled"
      return p
    }
    let pending = chunks > 0 ? decodeChunk(0) : null
    for (let k = 0; k < chunks; k++) {
      await pending
      pending = k + 1 < chunks ? decodeChunk(k + 1) : null
      const start = k * this.batchSize
      const n = Math.min(this.batchSize, batch.length - start)
      await this.infer(this.buffers[k % 2]!, start, n, out)
    }
    this.stats.images += batch.length
    return out
  }

  /** Preprocesses batch[start ..] (up to batchSize images) into `buffer`, all images at once. */
  private async decode(batch: readonly Uint8Array[], start: number, buffer: Float32Array): Promise<void> {
    const t0 = performance.now()
    const n = Math.min(this.batchSize, batch.length - start)
    const jobs: Promise<void>[] = []
    for (let i = 0; i < n; i++) {
      jobs.push(
        preprocessInto(batch[start + i]!, this.preprocess, buffer, i, `image ${start + i} of the batch`),
      )
    }
    await Promise.all(jobs)
    this.stats.decodeMs += performance.now() - t0
  }

  /** Runs `n` preprocessed images and writes their L2-normalised embeddings to out rows start.. */
  private async infer(buffer: Float32Array, start: number, n: number, out: Float32Array): Promise<void> {
    const { height, width } = this.preprocess
    // A model with a fixed batch size always gets full batches; the unused slots are ignored.
    const rows = this.model.fixedBatch ?? n
    const t0 = performance.now()
    const { data, dim } = await this.session.run(buffer, [rows, 3, height, width])
    this.stats.inferenceMs += performance.now() - t0
    if (dim !== this.dim) {
      throw new LineupError('invalid-input', `the model gave ${dim} values per image, expected ${this.dim}`)
    }
    for (let i = 0; i < n; i++) {
      let sum = 0
      for (let j = 0; j < dim; j++) sum += data[i * dim + j]! * data[i * dim + j]!
      if (!Number.isFinite(sum)) {
        throw new LineupError(
          'invalid-input',
          `the model gave NaN or infinite values for image ${start + i} of the batch`,
        )
      }
      const inv = sum > 0 ? 1 / Math.sqrt(sum) : 0
      const o = (start + i) * dim
      for (let j = 0; j < dim; j++) out[o + j] = data[i * dim + j]! * inv
    }
  }
}
