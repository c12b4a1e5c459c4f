/**
 * One training step of the projection head on TensorFlow.js (any backend), with the backward pass
 * written out by hand rather than taken from tfjs's autodiff, for two reasons: the loss gradient
 * with respect to the distance matrix is the ranking core's coefficient matrix C (DESIGN.md §4.7),
 * computed on the CPU, and the wasm backend runs a matrix product with a transposed operand ~13×
 * slower (PERFORMANCE.md), so the step only multiplies untransposed operands (x's transpose is
 * built on the CPU along with the batch).
 *
 * Forward: y = x·W + b, f = y / ‖y‖, D_ij = ‖f_i − f_j‖² = 2 − 2 f_i·f_j.
 * Metric loss L = Σ C_ij D_ij + const: ∂L/∂f_a = 2 (Σ_j S_aj f_a − Σ_j S_aj f_j), S = C + Cᵀ.
 * Softmax (cross-entropy of s·f·Wc): ∂/∂logits = (softmax − onehot)/n.
 * Through the normalisation: ∂L/∂y = (g − f (f·g)) / ‖y‖. Then ∂L/∂W = xᵀ·∂L/∂y (+ wd·W), ∂L/∂b = Σ rows.
 * Adam (Kingma & Ba) with L2 weight decay added to the gradient (PyTorch's Adam `weight_decay`).
 */
import type { Tensor, Tensor2D } from '@tensorflow/tfjs-core'
import type { HeadWeights } from '../../training/head'
import type { TfBackendName, TfRuntime } from './backend'

/** Everything a checkpoint needs to continue training exactly. */
export interface HeadTrainState {
  head: HeadWeights
  /** Softmax classifier outDim × classes, row-major; null when the loss has no softmax term. */
  classifier: Float32Array | null
  classes: number
  /** Adam step count and moments, in the order W, b, classifier. */
  adamT: number
  adamM: Float32Array[]
  adamV: Float32Array[]
}

export interface StepInput {
  /** n × inDim backbone features of the batch. */
  x: Float32Array
  /** Class index 0..classes−1 of each row. */
  labels: Int32Array
  /** The ranking core's loss on the batch's distance matrix; null for softmax only. */
  metricLoss: ((D: Float32Array, labels: Int32Array) => { loss: number; coeff: Float64Array }) | null
  softmax: boolean
  lr: number
  weightDecay: number
}

export interface StepResult {
  /** Total loss (metric + cross-entropy) before the update. */
  loss: number
  crossEntropy: number
  /** The batch's squared distances before the update (n × n): the online metrics are read from it. */
  D: Float32Array
  /** ‖∂L/∂θ‖ over all parameters (without weight decay). */
  gradNorm: number
  /** False when the loss or a gradient was not finite: then nothing was updated. */
  finite: boolean
}

export interface HeadGradients {
  loss: number
  dW: Float32Array
  db: Float32Array
  dClassifier: Float32Array | null
}

const BETA1 = 0.9
const BETA2 = 0.999
const EPS = 1e-8

export class TfHeadKernel {
  readonly backend: TfBackendName
  readonly inDim: number
  readonly outDim: number
  readonly classes: number
  private W: Tensor2D
  private b: Tensor
  private Wc: Tensor2D | null
  private m: Tensor[]
  private v: Tensor[]
  private t: number

  /**
   * @param scale the softmax logits' scale s (cosine classifier on the unit-norm embeddings)
   */
  constructor(
    private readonly rt: TfRuntime,
    state: HeadTrainState,
    private readonly scale = 16,
  ) {
    const { tf } = rt
    const { head } = state
    this.backend = rt.backend
    this.inDim = head.inDim
    this.outDim = head.outDim
    this.classes = state.classes
    this.W = tf.tensor2d(head.W, [head.inDim, head.outDim])
    this.b = tf.tensor1d(head.b)
    this.Wc = state.classifier ? tf.tensor2d(state.classifier, [head.outDim, state.classes]) : null
    const shapes = this.params().map((p) => p.shape)
    const load = (arrs: Float32Array[]) =>
      shapes.map((s, i) => (arrs[i] ? tf.tensor(arrs[i], s) : tf.zeros(s)))
    this.m = load(state.adamM)
    this.v = load(state.adamV)
    this.t = state.adamT
  }

  private params(): Tensor[] {
    return this.Wc ? [this.W, this.b, this.Wc] : [this.W, this.b]
  }

  /** Live tensors of the whole process (a step must leave this unchanged). */
  numTensors(): number {
    return this.rt.tf.memory().numTensors
  }

  /** The head's embeddings of `rows` feature rows (forward only). */
  embed(x: Float32Array, rows: number): Float32Array {
    const { tf } = this.rt
    const f = tf.tidy(() => {
      const y = tf.add(tf.matMul(tf.tensor2d(x, [rows, this.inDim]), this.W), this.b)
      return tf.div(y, tf.maximum(tf.norm(y, 2, 1, true), 1e-12))
    })
    try {
      return f.dataSync() as Float32Array
    } finally {
      f.dispose()
    }
  }

  /** Loss and gradients of one batch, without updating anything (tests compare them with finite differences). */
  gradients(input: StepInput): HeadGradients {
    const { tf } = this.rt
    const g = this.backward(input)
    try {
      return {
        loss: g.loss,
        dW: g.grads[0]!.dataSync() as Float32Array,
        db: g.grads[1]!.dataSync() as Float32Array,
        dClassifier: g.grads[2] ? (g.grads[2].dataSync() as Float32Array) : null,
      }
    } finally {
      tf.dispose(g.grads)
    }
  }

  /** One Adam step on a batch. Leaves the parameters untouched when anything is not finite. */
  step(input: StepInput): StepResult {
    const { tf } = this.rt
    const g = this.backward(input)
    try {
      const gradNorm = Math.sqrt(
        tf.tidy(() => tf.addN(g.grads.map((d) => tf.sum(tf.square(d)))).dataSync()[0]!),
      )
      const finite = Number.isFinite(g.loss) && Number.isFinite(gradNorm)
      if (finite) this.adam(g.grads, input.lr, input.weightDecay)
      return { loss: g.loss, crossEntropy: g.ce, D: g.D, gradNorm, finite }
    } finally {
      tf.dispose(g.grads)
    }
  }

  private backward(input: StepInput): { loss: number; ce: number; D: Float32Array; grads: Tensor[] } {
    const { tf } = this.rt
    const { x, labels } = input
    const n = labels.length
    const { inDim } = this
    if (x.length !== n * inDim)
      throw new RangeError(`batch has ${x.length} values; ${n} rows of ${inDim} expected`)
    if (input.softmax && !this.Wc) throw new Error('this head was set up without a softmax classifier')
    const xt = new Float32Array(inDim * n)
    for (let i = 0; i < n; i++) for (let k = 0; k < inDim; k++) xt[k * n + i] = x[i * inDim + k]!

    const fwd = tf.tidy(() => {
      const y = tf.add(tf.matMul(tf.tensor2d(x, [n, inDim]), this.W), this.b)
      const norm = tf.maximum(tf.norm(y, 2, 1, true), 1e-12)
      const f = tf.div(y, norm) as Tensor2D
      const D = tf.sub(2, tf.mul(2, tf.matMul(f, tf.transpose(f))))
      return { norm, f, D }
    })
    try {
      const D = fwd.D.dataSync() as Float32Array
      let loss = 0
      let coeff: Float64Array | null = null
      if (input.metricLoss) {
        const r = input.metricLoss(D, labels)
        loss = r.loss
        coeff = r.coeff
      }
      let ce = 0
      const grads = tf.tidy(() => {
        const { f, norm } = fwd
        let gF: Tensor = tf.zerosLike(f)
        if (coeff) {
          const C = tf.tensor2d(Float32Array.from(coeff), [n, n])
          const S = tf.add(C, tf.transpose(C))
          gF = tf.mul(2, tf.sub(tf.mul(tf.sum(S, 1, true), f), tf.matMul(S, f)))
        }
        let dWc: Tensor | null = null
        if (input.softmax && this.Wc) {
          const logits = tf.mul(this.scale, tf.matMul(f, this.Wc))
          const logp = tf.logSoftmax(logits)
          const onehot = tf.oneHot(tf.tensor1d(labels, 'int32'), this.classes)
          ce = -tf.sum(tf.mul(onehot, logp)).dataSync()[0]! / n
          const dLogits = tf.div(tf.sub(tf.exp(logp), onehot), n)
          dWc = tf.mul(this.scale, tf.matMul(tf.transpose(f), dLogits))
          gF = tf.add(gF, tf.mul(this.scale, tf.matMul(dLogits, tf.transpose(this.Wc))))
        }
        const dy = tf.div(tf.sub(gF, tf.mul(f, tf.sum(tf.mul(f, gF), 1, true))), norm)
        const dW = tf.matMul(tf.tensor2d(xt, [inDim, n]), dy)
        const db = tf.sum(dy, 0)
        return dWc ? [dW, db, dWc] : [dW, db]
      })
      return { loss: loss + ce, ce, D, grads }
    } finally {
      tf.dispose([fwd.norm, fwd.f, fwd.D])
    }
  }

  private adam(grads: Tensor[], lr: number, wd: number): void {
    const { tf } = this.rt
    this.t += 1
    const c1 = 1 - BETA1 ** this.t
    const c2 = 1 - BETA2 ** this.t
    const params = this.params()
    const next = tf.tidy(() =>
      params.map((p, i) => {
        // Weight decay on the weight matrices, not on the bias.
        const g = wd > 0 && i !== 1 ? tf.add(grads[i]!, tf.mul(wd, p)) : grads[i]!
        const m = tf.add(tf.mul(BETA1, this.m[i]!), tf.mul(1 - BETA1, g))
        const v = tf.add(tf.mul(BETA2, this.v[i]!), tf.mul(1 - BETA2, tf.square(g)))
        const upd = tf.div(tf.mul(lr / c1, m), tf.add(tf.sqrt(tf.div(v, c2)), EPS))
        return { p: tf.sub(p, upd), m, v }
      }),
    )
    tf.dispose([...params, ...this.m, ...this.v])
    this.W = next[0]!.p as Tensor2D
    this.b = next[1]!.p
    if (this.Wc) this.Wc = next[2]!.p as Tensor2D
    this.m = next.map((s) => s.m)
    this.v = next.map((s) => s.v)
  }

  /** Reads the whole state back (for checkpoints and the final model). */
  state(): HeadTrainState {
    const read = (t: Tensor) => Float32Array.from(t.dataSync() as Float32Array)
    return {
      head: { inDim: this.inDim, outDim: this.outDim, W: read(this.W), b: read(this.b) },
      classifier: this.Wc ? read(this.Wc) : null,
      classes: this.classes,
      adamT: this.t,
      adamM: this.m.map(read),
      adamV: this.v.map(read),
    }
  }

  dispose(): void {
    this.rt.tf.dispose([...this.params(), ...this.m, ...this.v])
  }
}
