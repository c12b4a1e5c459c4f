/**
 * TensorFlow.js, loaded once with the best backend this machine can run (issue #5): tried in the
 * order @tensorflow/tfjs-node-gpu (native TensorFlow with CUDA), @tensorflow/tfjs-node (native
 * TensorFlow on the CPU), the WebAssembly backend, the plain JavaScript CPU backend. Every attempt
 * is reported with why it did not run ("tfjs-node-gpu: not installed"). This folder is the only
 * importer of TensorFlow.js (eslint layer rule).
 *
 * The native packages download libtensorflow when installed, which needs the internet (and, for
 * the GPU one, CUDA and cuDNN); docs/TRAINING.md says how a user installs them. The wasm backend
 * ships inside its npm package and runs single-threaded in Node.
 */
import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import '@tensorflow/tfjs-backend-cpu'
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm'

export type Tf = typeof tf
export const tfBackendNames = ['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'] as const
export type TfBackendName = (typeof tfBackendNames)[number]

export interface BackendAttempt {
  name: TfBackendName
  ok: boolean
  /** Why it did not run (absent when it did). */
  reason?: string
}

export interface TfRuntime {
  tf: Tf
  /** The backend every tensor of this process runs on. */
  backend: TfBackendName
  /** Each backend tried, in order, up to and including the one that runs. */
  attempts: BackendAttempt[]
}

const require = createRequire(import.meta.url)
/** The tfjs backend names the packages register. */
const registered: Record<TfBackendName, string> = {
  'tfjs-node-gpu': 'tensorflow',
  'tfjs-node': 'tensorflow',
  wasm: 'wasm',
  cpu: 'cpu',
}

let loading: Promise<TfRuntime> | null = null
let loadedWith: TfBackendName | 'auto' | null = null

/**
 * Loads TensorFlow.js with the first backend that works, or only `only` when given (the
 * LINEUP_TF_BACKEND environment variable sets it too, e.g. to time each backend). One backend per
 * process: asking again for another one is an error.
 *
 * @throws Error when `only` is given and that backend cannot run, naming why
 */
export function loadTf(only: TfBackendName | 'auto' = backendFromEnv()): Promise<TfRuntime> {
  if (loading) {
    if (loadedWith !== only && only !== 'auto')
      return loading.then((rt) => {
        if (rt.backend !== only)
          throw new Error(
            `TensorFlow.js already runs on ${rt.backend} in this process; cannot switch to ${only}`,
          )
        return rt
      })
    return loading
  }
  loadedWith = only
  loading = probe(only)
  loading.catch(() => {
    loading = null
    loadedWith = null
  })
  return loading
}

/** LINEUP_TF_BACKEND (tfjs-node-gpu | tfjs-node | wasm | cpu | auto), default auto. */
export function backendFromEnv(env: NodeJS.ProcessEnv = process.env): TfBackendName | 'auto' {
  const v = env.LINEUP_TF_BACKEND?.trim()
  if (!v || v === 'auto') return 'auto'
  if ((tfBackendNames as readonly string[]).includes(v)) return v as TfBackendName
  throw new Error(`LINEUP_TF_BACKEND must be one of auto, ${tfBackendNames.join(', ')} (got "${v}")`)
}

async function probe(only: TfBackendName | 'auto'): Promise<TfRuntime> {
  // No console banners (they would mix into --json output); no per-op NaN checks.
  tf.env().set('PROD', true)
  const attempts: BackendAttempt[] = []
  const order = only === 'auto' ? tfBackendNames : [only]
  for (const name of order) {
    const reason = await tryBackend(name)
    attempts.push(reason === null ? { name, ok: true } : { name, ok: false, reason })
    if (reason === null) return { tf, backend: name, attempts }
  }
  throw new Error(
    `no TensorFlow.js backend could run: ${attempts.map((a) => `${a.name}: ${a.reason}`).join('; ')}`,
  )
}

/** null when the backend runs a small matrix product correctly, else the reason it does not. */
async function tryBackend(name: TfBackendName): Promise<string | null> {
  try {
    if (name === 'tfjs-node-gpu' || name === 'tfjs-node') {
      const pkg = `@tensorflow/${name}`
      try {
        require.resolve(pkg)
      } catch {
        return 'not installed'
      }
      try {
        require(pkg)
      } catch (err) {
        return `installed but cannot load: ${firstLine(err)}`
      }
    } else if (name === 'wasm') {
      const dir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'))
      setWasmPaths(`${dir}/`)
    }
    if (!(await tf.setBackend(registered[name]))) return 'failed to initialise'
    await tf.ready()
    const ok = tf.tidy(() => {
      const v = tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([1, 0, 0, 1], [2, 2])).dataSync()
      return v[0] === 1 && v[3] === 4
    })
    return ok ? null : 'returned wrong results on a test product'
  } catch (err) {
    return firstLine(err)
  }
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err)
  return msg.trim().split('\n')[0]!.slice(0, 200)
}

/** "wasm (tfjs-node-gpu: not installed; tfjs-node: not installed)" for logs and reports. */
export function describeRuntime(rt: TfRuntime): string {
  const failed = rt.attempts.filter((a) => !a.ok)
  return failed.length === 0
    ? rt.backend
    : `${rt.backend} (${failed.map((a) => `${a.name}: ${a.reason}`).join('; ')})`
}
