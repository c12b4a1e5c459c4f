/**
 * The built-in appearance descriptor (issue 4), so Lineup searches with no neural model imported:
 * `builtin:lomo-xqda@1`, 64-d, L2-normalised.
 *
 * 1. Decode with sharp to 8-bit sRGB (grey and alpha images included) and resize to 64×128
 *    (aspect not kept, as re-ID models do).
 * 2. LOMO (builtin-lomo.ts): joint-HSV and SILTP texture histograms over 10×10 windows, max-pooled
 *    along each horizontal row of windows (40 stripes over 3 scales), log(1 + count), colour and
 *    texture parts each L2-normalised: 26,960-d.
 * 3. A linear projection to 64-d learned by XQDA (builtin-xqda.ts) on Market-1501's
 *    bounding_box_train only, stored int8 in resources/builtin/ (builtin-projection.ts), then L2.
 *
 * Measured on the Market-1501 subset in ../shared (bench/builtin-descriptor.ts, test split:
 * 1,676 queries, 9,311 gallery): rank-1 50.6 %, mAP 28.4 %, against 17.4 % / 6.3 % for an RGB
 * stripe histogram. About 2.4 ms of CPU per 64×128 crop (0.7 decode, 1.6 descriptor), ~410
 * crops/s on one core.
 *
 * The key names the descriptor and its version; stored embeddings are keyed by it, so any change
 * of output (descriptor, decode, resource) must bump BUILTIN_VERSION. The resource's SHA-256 is
 * pinned here: a different file is refused rather than silently producing other vectors.
 */
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import sharp from 'sharp'
import { LineupError } from '../../../src-shared/errors'
import { LOMO_DIM, LOMO_HEIGHT, LOMO_WIDTH, LomoScratch, lomoDescriptor } from './builtin-lomo'
import { applyProjection, decodeProjection, projectionScratch, type Projection } from './builtin-projection'
import type { Extractor } from './types'

export const BUILTIN_NAME = 'lomo-xqda'
/** Bump whenever the vectors change (stored embeddings are keyed by it). */
export const BUILTIN_VERSION = 1
export const BUILTIN_KEY = `builtin:${BUILTIN_NAME}@${BUILTIN_VERSION}`
/** Output dimension. */
export const BUILTIN_DIM = 64
/** The projection file under resources/builtin/, written by bench/builtin-fit.ts. */
export const BUILTIN_RESOURCE = 'lomo-xqda-v1.bin'
/** SHA-256 of that file, as bench/builtin-fit.ts printed it. */
export const BUILTIN_RESOURCE_SHA256 = '622eb202275983b627e4457aef8fb2bfacd43ef443a1e832e6a5b0a884af97b9'
/** Pixel-count limit for one crop (as at import): larger images are refused, not decoded. */
const MAX_PIXELS = 50_000_000
/** Crops decoded ahead of the one being described (sharp decodes on libuv's thread pool). */
const DECODE_AHEAD = 8

export interface BuiltinOptions {
  /** The projection file; default resources/builtin/BUILTIN_RESOURCE found near this module. */
  resourcePath?: string
}

export class BuiltinExtractor implements Extractor {
  readonly key = BUILTIN_KEY
  readonly dim = BUILTIN_DIM
  private readonly scratch = new LomoScratch()
  private readonly lomo = new Float32Array(LOMO_DIM)
  private readonly acc = projectionScratch(LOMO_DIM)

  private constructor(private readonly projection: Projection) {}

  /**
   * Loads the projection and checks it against the pinned SHA-256.
   *
   * @throws LineupError('internal') when the resource is missing or is not the one this build expects
   */
  static open(options: BuiltinOptions = {}): BuiltinExtractor {
    return new BuiltinExtractor(loadProjection(options.resourcePath ?? findResource(BUILTIN_RESOURCE)))
  }

  /**
   * An extractor over a projection held in memory rather than the shipped file: for fitting and
   * evaluating new projections (bench/builtin-descriptor.ts --split train-val). Its vectors are not
   * BUILTIN_KEY's: never store them.
   */
  static fromProjection(projection: Projection): BuiltinExtractor {
    if (projection.d !== LOMO_DIM || projection.r !== BUILTIN_DIM) {
      throw new RangeError(
        `projection must be ${LOMO_DIM}×${BUILTIN_DIM}, got ${projection.d}×${projection.r}`,
      )
    }
    return new BuiltinExtractor(projection)
  }

  /** See Extractor.embed: batch.length rows of 64 floats, each L2-normalised. */
  async embed(batch: readonly Uint8Array[]): Promise<Float32Array> {
    const out = new Float32Array(batch.length * BUILTIN_DIM)
    const pending: Promise<Uint8Array>[] = []
    const start = (i: number): void => {
      const p = decodeForBuiltin(batch[i]!, i)
      p.catch(() => {}) // awaited in order below; keeps a failure ahead of the cursor from going unhandled
      pending[i] = p
    }
    for (let i = 0; i < Math.min(DECODE_AHEAD, batch.length); i++) start(i)
    for (let i = 0; i < batch.length; i++) {
      if (i + DECODE_AHEAD < batch.length) start(i + DECODE_AHEAD)
      const rgb = await pending[i]!
      delete pending[i]
      this.describeInto(rgb, out, i * BUILTIN_DIM)
    }
    return out
  }

  /**
   * The descriptor of one decoded crop: `rgb` is 64×128 interleaved 8-bit RGB (decodeForBuiltin);
   * writes 64 L2-normalised floats to out[at..at+64).
   */
  describeInto(rgb: Uint8Array, out: Float32Array, at = 0): void {
    lomoDescriptor(rgb, this.lomo, this.scratch)
    const row = out.subarray(at, at + BUILTIN_DIM)
    applyProjection(this.projection, this.lomo, this.acc, row)
    let ss = 0
    for (let k = 0; k < BUILTIN_DIM; k++) ss += row[k]! * row[k]!
    if (ss > 0) {
      const inv = 1 / Math.sqrt(ss)
      for (let k = 0; k < BUILTIN_DIM; k++) row[k] = row[k]! * inv
    }
  }

  async close(): Promise<void> {}
}

/**
 * Decodes an encoded image to the descriptor's input: 64×128 8-bit sRGB, interleaved (alpha
 * dropped, grey expanded to three channels, any size resized with aspect not kept).
 *
 * @param index the image's position in its batch, named in the error
 * @throws LineupError('invalid-input') "image <index> of the batch cannot be decoded: …"
 */
export async function decodeForBuiltin(bytes: Uint8Array, index: number): Promise<Uint8Array> {
  try {
    const { data, info } = await sharp(bytes, { failOn: 'warning', limitInputPixels: MAX_PIXELS })
      .removeAlpha()
      .resize(LOMO_WIDTH, LOMO_HEIGHT, { fit: 'fill' })
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true })
    if (info.channels !== 3 || info.width !== LOMO_WIDTH || info.height !== LOMO_HEIGHT) {
      throw new Error(`decoded to ${info.width}×${info.height}×${info.channels}, expected 64×128×3`)
    }
    return new Uint8Array(data.buffer, data.byteOffset, data.length)
  } catch (err) {
    const reason = (err instanceof Error ? err.message : String(err))
      .split('\n')[0]!
      .replace(/^Input (buffer|file) /, '')
      .slice(0, 160)
    throw new LineupError('invalid-input', `image ${index} of the batch cannot be decoded: ${reason}`)
  }
}

/**
 * Where a file of resources/builtin/ is: beside the sources (src-main/engine/features → the repo
 * root), beside the bundle (out/main[/chunks] → the repo root), or in a packaged Electron app's
 * resources folder.
 */
export function findResource(file: string): string {
  const candidates: string[] = []
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let up = 0; up < 5; up++, dir = dirname(dir)) candidates.push(join(dir, 'resources', 'builtin', file))
  const packaged = (process as { resourcesPath?: string }).resourcesPath
  if (packaged) candidates.push(join(packaged, 'builtin', file), join(packaged, 'resources', 'builtin', file))
  const found = candidates.find((f) => existsSync(f))
  if (!found) {
    throw new LineupError(
      'internal',
      `the built-in descriptor's data file resources/builtin/${file} is missing (looked in ${candidates.join(', ')}); reinstall Lineup`,
    )
  }
  return found
}

const loaded = new Map<string, Projection>()

function loadProjection(path: string): Projection {
  const cached = loaded.get(path)
  if (cached) return cached
  let bytes: Buffer
  try {
    bytes = readFileSync(path)
  } catch (err) {
    throw new LineupError(
      'internal',
      `cannot read the built-in descriptor's data file ${path}: ${String(err)}`,
    )
  }
  const sha = createHash('sha256').update(bytes).digest('hex')
  if (sha !== BUILTIN_RESOURCE_SHA256) {
    throw new LineupError(
      'internal',
      `the built-in descriptor's data file ${path} is not the one ${BUILTIN_KEY} was built with (SHA-256 ${sha}, expected ${BUILTIN_RESOURCE_SHA256}); reinstall Lineup`,
    )
  }
  const projection = decodeProjection(bytes, path, LOMO_DIM, BUILTIN_DIM)
  loaded.set(path, projection)
  return projection
}
