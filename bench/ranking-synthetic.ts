/**
 * Synthetic re-ID features for the ranking benchmarks: Market-1501-shaped labels (identities,
 * cameras, distractors, junk) and clustered, L2-normalised features, from a fixed seed.
 *
 * Each image = identity centre + camera offset + noise (all Gaussian, scaled by 1/√d), then
 * normalised. Distractors and junk get their own random centres. The camera offset makes
 * same-camera images of one person easier to match, as in real data, so the protocol's
 * same-camera removal matters.
 */
export interface SyntheticReid {
  d: number
  q: Float32Array
  g: Float32Array
  qPids: Int32Array
  gPids: Int32Array
  qCams: Int32Array
  gCams: Int32Array
}

export interface SyntheticShape {
  nq: number
  ng: number
  ids: number
  cams: number
  /** Gallery items with identity 0. */
  distractors: number
  /** Gallery items with identity −1. */
  junk: number
  d: number
  /** Noise scale relative to the identity centre (both ~unit length before normalising); 1.7 with camera 0.7 gives mAP ≈ 0.56 at d = 512 on the subset shape. */
  noise: number
  camera: number
  seed: number
}

/** The Market-1501 test split: 750 test identities (751 with the training ones, as the brief says), 6 cameras. */
export const MARKET_TEST: Omit<SyntheticShape, 'd' | 'seed'> = {
  nq: 3368,
  ng: 15913,
  ids: 751,
  cams: 6,
  distractors: 2793,
  junk: 120,
  noise: 1.7,
  camera: 0.7,
}

/** The Market-1501 subset in ../shared/data (DESIGN.md §6): 375 identities, 1,676 queries, 9,311 gallery incl. 2,795 distractors. */
export const MARKET_SUBSET: Omit<SyntheticShape, 'd' | 'seed'> = {
  nq: 1676,
  ng: 9311,
  ids: 375,
  cams: 6,
  distractors: 2795,
  junk: 0,
  noise: 1.7,
  camera: 0.7,
}

export function syntheticReid(shape: SyntheticShape): SyntheticReid {
  const { nq, ng, ids, cams, distractors, junk, d, noise, camera, seed } = shape
  const normal = gaussian(seed)
  const scale = 1 / Math.sqrt(d)
  const randomRows = (n: number) => new Float32Array(n * d).map(() => normal() * scale)
  const centres = randomRows(ids)
  const camOffsets = randomRows(cams)
  const image = (out: Float32Array, row: number, centre: Float32Array, c: number, cam: number) => {
    let norm = 0
    for (let k = 0; k < d; k++) {
      const v = centre[c * d + k]! + camera * camOffsets[cam * d + k]! + noise * normal() * scale
      out[row * d + k] = v
      norm += v * v
    }
    const inv = 1 / Math.sqrt(norm)
    for (let k = 0; k < d; k++) out[row * d + k] = out[row * d + k]! * inv
  }
  let state = seed >>> 0
  const pick = (n: number) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state % n
  }
  const q = new Float32Array(nq * d)
  const qPids = new Int32Array(nq)
  const qCams = new Int32Array(nq)
  for (let i = 0; i < nq; i++) {
    const id = i % ids
    qPids[i] = id + 1
    qCams[i] = 1 + pick(cams)
    image(q, i, centres, id, qCams[i]! - 1)
  }
  const g = new Float32Array(ng * d)
  const gPids = new Int32Array(ng)
  const gCams = new Int32Array(ng)
  const others = randomRows(distractors + junk)
  for (let j = 0; j < ng; j++) {
    gCams[j] = 1 + pick(cams)
    if (j < distractors + junk) {
      gPids[j] = j < junk ? -1 : 0
      image(g, j, others, j, gCams[j]! - 1)
    } else {
      const id = (j - distractors - junk) % ids
      gPids[j] = id + 1
      image(g, j, centres, id, gCams[j]! - 1)
    }
  }
  return { d, q, g, qPids, gPids, qCams, gCams }
}

/** Standard normal numbers from a seeded Mulberry32 (Box–Muller). */
function gaussian(seed: number): () => number {
  let a = seed >>> 0
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform())
}

/** CPU model, cores, Node version: printed with every table. */
export async function machine(): Promise<{ cpu: string; cores: number; node: string; memoryGiB: number }> {
  const os = await import('node:os')
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    node: process.version,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  }
}
