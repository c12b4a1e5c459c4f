/**
 * Shared by bench/builtin-fit.ts and bench/builtin-descriptor.ts: reading a Market-1501 layout
 * folder, decoding it as the built-in descriptor does, the RGB stripe-histogram reference, and the
 * standard evaluation.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { decodeForBuiltin } from '../src-main/engine/features/builtin'
import { LOMO_DIM, LomoScratch, lomoDescriptor } from '../src-main/engine/features/builtin-lomo'
import { parseReidName } from '../src-main/engine/ingest/names'
import { squaredEuclidean } from '../src-main/engine/ranking/distances'
import { evaluateProtocol } from '../src-main/engine/ranking/protocol'

/** Crops of one folder with their identity (0 distractor, −1 junk) and camera number. */
export interface Folder {
  files: string[]
  pids: Int32Array
  cams: Int32Array
}

/** Lists a Market-1501 folder (sorted by name); every file must follow the Market naming. */
export function readMarketFolder(dir: string): Folder {
  const files = readdirSync(dir)
    .filter((f) => /\.(jpe?g|png)$/i.test(f))
    .sort()
  const pids = new Int32Array(files.length)
  const cams = new Int32Array(files.length)
  files.forEach((f, i) => {
    const info = parseReidName(f)
    if (!info) throw new Error(`${f} in ${dir} is not a Market-1501 name`)
    pids[i] = info.kind === 'junk' ? -1 : info.kind === 'distractor' ? 0 : Number(info.identity)
    cams[i] = Number(info.camera.slice(1))
  })
  return { files: files.map((f) => join(dir, f)), pids, cams }
}

/** Rows `rows` of a folder. */
export function subset(f: Folder, rows: readonly number[]): Folder {
  return {
    files: rows.map((i) => f.files[i]!),
    pids: Int32Array.from(rows, (i) => f.pids[i]!),
    cams: Int32Array.from(rows, (i) => f.cams[i]!),
  }
}

/** Reads and decodes every file as the built-in descriptor does (64×128 RGB), 8 in flight. */
export async function decodeFolder(f: Folder): Promise<Uint8Array[]> {
  const out: Uint8Array[] = new Array(f.files.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < f.files.length) {
      const i = next++
      out[i] = await decodeForBuiltin(readFileSync(f.files[i]!), i)
    }
  }
  await Promise.all(Array.from({ length: 8 }, worker))
  return out
}

/** LOMO descriptors of decoded crops, n×LOMO_DIM row-major. */
export function lomoRows(rgbs: readonly Uint8Array[]): Float32Array {
  const x = new Float32Array(rgbs.length * LOMO_DIM)
  const scratch = new LomoScratch()
  rgbs.forEach((rgb, i) => lomoDescriptor(rgb, x.subarray(i * LOMO_DIM, (i + 1) * LOMO_DIM), scratch))
  return x
}

export const RGB_REFERENCE_DIM = 6 * 512

/**
 * The reference of ../shared/data/market1501/SOURCE.md: a joint RGB histogram, 8 bins per channel,
 * on 6 horizontal stripes, each normalised to sum 1, square-rooted, then the whole vector
 * L2-normalised (so squared Euclidean ranks as cosine does).
 */
export function rgbStripeHistogram(rgb: Uint8Array, width = 64, height = 128): Float32Array {
  const out = new Float32Array(RGB_REFERENCE_DIM)
  for (let s = 0; s < 6; s++) {
    const y0 = Math.round((s * height) / 6)
    const y1 = Math.round(((s + 1) * height) / 6)
    const count = (y1 - y0) * width
    for (let y = y0; y < y1; y++) {
      for (let x = 0; x < width; x++) {
        const p = (y * width + x) * 3
        out[s * 512 + (rgb[p]! >> 5) * 64 + (rgb[p + 1]! >> 5) * 8 + (rgb[p + 2]! >> 5)]! += 1 / count
      }
    }
  }
  // Each stripe's square roots have squared norm 1, so the whole vector's is 6.
  for (let k = 0; k < out.length; k++) out[k] = Math.sqrt(out[k]!) / Math.sqrt(6)
  return out
}

export function rgbRows(rgbs: readonly Uint8Array[]): Float32Array {
  const x = new Float32Array(rgbs.length * RGB_REFERENCE_DIM)
  rgbs.forEach((rgb, i) => x.set(rgbStripeHistogram(rgb), i * RGB_REFERENCE_DIM))
  return x
}

export interface Scores {
  r1: number
  r5: number
  r10: number
  mAP: number
  queries: number
}

/** Standard Market-1501 protocol on squared Euclidean distances; percentages. */
export function score(q: Float32Array, g: Float32Array, d: number, qf: Folder, gf: Folder): Scores {
  const distmat = squaredEuclidean(q, g, d)
  const r = evaluateProtocol(
    { distmat, qPids: qf.pids, gPids: gf.pids, qCams: qf.cams, gCams: gf.cams },
    { maxRank: 10 },
  )
  return {
    r1: 100 * r.cmc[0]!,
    r5: 100 * r.cmc[4]!,
    r10: 100 * r.cmc[9]!,
    mAP: 100 * r.mAP,
    queries: r.queries,
  }
}
