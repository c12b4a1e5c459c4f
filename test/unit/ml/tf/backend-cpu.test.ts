/**
 * The probe with LINEUP_TF_BACKEND forcing one backend, in a process of its own (vitest isolates
 * files; one backend per process): unavailable native backends fail with their reason, then the
 * plain JavaScript CPU backend runs, and the head kernel's gradients are right on it too.
 */
import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { loadTf, type TfRuntime } from '../../../../src-main/engine/ml/tf/backend'
import { TfHeadKernel } from '../../../../src-main/engine/ml/tf/head-kernel'
import { getLoss } from '../../../../src-main/engine/ranking/registry'
import { asFloat64, kernelState, randomFeatureBatch, randomParams, totalLoss } from './reference'

const require = createRequire(import.meta.url)
const resolvable = (pkg: string) => {
  try {
    require.resolve(pkg)
    return true
  } catch {
    return false
  }
}

describe('LINEUP_TF_BACKEND forces one backend', () => {
  it('a native backend that cannot run is an error naming why, and leaves the process free to load another', async () => {
    for (const name of ['tfjs-node', 'tfjs-node-gpu'] as const) {
      const pkg = `@tensorflow/${name}`
      if (resolvable(pkg)) {
        // Installed: it either loads (then this file cannot go on to test cpu) or says why not.
        let rt: TfRuntime | null = null
        let err: unknown = null
        await loadTf(name).then(
          (r) => (rt = r),
          (e: unknown) => (err = e),
        )
        expect(rt, `${name} loaded here; this test assumes it cannot`).toBeNull()
        expect((err as Error).message).toMatch(
          new RegExp(`^no TensorFlow.js backend could run: ${name}: installed but cannot load: \\S`),
        )
      } else {
        await expect(loadTf(name)).rejects.toThrow(
          `no TensorFlow.js backend could run: ${name}: not installed`,
        )
      }
    }
  })

  it('LINEUP_TF_BACKEND=cpu runs the CPU backend and tries nothing else', async () => {
    process.env.LINEUP_TF_BACKEND = 'cpu'
    try {
      const rt = await loadTf()
      expect(rt.backend).toBe('cpu')
      expect(rt.attempts).toEqual([{ name: 'cpu', ok: true }])
      expect(rt.tf.getBackend()).toBe('cpu')
      await expect(loadTf('wasm')).rejects.toThrow(
        /already runs on cpu in this process; cannot switch to wasm/,
      )
      expect(await loadTf('auto')).toBe(rt)
    } finally {
      delete process.env.LINEUP_TF_BACKEND
    }
  })

  it('the kernel gradient on cpu equals the one from the float64 reference by finite differences', async () => {
    const rt = await loadTf('cpu')
    const { x, labels } = randomFeatureBatch(3, 4, 3, 16)
    const p = asFloat64(randomParams(4, 16, 8, 4))
    const rank = getLoss('rank-triplet')
    const metric = (D: Float32Array | Float64Array, l: Int32Array) => rank(D, l, { margin: 0.3 })
    const kernel = new TfHeadKernel(rt, kernelState(p), 16)
    try {
      const g = kernel.gradients({ x, labels, metricLoss: metric, softmax: true, lr: 1e-3, weightDecay: 0 })
      const eps = 1e-6
      let scale = 0
      for (const v of g.dW) scale = Math.max(scale, Math.abs(v))
      let compared = 0
      for (let i = 0; i < p.W.length; i += 5) {
        const at = (delta: number) => {
          const W = p.W.slice()
          W[i]! += delta
          return totalLoss({ ...p, W }, x, labels, metric, true, 16)
        }
        const plus = at(eps)
        const minus = at(-eps)
        if (plus.coeff!.some((v, j) => v !== minus.coeff![j])) continue
        compared++
        const fd = (plus.loss - minus.loss) / (2 * eps)
        expect(Math.abs(g.dW[i]! - fd), `W[${i}]`).toBeLessThanOrEqual(1e-3 * Math.abs(fd) + 1e-4 * scale)
      }
      expect(compared).toBeGreaterThan(20)
    } finally {
      kernel.dispose()
    }
  })
})
