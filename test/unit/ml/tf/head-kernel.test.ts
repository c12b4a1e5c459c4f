/**
 * TfHeadKernel (src-main/engine/ml/tf/head-kernel.ts) on the backend the probe picks (wasm here):
 * its hand-written backward pass against finite differences of a float64 reference forward, against
 * the analytic gradient from the coefficient matrix C, its Adam step against a float64 Adam, and
 * its tensor bookkeeping.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { loadTf, type TfRuntime } from '../../../../src-main/engine/ml/tf/backend'
import { TfHeadKernel, type StepInput } from '../../../../src-main/engine/ml/tf/head-kernel'
import { getLoss, type LossName } from '../../../../src-main/engine/ranking/registry'
import { gradFromCoeff, mulberry32 } from '../../ranking/helpers'
import {
  asFloat64,
  forward,
  kernelState,
  randomFeatureBatch,
  randomParams,
  totalLoss,
  type MetricLoss,
  type Params,
} from './reference'

let rt: TfRuntime
beforeAll(async () => {
  rt = await loadTf()
})

const SCALE = 16
const margins: Record<LossName, number> = {
  'rank-triplet': 0.3,
  baseline: 0.3,
  contrastive: 1.5,
  triplet: 0.3,
  'batch-hard': 0.3,
  quadruplet: 1,
}

function metricOf(name: LossName): MetricLoss {
  const loss = getLoss(name)
  return (D, labels) => loss(D, labels, { margin: margins[name], margin2: 0.5, ap: 'standard' })
}

function stepInput(
  x: Float32Array,
  labels: Int32Array,
  metric: MetricLoss | null,
  softmax: boolean,
  onCoeff?: (c: Float64Array, D: Float32Array) => void,
): StepInput {
  return {
    x,
    labels,
    metricLoss: metric
      ? (D, l) => {
          const r = metric(D, l)
          onCoeff?.(r.coeff, D)
          return r
        }
      : null,
    softmax,
    lr: 1e-3,
    weightDecay: 0,
  }
}

type Which = 'W' | 'b' | 'Wc'

/**
 * Central finite difference of the float64 reference loss in one parameter. Null when the loss's
 * coefficient matrix differs at ±eps (a ranking or a hinge changed inside the step: the loss is not
 * differentiable there, so the entry is not comparable).
 */
function finiteDifference(
  p: Params,
  which: Which,
  index: number,
  x: Float32Array,
  labels: Int32Array,
  metric: MetricLoss | null,
  softmax: boolean,
  eps = 1e-6,
): number | null {
  const shifted = (delta: number) => {
    const q: Params = { ...p, W: p.W.slice(), b: p.b.slice(), Wc: p.Wc ? p.Wc.slice() : null }
    q[which]![index]! += delta
    return totalLoss(q, x, labels, metric, softmax, SCALE)
  }
  const plus = shifted(eps)
  const minus = shifted(-eps)
  const at = totalLoss(p, x, labels, metric, softmax, SCALE)
  if (at.coeff && (!sameArray(plus.coeff!, at.coeff) || !sameArray(minus.coeff!, at.coeff))) return null
  return (plus.loss - minus.loss) / (2 * eps)
}

function sameArray(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!))
  return m
}

interface Case {
  name: string
  metric: LossName | null
  softmax: boolean
}

const cases: Case[] = [
  { name: 'rank-triplet', metric: 'rank-triplet', softmax: false },
  { name: 'baseline', metric: 'baseline', softmax: false },
  { name: 'batch-hard', metric: 'batch-hard', softmax: false },
  { name: 'contrastive', metric: 'contrastive', softmax: false },
  { name: 'triplet', metric: 'triplet', softmax: false },
  { name: 'quadruplet', metric: 'quadruplet', softmax: false },
  { name: 'softmax', metric: null, softmax: true },
  { name: 'rank-triplet + softmax', metric: 'rank-triplet', softmax: true },
]

const P = 4
const K = 3
const IN = 16
const OUT = 8

describe('gradients through the coefficient matrix', () => {
  it.each(cases)('equal central finite differences of the float64 loss: $name', ({ metric, softmax }) => {
    const seed = 11 + cases.findIndex((c) => c.metric === metric && c.softmax === softmax)
    const { x, labels } = randomFeatureBatch(seed, P, K, IN)
    const p = asFloat64(randomParams(seed * 7 + 1, IN, OUT, softmax ? P : 0))
    const m = metric ? metricOf(metric) : null
    const kernel = new TfHeadKernel(rt, kernelState(p), SCALE)
    try {
      let kernelCoeff: Float64Array | null = null
      const g = kernel.gradients(
        stepInput(x, labels, m, softmax, (c) => {
          kernelCoeff = c
        }),
      )
      const ref = totalLoss(p, x, labels, m, softmax, SCALE)
      // The kernel's float32 distances give the same C as the float64 reference (no near-ties), and
      // the loss it reports is the reference loss.
      if (m) {
        expect(sameArray(kernelCoeff!, ref.coeff!)).toBe(true)
        // The batch is not trivially solved: some terms are active.
        expect(maxAbs(ref.coeff!)).toBeGreaterThan(0)
      }
      expect(g.loss).toBeCloseTo(ref.loss, 5)
      expect(g.dW.length).toBe(IN * OUT)
      expect(g.db.length).toBe(OUT)
      expect(g.dClassifier === null).toBe(!softmax)
      if (softmax) expect(g.dClassifier!.length).toBe(OUT * P)

      const rand = mulberry32(seed)
      const entries: [Which, number, number][] = []
      for (let t = 0; t < 24; t++) {
        const i = Math.floor(rand() * IN * OUT)
        entries.push(['W', i, g.dW[i]!])
      }
      for (let i = 0; i < OUT; i++) entries.push(['b', i, g.db[i]!])
      if (softmax) {
        for (let t = 0; t < 12; t++) {
          const i = Math.floor(rand() * OUT * P)
          entries.push(['Wc', i, g.dClassifier![i]!])
        }
      }
      const scale = Math.max(maxAbs(g.dW), maxAbs(g.db), g.dClassifier ? maxAbs(g.dClassifier) : 0)
      expect(scale).toBeGreaterThan(1e-3)
      let compared = 0
      for (const [which, i, got] of entries) {
        const fd = finiteDifference(p, which, i, x, labels, m, softmax)
        if (fd === null) continue
        compared++
        // float32 kernel against a float64 reference: 1e-3 relative, plus 1e-4 of the gradient's scale.
        expect(
          Math.abs(got - fd),
          `${which}[${i}]: kernel ${got}, finite difference ${fd}`,
        ).toBeLessThanOrEqual(1e-3 * Math.abs(fd) + 1e-4 * scale)
      }
      expect(compared).toBeGreaterThanOrEqual(entries.length - 4)
    } finally {
      kernel.dispose()
    }
  })

  it('the finite-difference check is sensitive: a gradient from 2C instead of C + Cᵀ fails it', () => {
    // Rank-Triplet's C is not symmetric (row i holds query i's weights), so the two differ.
    const { x, labels, n } = randomFeatureBatch(11, P, K, IN)
    const p = asFloat64(randomParams(11 * 7 + 1, IN, OUT, 0))
    const m = metricOf('rank-triplet')
    const fw = forward(p, x, n)
    const C = m(fw.D, labels).coeff
    const wrong = new Float64Array(n * n)
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) wrong[i * n + j] = C[i * n + j]! + C[i * n + j]!
    const right = analyticGradient(p, x, n, C)
    const bad = analyticGradient(p, x, n, wrong)
    let failures = 0
    const scale = maxAbs(right.dW)
    for (let i = 0; i < IN * OUT; i++) {
      const fd = finiteDifference(p, 'W', i, x, labels, m, false)
      if (fd === null) continue
      expect(Math.abs(right.dW[i]! - fd)).toBeLessThanOrEqual(1e-3 * Math.abs(fd) + 1e-4 * scale)
      if (Math.abs(bad.dW[i]! - fd) > 1e-3 * Math.abs(fd) + 1e-4 * scale) failures++
    }
    expect(failures).toBeGreaterThan(IN * OUT * 0.5)
  })

  it.each(['rank-triplet', 'batch-hard', 'contrastive'] as const)(
    'equal the analytic gradient from C pushed through the normalisation: %s',
    (name) => {
      const { x, labels, n } = randomFeatureBatch(101, 6, 4, 32)
      const p = asFloat64(randomParams(202, 32, 24, 0))
      const m = metricOf(name)
      const kernel = new TfHeadKernel(rt, kernelState(p), SCALE)
      try {
        let C: Float64Array | null = null
        const g = kernel.gradients(
          stepInput(x, labels, m, false, (c) => {
            C = c
          }),
        )
        // The analytic gradient of Σ C_ij D_ij for the very C the kernel was handed.
        const want = analyticGradient(p, x, n, C!)
        const scale = Math.max(maxAbs(want.dW), maxAbs(want.db))
        expect(scale).toBeGreaterThan(1e-3)
        for (let i = 0; i < want.dW.length; i++)
          expect(Math.abs(g.dW[i]! - want.dW[i]!), `dW[${i}]`).toBeLessThanOrEqual(1e-4 * scale)
        for (let i = 0; i < want.db.length; i++)
          expect(Math.abs(g.db[i]! - want.db[i]!), `db[${i}]`).toBeLessThanOrEqual(1e-4 * scale)
      } finally {
        kernel.dispose()
      }
    },
  )
})

/**
 * ∂(Σ C_ij D_ij)/∂W and ∂/∂b in float64: g_f = 2 Σ_j (C + Cᵀ)_aj (f_a − f_j) (gradFromCoeff), then
 * through f = y/‖y‖: ∂/∂y = (g_f − f (f·g_f)) / ‖y‖, then ∂/∂W = xᵀ ∂/∂y, ∂/∂b = Σ_rows ∂/∂y.
 */
function analyticGradient(p: Params, x: Float32Array, n: number, C: Float64Array) {
  const { inDim, outDim } = p
  const fw = forward(p, x, n)
  const gF = gradFromCoeff(C, fw.f, n, outDim)
  const dy = new Float64Array(n * outDim)
  for (let a = 0; a < n; a++) {
    let dot = 0
    for (let k = 0; k < outDim; k++) dot += fw.f[a * outDim + k]! * gF[a * outDim + k]!
    for (let k = 0; k < outDim; k++)
      dy[a * outDim + k] = (gF[a * outDim + k]! - fw.f[a * outDim + k]! * dot) / fw.norm[a]!
  }
  const dW = new Float64Array(inDim * outDim)
  const db = new Float64Array(outDim)
  for (let a = 0; a < n; a++) {
    for (let k = 0; k < outDim; k++) {
      db[k]! += dy[a * outDim + k]!
      for (let c = 0; c < inDim; c++) dW[c * outDim + k]! += x[a * inDim + c]! * dy[a * outDim + k]!
    }
  }
  return { dW, db }
}

describe('the Adam step', () => {
  it('matches a float64 Adam with L2 weight decay on W and the classifier, not on b', () => {
    const { x, labels } = randomFeatureBatch(5, P, K, IN)
    const p = asFloat64(randomParams(6, IN, OUT, P))
    const kernel = new TfHeadKernel(rt, kernelState(p), SCALE)
    const m = metricOf('rank-triplet')
    const lr = 0.01
    const wd = 0.05
    const params = () => {
      const s = kernel.state()
      return [Float64Array.from(s.head.W), Float64Array.from(s.head.b), Float64Array.from(s.classifier!)]
    }
    try {
      let theta = params()
      const mom = theta.map((t) => new Float64Array(t.length))
      const vel = theta.map((t) => new Float64Array(t.length))
      for (let t = 1; t <= 3; t++) {
        const g = kernel.gradients(stepInput(x, labels, m, true))
        const grads = [g.dW, g.db, g.dClassifier!]
        const r = kernel.step({ ...stepInput(x, labels, m, true), lr, weightDecay: wd })
        expect(r.finite).toBe(true)
        expect(r.loss).toBeCloseTo(g.loss, 6)
        const norm = Math.sqrt(grads.reduce((s, a) => s + a.reduce((u, v) => u + v * v, 0), 0))
        expect(r.gradNorm).toBeCloseTo(norm, 4)
        const want = theta.map((th, i) => {
          const out = new Float64Array(th.length)
          for (let j = 0; j < th.length; j++) {
            const gj = grads[i]![j]! + (i === 1 ? 0 : wd * th[j]!)
            mom[i]![j] = 0.9 * mom[i]![j]! + 0.1 * gj
            vel[i]![j] = 0.999 * vel[i]![j]! + 0.001 * gj * gj
            const mh = mom[i]![j]! / (1 - 0.9 ** t)
            const vh = vel[i]![j]! / (1 - 0.999 ** t)
            out[j] = th[j]! - (lr * mh) / (Math.sqrt(vh) + 1e-8)
          }
          return out
        })
        const got = params()
        for (let i = 0; i < 3; i++)
          for (let j = 0; j < want[i]!.length; j++)
            expect(Math.abs(got[i]![j]! - want[i]![j]!), `param ${i}[${j}] at step ${t}`).toBeLessThan(
              lr * 1e-3,
            )
        theta = got
        expect(kernel.state().adamT).toBe(t)
      }
      // The moments read back are the ones the update used.
      const s = kernel.state()
      for (let i = 0; i < 3; i++) {
        expect(maxAbs(s.adamM[i]!.map((v, j) => v - mom[i]![j]!))).toBeLessThan(1e-5)
        expect(maxAbs(s.adamV[i]!.map((v, j) => v - vel[i]![j]!))).toBeLessThan(1e-7)
      }
    } finally {
      kernel.dispose()
    }
  })

  it('leaves everything untouched when the loss or a coefficient is not finite', () => {
    const { x, labels, n } = randomFeatureBatch(8, P, K, IN)
    const p = asFloat64(randomParams(9, IN, OUT, 0))
    const kernel = new TfHeadKernel(rt, kernelState(p), SCALE)
    try {
      kernel.step(stepInput(x, labels, metricOf('rank-triplet'), false))
      const before = kernel.state()
      const nanLoss: MetricLoss = (D, l) => ({ ...metricOf('rank-triplet')(D, l), loss: Number.NaN })
      const r1 = kernel.step(stepInput(x, labels, nanLoss, false))
      expect(r1.finite).toBe(false)
      expect(r1.loss).toBeNaN()
      const nanCoeff: MetricLoss = (D, l) => ({
        ...metricOf('rank-triplet')(D, l),
        coeff: new Float64Array(n * n).fill(Number.NaN),
      })
      const r2 = kernel.step(stepInput(x, labels, nanCoeff, false))
      expect(r2.finite).toBe(false)
      expect(Number.isFinite(r2.loss)).toBe(true)
      expect(kernel.state()).toEqual(before)
    } finally {
      kernel.dispose()
    }
  })

  it('continues exactly from a state read back (checkpoint round trip of the Adam moments)', () => {
    const { x, labels } = randomFeatureBatch(12, P, K, IN)
    const p = asFloat64(randomParams(13, IN, OUT, P))
    const m = metricOf('rank-triplet')
    const input = { ...stepInput(x, labels, m, true), lr: 0.01, weightDecay: 1e-3 }
    const a = new TfHeadKernel(rt, kernelState(p), SCALE)
    let b: TfHeadKernel | null = null
    try {
      for (let t = 0; t < 3; t++) a.step(input)
      b = new TfHeadKernel(rt, a.state(), SCALE)
      for (let t = 0; t < 3; t++) {
        a.step(input)
        b.step(input)
      }
      expect(b.state()).toEqual(a.state())
    } finally {
      a.dispose()
      b?.dispose()
    }
  })
})

describe('tensor memory', () => {
  it.each([
    ['the metric-loss path', 'rank-triplet', false],
    ['the softmax path', null, true],
    ['metric loss and softmax together', 'batch-hard', true],
  ] as const)('is the same after step 1 and after step 50: %s', (_what, metric, softmax) => {
    const { x, labels } = randomFeatureBatch(21, P, K, IN)
    const p = asFloat64(randomParams(22, IN, OUT, softmax ? P : 0))
    const before = rt.tf.memory()
    const kernel = new TfHeadKernel(rt, kernelState(p), SCALE)
    const input = { ...stepInput(x, labels, metric ? metricOf(metric) : null, softmax), weightDecay: 1e-3 }
    kernel.step(input)
    const after1 = { tensors: kernel.numTensors(), bytes: rt.tf.memory().numBytes }
    for (let t = 2; t <= 50; t++) expect(kernel.step(input).finite).toBe(true)
    expect({ tensors: kernel.numTensors(), bytes: rt.tf.memory().numBytes }).toEqual(after1)
    // gradients() leaves nothing behind either.
    kernel.gradients(input)
    expect({ tensors: kernel.numTensors(), bytes: rt.tf.memory().numBytes }).toEqual(after1)
    kernel.dispose()
    expect(rt.tf.memory().numTensors).toBe(before.numTensors)
    expect(rt.tf.memory().numBytes).toBe(before.numBytes)
  })

  it('embed() leaves no tensor behind', () => {
    const { x, n } = randomFeatureBatch(31, P, K, IN)
    const p = asFloat64(randomParams(32, IN, OUT, 0))
    const kernel = new TfHeadKernel(rt, kernelState(p), SCALE)
    try {
      const f = kernel.embed(x, n)
      const want = forward(p, x, n).f
      expect(maxAbs(f.map((v, i) => v - want[i]!))).toBeLessThan(1e-5)
      const live = kernel.numTensors()
      const bytes = rt.tf.memory().numBytes
      for (let t = 0; t < 5; t++) kernel.embed(x, n)
      expect({ tensors: kernel.numTensors(), bytes: rt.tf.memory().numBytes }).toEqual({
        tensors: live,
        bytes,
      })
    } finally {
      kernel.dispose()
    }
  })
})

describe('input checks', () => {
  it('refuses a batch whose size does not match its labels, and softmax without a classifier', () => {
    const { x, labels } = randomFeatureBatch(41, P, K, IN)
    const p = asFloat64(randomParams(42, IN, OUT, 0))
    const kernel = new TfHeadKernel(rt, kernelState(p), SCALE)
    try {
      const live = kernel.numTensors()
      expect(() => kernel.step(stepInput(x.subarray(IN), labels, metricOf('rank-triplet'), false))).toThrow(
        /batch has \d+ values; 12 rows of 16 expected/,
      )
      expect(() => kernel.step(stepInput(x, labels, null, true))).toThrow(/without a softmax classifier/)
      expect(kernel.numTensors()).toBe(live)
    } finally {
      kernel.dispose()
    }
  })
})
