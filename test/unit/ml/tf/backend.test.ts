/**
 * The TensorFlow.js backend probe (src-main/engine/ml/tf/backend.ts) in auto mode. On this machine
 * tfjs-node-gpu is installed without its native addon and tfjs-node is absent, so wasm runs; the
 * assertions hold on a machine where a native backend really loads too.
 */
import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import {
  backendFromEnv,
  describeRuntime,
  loadTf,
  tfBackendNames,
} from '../../../../src-main/engine/ml/tf/backend'

const require = createRequire(import.meta.url)
const resolvable = (pkg: string) => {
  try {
    require.resolve(pkg)
    return true
  } catch {
    return false
  }
}

describe('loadTf (auto)', () => {
  it('tries the backends in order and reports why each one before the running one did not run', async () => {
    delete process.env.LINEUP_TF_BACKEND
    const rt = await loadTf()
    const names = rt.attempts.map((a) => a.name)
    // A prefix of the fixed order, ending with the backend that runs.
    expect(names).toEqual(tfBackendNames.slice(0, names.length))
    expect(names.at(-1)).toBe(rt.backend)
    expect(rt.attempts.at(-1)).toEqual({ name: rt.backend, ok: true })
    for (const a of rt.attempts.slice(0, -1)) {
      expect(a.ok).toBe(false)
      expect(typeof a.reason).toBe('string')
      expect(a.reason!.trim().length).toBeGreaterThan(0)
    }
    // What this machine has: a package that is not there is reported as such.
    for (const a of rt.attempts.slice(0, -1)) {
      if (!resolvable(`@tensorflow/${a.name}`)) expect(a.reason).toBe('not installed')
      else expect(a.reason).toMatch(/^installed but cannot load: \S/)
    }
    // Without a native backend it is wasm (packaged, and it runs in Node), never the slower cpu.
    if (rt.backend !== 'tfjs-node-gpu' && rt.backend !== 'tfjs-node') expect(rt.backend).toBe('wasm')
    const registered = { 'tfjs-node-gpu': 'tensorflow', 'tfjs-node': 'tensorflow', wasm: 'wasm', cpu: 'cpu' }
    expect(rt.tf.getBackend()).toBe(registered[rt.backend])
    // It computes.
    const v = rt.tf.tidy(() => rt.tf.add(rt.tf.tensor1d([1, 2]), rt.tf.tensor1d([3, 4])).dataSync())
    expect([...v]).toEqual([4, 6])
    // The description names the failed ones and their reasons.
    const d = describeRuntime(rt)
    expect(d.startsWith(rt.backend)).toBe(true)
    for (const a of rt.attempts.slice(0, -1)) expect(d).toContain(`${a.name}: ${a.reason}`)
  })

  it('loads once per process: the same runtime again, and no switching to another backend', async () => {
    const rt = await loadTf()
    expect(await loadTf()).toBe(rt)
    expect(await loadTf('auto')).toBe(rt)
    expect(await loadTf(rt.backend)).toBe(rt)
    const other = rt.backend === 'cpu' ? 'wasm' : 'cpu'
    await expect(loadTf(other)).rejects.toThrow(
      `TensorFlow.js already runs on ${rt.backend} in this process; cannot switch to ${other}`,
    )
    // Still usable after the refused switch.
    expect(await loadTf()).toBe(rt)
    expect(rt.tf.getBackend()).not.toBe(other)
  })

  it('an unknown LINEUP_TF_BACKEND is an error naming the allowed values', () => {
    const allowed = /must be one of auto, tfjs-node-gpu, tfjs-node, wasm, cpu \(got "bogus"\)/
    expect(() => backendFromEnv({ LINEUP_TF_BACKEND: 'bogus' })).toThrow(allowed)
    const saved = process.env.LINEUP_TF_BACKEND
    process.env.LINEUP_TF_BACKEND = 'bogus'
    try {
      expect(() => loadTf()).toThrow(allowed)
    } finally {
      if (saved === undefined) delete process.env.LINEUP_TF_BACKEND
      else process.env.LINEUP_TF_BACKEND = saved
    }
  })

  it('reads LINEUP_TF_BACKEND: unset, empty or auto is auto; a name is that backend', () => {
    expect(backendFromEnv({})).toBe('auto')
    expect(backendFromEnv({ LINEUP_TF_BACKEND: '' })).toBe('auto')
    expect(backendFromEnv({ LINEUP_TF_BACKEND: 'auto' })).toBe('auto')
    for (const n of tfBackendNames) expect(backendFromEnv({ LINEUP_TF_BACKEND: ` ${n} ` })).toBe(n)
    expect(() => backendFromEnv({ LINEUP_TF_BACKEND: 'WASM' })).toThrow(/got "WASM"/)
  })
})
