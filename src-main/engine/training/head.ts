/**
 * The projection head (DESIGN.md §3): f = normalise(W·x + b), mapping an L2-normalised backbone
 * feature x (inDim) to an L2-normalised embedding f (outDim). Trained by the trainer; applied here,
 * in plain TypeScript, to any number of cached backbone features (one matrix product).
 */
import { createHash } from 'node:crypto'
import { symmetricEigen } from '../features/builtin-linalg'
import { hashCentering, type CameraCentering } from './centering'

export interface HeadWeights {
  inDim: number
  outDim: number
  /** inDim × outDim, row-major (x·W). */
  W: Float32Array
  /** outDim. */
  b: Float32Array
  /**
   * Camera centering fitted on the library (training/centering.ts): when present the head's input
   * is normalise(x − μ_camera), not x. Applied by ml/onnx/head-applier.ts, which every path uses.
   */
  centering?: CameraCentering
}

/** The head with a run's camera centering attached (none: the head as it is). */
export function withCentering(head: HeadWeights, centering: CameraCentering | undefined): HeadWeights {
  return centering ? { ...head, centering } : head
}

/** SHA-256 of the head's shape, weights and centering (little-endian float32): the head's identity. */
export function headHash(h: HeadWeights): string {
  const hash = createHash('sha256')
  hash.update(`head ${h.inDim}x${h.outDim}\n`)
  hash.update(new Uint8Array(h.W.buffer, h.W.byteOffset, h.W.byteLength))
  hash.update(new Uint8Array(h.b.buffer, h.b.byteOffset, h.b.byteLength))
  // Heads without centering keep the hash they had before centering existed.
  if (h.centering) hashCentering(hash, h.centering)
  return hash.digest('hex')
}

/**
 * The initial head: W = the top-outDim principal axes of the (uncentred) second moment of the
 * training features, b = 0. With outDim = inDim it is a rotation, so the untrained head ranks
 * exactly as the backbone does; with outDim < inDim it keeps the directions that carry most of the
 * features' energy, so distances (and rankings) change as little as a linear map of that size allows.
 */
export function initHead(features: Float32Array, rows: number, inDim: number, outDim: number): HeadWeights {
  if (outDim > inDim) throw new RangeError(`the head's output (${outDim}) cannot exceed its input (${inDim})`)
  if (rows < 1) throw new RangeError('the head is initialised from at least one feature row')
  const m = new Float64Array(inDim * inDim)
  const row = new Float64Array(inDim)
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < inDim; i++) row[i] = features[r * inDim + i]!
    for (let i = 0; i < inDim; i++) {
      const xi = row[i]!
      if (xi === 0) continue
      const off = i * inDim
      for (let j = 0; j <= i; j++) m[off + j]! += xi * row[j]!
    }
  }
  const { vectors } = symmetricEigen(m, inDim)
  const W = new Float32Array(inDim * outDim)
  for (let i = 0; i < inDim; i++) {
    for (let k = 0; k < outDim; k++) W[i * outDim + k] = vectors[i * inDim + k]!
  }
  // Eigenvectors are defined up to sign: fix it (largest-magnitude entry positive) for reproducibility.
  for (let k = 0; k < outDim; k++) {
    let best = 0
    for (let i = 0; i < inDim; i++)
      if (Math.abs(W[i * outDim + k]!) > Math.abs(best)) best = W[i * outDim + k]!
    if (best < 0) for (let i = 0; i < inDim; i++) W[i * outDim + k] = -W[i * outDim + k]!
  }
  return { inDim, outDim, W, b: new Float32Array(outDim) }
}

/**
 * Applies the head to `rows` features (row-major, inDim each): out row r = normalise(x_r·W + b).
 * A zero output row stays zero. Blocked over 4 input rows so each W row is read once per block.
 */
export function applyHead(head: HeadWeights, features: Float32Array, rows?: number): Float32Array {
  // Camera centering needs each row's camera: ml/onnx/head-applier.ts applies it, this does not.
  if (head.centering)
    throw new RangeError('applyHead does not apply camera centering: use applyHeadOnnx with the cameras')
  const { inDim, outDim, W, b } = head
  const n = rows ?? features.length / inDim
  if (!Number.isInteger(n) || features.length < n * inDim)
    throw new RangeError(`features hold ${features.length} values, not a whole number of ${inDim}-d rows`)
  const out = new Float32Array(n * outDim)
  const acc = new Float64Array(4 * outDim)
  for (let r0 = 0; r0 < n; r0 += 4) {
    const nb = Math.min(4, n - r0)
    for (let t = 0; t < nb; t++) acc.set(b, t * outDim)
    for (let t = nb; t < 4; t++) acc.fill(0, t * outDim, (t + 1) * outDim)
    for (let i = 0; i < inDim; i++) {
      const x0 = features[r0 * inDim + i]!
      const x1 = nb > 1 ? features[(r0 + 1) * inDim + i]! : 0
      const x2 = nb > 2 ? features[(r0 + 2) * inDim + i]! : 0
      const x3 = nb > 3 ? features[(r0 + 3) * inDim + i]! : 0
      const w = i * outDim
      for (let k = 0; k < outDim; k++) {
        const wk = W[w + k]!
        acc[k]! += x0 * wk
        acc[outDim + k]! += x1 * wk
        acc[2 * outDim + k]! += x2 * wk
        acc[3 * outDim + k]! += x3 * wk
      }
    }
    for (let t = 0; t < nb; t++) {
      let s = 0
      for (let k = 0; k < outDim; k++) s += acc[t * outDim + k]! ** 2
      const inv = s > 0 ? 1 / Math.sqrt(s) : 0
      const o = (r0 + t) * outDim
      for (let k = 0; k < outDim; k++) out[o + k] = acc[t * outDim + k]! * inv
    }
  }
  return out
}

/** Gathers the given rows of a row-major matrix into a new one. */
export function gatherRows(x: Float32Array, dim: number, rows: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rows.length * dim)
  for (let r = 0; r < rows.length; r++) out.set(x.subarray(rows[r]! * dim, (rows[r]! + 1) * dim), r * dim)
  return out
}
