import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { LineupError } from '../../../src-shared/errors'
import {
  decodeRgb,
  filterTaps,
  preprocessInto,
  REID_DEFAULTS,
  writeNormalised,
  type PreprocessConfig,
  type RgbImage,
} from '../../../src-main/engine/features/preprocess'

/** Textbook bilinear interpolation with half-pixel centres and clamped edges (OpenCV INTER_LINEAR). */
function bilinearAt(img: RgbImage, dw: number, dh: number, x: number, y: number, c: number): number {
  const sx = Math.min(Math.max((x + 0.5) * (img.width / dw) - 0.5, 0), img.width - 1)
  const sy = Math.min(Math.max((y + 0.5) * (img.height / dh) - 0.5, 0), img.height - 1)
  const x0 = Math.floor(sx)
  const y0 = Math.floor(sy)
  const x1 = Math.min(x0 + 1, img.width - 1)
  const y1 = Math.min(y0 + 1, img.height - 1)
  const fx = sx - x0
  const fy = sy - y0
  const px = (xx: number, yy: number) => img.data[(yy * img.width + xx) * 3 + c]!
  return (1 - fy) * ((1 - fx) * px(x0, y0) + fx * px(x1, y0)) + fy * ((1 - fx) * px(x0, y1) + fx * px(x1, y1))
}

function randomImage(width: number, height: number, seed = 1): RgbImage {
  let s = seed
  const data = new Uint8Array(width * height * 3).map(() => {
    s = (s * 1103515245 + 12345) >>> 0
    return s >>> 24
  })
  return { data, width, height }
}

const config = (height: number, width: number): PreprocessConfig => ({ ...REID_DEFAULTS, height, width })

describe('bilinear resize as PIL / torchvision do it', () => {
  it('is plain bilinear interpolation with half-pixel centres when enlarging (Market 64×128 → 128×256)', () => {
    const img = randomImage(64, 128)
    const out = new Float32Array(3 * 256 * 128)
    // mean 0, std 1/255: the output is the resized value itself.
    const raw: PreprocessConfig = {
      height: 256,
      width: 128,
      mean: [0, 0, 0],
      std: [1 / 255, 1 / 255, 1 / 255],
    }
    writeNormalised(img, raw, out, 0)
    let worst = 0
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < 256; y++)
        for (let x = 0; x < 128; x++) {
          const got = out[c * 256 * 128 + y * 128 + x]!
          worst = Math.max(worst, Math.abs(got - bilinearAt(img, 128, 256, x, y, c)))
        }
    expect(worst).toBeLessThan(1e-3)
  })

  it('weights 3/4 and 1/4 at a 2× enlargement, edges replicated', () => {
    const t = filterTaps(4, 8)
    const row = (x: number) => {
      const w = Array.from(t.weights.subarray(x * t.taps, x * t.taps + t.count[x]!))
      return { first: t.first[x], w }
    }
    expect(row(0)).toEqual({ first: 0, w: [1] })
    expect(row(1)).toEqual({ first: 0, w: [0.75, 0.25] })
    expect(row(2)).toEqual({ first: 0, w: [0.25, 0.75] })
    expect(row(7)).toEqual({ first: 3, w: [1] })
  })

  it('averages with a stretched triangle when shrinking (antialiased, as PIL), weights summing to 1', () => {
    const t = filterTaps(8, 4) // scale 2: support 2, centre of output 1 at source 3.0
    const w = Array.from(t.weights.subarray(1 * t.taps, 1 * t.taps + t.count[1]!))
    expect(t.first[1]).toBe(1)
    expect(w.map((v) => +v.toFixed(6))).toEqual([0.125, 0.375, 0.375, 0.125])
    for (let x = 0; x < 4; x++) {
      const sum = t.weights.subarray(x * t.taps, x * t.taps + t.count[x]!).reduce((a, b) => a + b, 0)
      expect(sum).toBeCloseTo(1, 12)
    }
  })

  it('leaves an image already at the input size unchanged', () => {
    const img = randomImage(4, 8)
    const out = new Float32Array(3 * 32)
    writeNormalised(img, { height: 8, width: 4, mean: [0, 0, 0], std: [1 / 255, 1 / 255, 1 / 255] }, out, 0)
    for (let p = 0; p < 32; p++)
      for (let c = 0; c < 3; c++) expect(out[c * 32 + p]).toBeCloseTo(img.data[p * 3 + c]!, 4)
  })
})

describe('normalisation and layout', () => {
  it('writes (v/255 − mean)/std per channel as planar NCHW at the image slot', async () => {
    const png = await sharp({
      create: { width: 5, height: 7, channels: 3, background: { r: 255, g: 128, b: 0 } },
    })
      .png()
      .toBuffer()
    const cfg = config(10, 6)
    const size = 3 * 10 * 6
    const out = new Float32Array(2 * size).fill(99)
    await preprocessInto(png, cfg, out, 1)
    expect(out.subarray(0, size).every((v) => v === 99)).toBe(true) // slot 0 untouched
    const plane = 60
    const expected = [(1 - 0.485) / 0.229, (128 / 255 - 0.456) / 0.224, (0 - 0.406) / 0.225]
    for (let c = 0; c < 3; c++) {
      for (let p = 0; p < plane; p++) expect(out[size + c * plane + p]).toBeCloseTo(expected[c]!, 5)
    }
  })

  it('decodes greyscale and RGBA images to three channels', async () => {
    const grey = await sharp({ create: { width: 2, height: 2, channels: 3, background: '#808080' } })
      .greyscale()
      .png()
      .toBuffer()
    const rgba = await sharp({
      create: { width: 2, height: 2, channels: 4, background: { r: 10, g: 20, b: 30, alpha: 0.5 } },
    })
      .png()
      .toBuffer()
    expect([...(await decodeRgb(grey)).data.subarray(0, 3)]).toEqual([128, 128, 128])
    const d = await decodeRgb(rgba)
    expect(d.data.length).toBe(2 * 2 * 3)
    expect([...d.data.subarray(0, 3)]).toEqual([10, 20, 30])
  })

  it('names the image it cannot decode', async () => {
    const err = await preprocessInto(
      new TextEncoder().encode('not an image'),
      REID_DEFAULTS,
      new Float32Array(3 * 256 * 128),
      0,
      'image 7 of the batch',
    ).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(LineupError)
    expect((err as LineupError).message).toMatch(/^image 7 of the batch cannot be decoded as an image: /)
  })

  it("'sharp-linear' resizes in libvips to the input size, same layout and normalisation", async () => {
    const png = await sharp({
      create: { width: 16, height: 32, channels: 3, background: { r: 40, g: 90, b: 200 } },
    })
      .png()
      .toBuffer()
    const a = new Float32Array(3 * 64 * 32)
    const b = new Float32Array(3 * 64 * 32)
    await preprocessInto(png, config(64, 32), a, 0)
    await preprocessInto(png, { ...config(64, 32), resize: 'sharp-linear' }, b, 0)
    for (let i = 0; i < a.length; i++) expect(b[i]).toBeCloseTo(a[i]!, 5)
  })

  it('keeps a symmetric ramp symmetric (centred sampling; libvips linear upsampling is not)', () => {
    const row = [0, 100, 200, 250, 250, 200, 100, 0]
    const img: RgbImage = { width: 8, height: 1, data: Uint8Array.from(row.flatMap((v) => [v, v, v])) }
    const raw: PreprocessConfig = { height: 1, width: 16, mean: [0, 0, 0], std: [1 / 255, 1 / 255, 1 / 255] }
    const out = new Float32Array(3 * 16)
    writeNormalised(img, raw, out, 0)
    for (let x = 0; x < 16; x++) expect(out[x]).toBeCloseTo(out[15 - x]!, 4)
    expect(Array.from(out.subarray(0, 4), (v) => +v.toFixed(3))).toEqual([0, 25, 75, 125])
  })
})
