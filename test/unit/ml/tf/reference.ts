/**
 * A float64 reference of the projection head's forward pass and losses in plain TypeScript, written
 * from the definitions (not from the kernel): y = x·W + b, f = y / ‖y‖, D_ij = ‖f_i − f_j‖², the
 * ranking core's loss of D, and the cosine softmax cross-entropy of s·f·Wc.
 */
import type { HeadTrainState } from '../../../../src-main/engine/ml/tf/head-kernel'
import type { LossResult } from '../../../../src-main/engine/ranking/loss-types'
import { mulberry32 } from '../../ranking/helpers'

export interface Params {
  inDim: number
  outDim: number
  /** inDim × outDim, row-major. */
  W: Float64Array
  b: Float64Array
  /** outDim × classes, row-major; null without a softmax term. */
  Wc: Float64Array | null
  classes: number
}

export interface Forward {
  y: Float64Array
  norm: Float64Array
  f: Float64Array
  D: Float64Array
}

export function forward(p: Params, x: ArrayLike<number>, n: number): Forward {
  const { inDim, outDim, W, b } = p
  const y = new Float64Array(n * outDim)
  const norm = new Float64Array(n)
  const f = new Float64Array(n * outDim)
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < outDim; k++) {
      let s = b[k]!
      for (let c = 0; c < inDim; c++) s += x[i * inDim + c]! * W[c * outDim + k]!
      y[i * outDim + k] = s
    }
    let s2 = 0
    for (let k = 0; k < outDim; k++) s2 += y[i * outDim + k]! ** 2
    norm[i] = Math.sqrt(s2)
    for (let k = 0; k < outDim; k++) f[i * outDim + k] = y[i * outDim + k]! / norm[i]!
  }
  const D = new Float64Array(n * n)
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0
      for (let k = 0; k < outDim; k++) s += (f[i * outDim + k]! - f[j * outDim + k]!) ** 2
      D[i * n + j] = s
    }
  }
  return { y, norm, f, D }
}

/** Mean cross-entropy of softmax(scale · f · Wc) against the labels. */
export function crossEntropy(
  f: Float64Array,
  Wc: Float64Array,
  labels: ArrayLike<number>,
  outDim: number,
  classes: number,
  scale: number,
): number {
  const n = labels.length
  let total = 0
  const logits = new Float64Array(classes)
  for (let i = 0; i < n; i++) {
    let max = -Infinity
    for (let c = 0; c < classes; c++) {
      let s = 0
      for (let k = 0; k < outDim; k++) s += f[i * outDim + k]! * Wc[k * classes + c]!
      logits[c] = scale * s
      max = Math.max(max, logits[c]!)
    }
    let z = 0
    for (let c = 0; c < classes; c++) z += Math.exp(logits[c]! - max)
    total += -(logits[labels[i]!]! - max - Math.log(z))
  }
  return total / n
}

export type MetricLoss = (D: Float64Array | Float32Array, labels: Int32Array) => LossResult

/** Total loss (metric + cross-entropy) of the parameters on a batch, and the metric loss's C. */
export function totalLoss(
  p: Params,
  x: ArrayLike<number>,
  labels: Int32Array,
  metric: MetricLoss | null,
  softmax: boolean,
  scale: number,
): { loss: number; coeff: Float64Array | null } {
  const fw = forward(p, x, labels.length)
  let loss = 0
  let coeff: Float64Array | null = null
  if (metric) {
    const r = metric(fw.D, labels)
    loss += r.loss
    coeff = r.coeff
  }
  if (softmax) loss += crossEntropy(fw.f, p.Wc!, labels, p.outDim, p.classes, scale)
  return { loss, coeff }
}

/** Random parameters away from any special structure (a non-zero bias, a non-orthogonal W). */
export function randomParams(seed: number, inDim: number, outDim: number, classes: number): Params {
  const rand = mulberry32(seed)
  const W = new Float64Array(inDim * outDim).map(() => rand() * 2 - 1)
  const b = new Float64Array(outDim).map(() => (rand() * 2 - 1) * 0.3)
  const Wc = classes > 0 ? new Float64Array(outDim * classes).map(() => rand() * 2 - 1) : null
  return { inDim, outDim, W, b, Wc, classes }
}

/** P identities × K rows of L2-normalised random features (labels 0..P−1). */
export function randomFeatureBatch(seed: number, p: number, k: number, inDim: number) {
  const rand = mulberry32(seed)
  const n = p * k
  const labels = new Int32Array(n)
  const centers = Array.from({ length: p }, () => Array.from({ length: inDim }, () => rand() * 2 - 1))
  const x = new Float64Array(n * inDim)
  for (let i = 0; i < n; i++) {
    const id = Math.floor(i / k)
    labels[i] = id
    let s = 0
    for (let c = 0; c < inDim; c++) {
      const v = centers[id]![c]! + (rand() * 2 - 1) * 0.8
      x[i * inDim + c] = v
      s += v * v
    }
    for (let c = 0; c < inDim; c++) x[i * inDim + c]! /= Math.sqrt(s)
  }
  // Rounded to float32 once, so the kernel and the reference see the very same inputs.
  return { x: Float32Array.from(x), labels, n }
}

/** The kernel's starting state for the given parameters (rounded to float32). */
export function kernelState(p: Params): HeadTrainState {
  return {
    head: { inDim: p.inDim, outDim: p.outDim, W: Float32Array.from(p.W), b: Float32Array.from(p.b) },
    classifier: p.Wc ? Float32Array.from(p.Wc) : null,
    classes: p.classes,
    adamT: 0,
    adamM: [],
    adamV: [],
  }
}

/** The same parameters as float64 copies of the float32 values the kernel holds. */
export function asFloat64(p: Params): Params {
  return {
    ...p,
    W: Float64Array.from(Float32Array.from(p.W)),
    b: Float64Array.from(Float32Array.from(p.b)),
    Wc: p.Wc ? Float64Array.from(Float32Array.from(p.Wc)) : null,
  }
}
