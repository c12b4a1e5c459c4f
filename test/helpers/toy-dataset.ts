import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'

/** A small deterministic PRNG (mulberry32), so every run draws the same images. */
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

type Rgb = [number, number, number]

/** Per-pixel noise amplitude (0–255 scale). */
const NOISE = 100
const W = 64
const H = 128

/** Few colours, so identities share them and only their combination and stripes tell them apart. */
const PALETTE: Rgb[] = [
  [200, 40, 40],
  [40, 160, 60],
  [50, 60, 190],
  [210, 200, 60],
  [90, 90, 90],
  [230, 230, 230],
]

/** An identity's look: shirt and trousers colours and a stripe period, drawn from its number. */
function lookOf(pid: number): { top: Rgb; bottom: Rgb; stripe: number } {
  const r = rng(pid * 7919 + 17)
  const colour = (): Rgb => PALETTE[Math.floor(r() * PALETTE.length)]!
  return { top: colour(), bottom: colour(), stripe: 2 + Math.floor(r() * 4) }
}

/**
 * One 64×128 "person" of identity `pid` seen by camera `cam`: the identity's colours, a waist
 * line that moves a little, a camera-dependent brightness and per-pixel noise, so images of one
 * identity are alike but not equal and the built-in descriptor separates identities imperfectly.
 */
async function personPng(pid: number, cam: number, shot: number): Promise<Buffer> {
  const look = lookOf(pid)
  const r = rng(pid * 104729 + cam * 1299709 + shot * 15485863)
  const gain = 0.6 + 0.15 * cam + 0.2 * r()
  const waist = Math.floor(H * (0.45 + 0.1 * r()))
  const px = Buffer.alloc(W * H * 3)
  for (let y = 0; y < H; y++) {
    const base = y < waist ? look.top : look.bottom
    const stripe = y < waist && Math.floor(y / look.stripe) % 2 === 0 ? 0.8 : 1
    for (let x = 0; x < W; x++) {
      const edge = x < 10 || x >= W - 10 // background at the sides
      for (let c = 0; c < 3; c++) {
        const v = edge ? 120 + 40 * r() : base[c]! * gain * stripe + NOISE * (r() - 0.5)
        px[(y * W + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v)))
      }
    }
  }
  return sharp(px, { raw: { width: W, height: H, channels: 3 } })
    .png()
    .toBuffer()
}

const id4 = (pid: number) => (pid < 0 ? '-1' : String(pid).padStart(4, '0'))

export interface ToyOptions {
  /** Training identities (numbers) and images per identity. */
  trainIds?: number[]
  trainPerId?: number
  /** Test identities: one query (camera 1) and `galleryPerId` gallery images (cameras 2–3) each. */
  testIds?: number[]
  galleryPerId?: number
  /** Distractor (0000) and junk (−1) gallery images. */
  distractors?: number
}

/**
 * Writes a Market-1501-layout folder (bounding_box_train/, query/, bounding_box_test/) of
 * synthetic 64×128 PNGs at `root`. Defaults: 12 training identities × 6 images over 3 cameras,
 * 8 test identities with 1 query and 3 gallery images each, 4 distractors and 2 junk images.
 * Returns the number of images per split.
 */
export async function makeToyDataset(
  root: string,
  o: ToyOptions = {},
): Promise<{ train: number; query: number; gallery: number }> {
  const trainIds = o.trainIds ?? Array.from({ length: 12 }, (_, i) => i + 1)
  const trainPerId = o.trainPerId ?? 6
  const testIds = o.testIds ?? Array.from({ length: 8 }, (_, i) => i + 101)
  const galleryPerId = o.galleryPerId ?? 3
  const distractors = o.distractors ?? 4
  const counts = { train: 0, query: 0, gallery: 0 }
  const put = async (split: string, pid: number, cam: number, shot: number, seedPid = pid) => {
    mkdirSync(join(root, split), { recursive: true })
    const name = `${id4(pid)}_c${cam}s1_${String(shot).padStart(6, '0')}_00.png`
    writeFileSync(join(root, split, name), await personPng(seedPid, cam, shot))
  }
  for (const pid of trainIds) {
    for (let i = 0; i < trainPerId; i++) await put('bounding_box_train', pid, 1 + (i % 3), 100 + i)
    counts.train += trainPerId
  }
  for (const pid of testIds) {
    await put('query', pid, 1, 1)
    counts.query++
    for (let i = 0; i < galleryPerId; i++) await put('bounding_box_test', pid, 2 + (i % 2), 200 + i)
    counts.gallery += galleryPerId
  }
  for (let i = 0; i < distractors; i++) {
    await put('bounding_box_test', 0, 1 + (i % 3), 300 + i, 5000 + i)
    counts.gallery++
  }
  for (let i = 0; i < 2; i++) {
    await put('bounding_box_test', -1, 2, 400 + i, testIds[i % testIds.length]!)
    counts.gallery++
  }
  return counts
}
