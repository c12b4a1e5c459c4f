/**
 * The P×K identity sampler (DESIGN.md §4): each batch holds P identities × K images. One epoch
 * visits every identity's images in chunks of K (torchreid's RandomIdentitySampler): an identity
 * with n ≥ K images gives ⌊n/K⌋ chunks, one with 2 ≤ n < K gives one chunk drawn with replacement
 * to K; the chunks are dealt into batches so that no batch holds an identity twice. Everything is
 * drawn from one Rng, so a run resumed from a checkpoint (epoch plan + position + Rng state)
 * replays the same batches.
 */
import { LineupError } from '../../../src-shared/errors'
import type { Rng } from './rng'

export interface SamplerConfig {
  /** Identities per batch (paper: 32); lowered to the number of identities when fewer exist. */
  p: number
  /** Images per identity (paper: 4). */
  k: number
}

/** Row indices of a batch, and each row's identity as a dense class index 0..ids−1. */
export interface Batch {
  rows: Int32Array
  labels: Int32Array
}

export class IdentitySampler {
  /** Dense class index → the rows of that identity. */
  readonly groups: Int32Array[]
  readonly p: number
  readonly k: number

  /**
   * @param classes dense class index per row (−1 = not used for training)
   * @throws LineupError 'invalid-input' when fewer than 2 identities have ≥ 2 images
   */
  constructor(classes: Int32Array, config: SamplerConfig) {
    if (!Number.isInteger(config.k) || config.k < 2)
      throw new RangeError(`K must be an integer ≥ 2 (got ${config.k})`)
    if (!Number.isInteger(config.p) || config.p < 2)
      throw new RangeError(`P must be an integer ≥ 2 (got ${config.p})`)
    const byClass = new Map<number, number[]>()
    classes.forEach((c, row) => {
      if (c < 0) return
      let g = byClass.get(c)
      if (!g) byClass.set(c, (g = []))
      g.push(row)
    })
    this.groups = [...byClass.keys()]
      .sort((a, b) => a - b)
      .map((c) => Int32Array.from(byClass.get(c)!))
      .filter((g) => g.length >= 2)
    if (this.groups.length < 2) {
      throw new LineupError(
        'invalid-input',
        `training needs at least 2 identities with 2 or more images each (found ${this.groups.length}); label more crops`,
      )
    }
    this.p = Math.min(config.p, this.groups.length)
    this.k = config.k
  }

  /** The batches of one epoch, in order. Deterministic given the Rng's state. */
  epoch(rng: Rng): Batch[] {
    const { k, p } = this
    // Chunks of K rows per identity.
    const chunks: { id: number; rows: number[] }[] = []
    this.groups.forEach((g, id) => {
      const rows = rng.shuffle([...g])
      if (rows.length < k) {
        while (rows.length < k) rows.push(g[rng.int(g.length)]!)
        chunks.push({ id, rows })
      } else {
        for (let s = 0; s + k <= rows.length; s += k) chunks.push({ id, rows: rows.slice(s, s + k) })
      }
    })
    // Queue per identity, identities drawn P at a time among those with chunks left.
    const queues = new Map<number, number[][]>()
    for (const c of rng.shuffle(chunks)) {
      let q = queues.get(c.id)
      if (!q) queues.set(c.id, (q = []))
      q.push(c.rows)
    }
    const batches: Batch[] = []
    let available = [...queues.keys()].sort((a, b) => a - b)
    while (available.length >= p) {
      const picked = rng.shuffle([...available]).slice(0, p)
      const rows = new Int32Array(p * k)
      const labels = new Int32Array(p * k)
      picked.forEach((id, slot) => {
        const chunk = queues.get(id)!.pop()!
        for (let j = 0; j < k; j++) {
          rows[slot * k + j] = chunk[j]!
          labels[slot * k + j] = id
        }
      })
      batches.push({ rows, labels })
      available = available.filter((id) => queues.get(id)!.length > 0)
    }
    return batches
  }
}

/**
 * Splits identities into training and validation (held-out identities, paper Fig. 5): a share
 * `valShare` of the identities with ≥ 2 images, at least 2 of them, chosen by the Rng. Returns the
 * set of validation identities; with too few identities for both, none are held out.
 */
export function splitIdentities(
  identities: readonly number[],
  counts: ReadonlyMap<number, number>,
  valShare: number,
  rng: Rng,
): Set<number> {
  const usable = identities.filter((id) => (counts.get(id) ?? 0) >= 2).sort((a, b) => a - b)
  const nVal = Math.round(usable.length * valShare)
  if (valShare <= 0 || nVal < 2 || usable.length - nVal < 2) return new Set()
  return new Set(rng.shuffle([...usable]).slice(0, nVal))
}
