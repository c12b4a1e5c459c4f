import { createHash } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LineupError } from '../../../src-shared/errors'
import { OnnxExtractor } from '../../../src-main/engine/features/onnx-extractor'
import { IMAGENET_MEAN, IMAGENET_STD } from '../../../src-main/engine/features/preprocess'
import { buildEmbedder, type EmbedderSpec } from '../../../src-main/engine/ml/onnx/build-model'
import { tempDir } from '../../helpers/tmp'

const tmp = tempDir('lineup-extractor-')
afterAll(() => tmp.dispose())

const H = 8
const W = 4
const DIM = 6

function modelFile(name: string, spec: EmbedderSpec = {}): { path: string; bytes: Uint8Array } {
  const bytes = buildEmbedder({ inputDims: ['batch', 3, H, W], dim: DIM, ...spec })
  const path = join(tmp.path, name)
  writeFileSync(path, bytes)
  return { path, bytes }
}

/** Random W×H RGB pixels (already at the model size, so no resizing is involved) and their PNG. */
async function image(seed: number): Promise<{ pixels: Uint8Array; png: Uint8Array }> {
  let s = seed
  const pixels = new Uint8Array(W * H * 3).map(() => {
    s = (s * 1664525 + 1013904223) >>> 0
    return s >>> 24
  })
  const png = await sharp(pixels, { raw: { width: W, height: H, channels: 3 } })
    .png()
    .toBuffer()
  return { pixels, png }
}

/** The embedding the extractor should produce: ImageNet-normalised NCHW, x·W + B (buildEmbedder's weights), L2-normalised. */
function expected(pixels: Uint8Array): Float64Array {
  const k = 3 * H * W
  const x = new Float64Array(k)
  for (let p = 0; p < H * W; p++)
    for (let c = 0; c < 3; c++)
      x[c * H * W + p] = (pixels[p * 3 + c]! / 255 - IMAGENET_MEAN[c]!) / IMAGENET_STD[c]!
  const y = new Float64Array(DIM)
  for (let j = 0; j < DIM; j++) {
    let sum = 0.01 * j
    for (let t = 0; t < k; t++) sum += x[t]! * Math.fround(Math.sin((t * DIM + j) * 12.9898 + 1) * 0.1)
    y[j] = sum
  }
  const norm = Math.hypot(...y)
  return y.map((v) => v / norm)
}

let images: { pixels: Uint8Array; png: Uint8Array }[] = []
beforeAll(async () => {
  images = await Promise.all([1, 2, 3, 4, 5].map(image))
})

function expectRows(out: Float32Array, pixels: Uint8Array[]): void {
  expect(out.length).toBe(pixels.length * DIM)
  pixels.forEach((px, i) => {
    const want = expected(px)
    for (let j = 0; j < DIM; j++) expect(out[i * DIM + j]).toBeCloseTo(want[j]!, 5)
  })
}

describe('OnnxExtractor', () => {
  it('keys vectors by the model file SHA-256 and takes dim from the model', async () => {
    const { path, bytes } = modelFile('key.onnx')
    const ex = await OnnxExtractor.open({ path, threads: 1 })
    try {
      expect(ex.key).toBe(createHash('sha256').update(bytes).digest('hex'))
      expect(ex.dim).toBe(DIM)
      expect(ex.preprocess).toMatchObject({ height: H, width: W, resize: 'bilinear' })
    } finally {
      await ex.close()
    }
  })

  it('embeds across several batches (decoding the next while one runs): same rows as the maths, L2-normalised', async () => {
    const ex = await OnnxExtractor.open({ path: modelFile('batches.onnx').path, batchSize: 2, threads: 1 })
    try {
      const out = await ex.embed(images.map((i) => i.png))
      expectRows(
        out,
        images.map((i) => i.pixels),
      )
      for (let i = 0; i < images.length; i++) {
        const row = out.subarray(i * DIM, (i + 1) * DIM)
        expect(Math.hypot(...row)).toBeCloseTo(1, 6)
      }
      // Batch composition does not matter: one image alone gives its row of the batch.
      expect(await ex.embed([images[3]!.png])).toEqual(out.slice(3 * DIM, 4 * DIM))
      expect(ex.stats.images).toBe(6)
      expect(ex.stats.inferenceMs).toBeGreaterThan(0)
      expect((await ex.embed([])).length).toBe(0)
    } finally {
      await ex.close()
    }
  })

  it('serialises concurrent calls', async () => {
    const ex = await OnnxExtractor.open({ path: modelFile('concurrent.onnx').path, batchSize: 2, threads: 1 })
    try {
      const [a, b] = await Promise.all([
        ex.embed(images.slice(0, 3).map((i) => i.png)),
        ex.embed(images.slice(2).map((i) => i.png)),
      ])
      expectRows(
        a,
        images.slice(0, 3).map((i) => i.pixels),
      )
      expectRows(
        b,
        images.slice(2).map((i) => i.pixels),
      )
    } finally {
      await ex.close()
    }
  })

  it('pads the last batch of a model with a fixed batch size', async () => {
    const ex = await OnnxExtractor.open({
      path: modelFile('fixed.onnx', { inputDims: [4, 3, H, W] }).path,
      threads: 1,
    })
    try {
      expect(ex.batchSize).toBe(4)
      expectRows(
        await ex.embed(images.map((i) => i.png)),
        images.map((i) => i.pixels),
      )
    } finally {
      await ex.close()
    }
  })

  it('learns dim by running a batch when the model does not declare its output shape', async () => {
    const ex = await OnnxExtractor.open({
      path: modelFile('noshape.onnx', { outputDims: null }).path,
      threads: 1,
    })
    try {
      expect(ex.dim).toBe(DIM)
    } finally {
      await ex.close()
    }
  })

  it('names the image it cannot decode, and keeps working afterwards', async () => {
    const ex = await OnnxExtractor.open({ path: modelFile('broken.onnx').path, batchSize: 2, threads: 1 })
    try {
      const batch = images.map((i) => i.png)
      batch[3] = new TextEncoder().encode('this is not an image')
      const err = await ex.embed(batch).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(LineupError)
      expect((err as LineupError).message).toMatch(/^image 3 of the batch cannot be decoded as an image/)
      expectRows(await ex.embed([images[0]!.png]), [images[0]!.pixels])
    } finally {
      await ex.close()
    }
  })

  it('refuses a malformed model with the inspection message', async () => {
    const path = join(tmp.path, 'text.onnx')
    writeFileSync(path, 'hello')
    await expect(OnnxExtractor.open({ path })).rejects.toThrow(/text\.onnx is not an ONNX model/)
  })
})
