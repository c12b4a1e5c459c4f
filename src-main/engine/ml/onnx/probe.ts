/**
 * Model probe (issue 4: "a broken model file must never take the app down: load and probe it in a
 * child process"). The file is read and inspected here in plain JavaScript (inspect.ts); only then
 * is onnxruntime allowed near it, in a child process (probe-child.ts) that loads it and runs one
 * batch of synthetic images. A crash, a hang (timeout) or a wrong output is reported as a
 * LineupError; this process never loads the model.
 *
 * The child runs from TypeScript source through tsx (CLI, vitest), or as the bundled
 * `probe-child.js` beside the main bundle (electron.vite.config.ts), as jobs/spawn.ts does for workers.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { LineupError } from '../../../../src-shared/errors'
import { inspectModel, type ExpectedModel, type InspectedModel } from './inspect'
import type { ProbeReply, ProbeRequest } from './probe-protocol'

export interface ProbeOptions {
  /** Kill the child and fail after this long; default 60 s (loading a 100 MB model takes a few). */
  timeoutMs?: number
  /** Intra-op threads in the child; default 1 (the probe is tiny). */
  threads?: number
  /** Called with the child's pid once it starts (job records, tests). */
  onChild?: (pid: number) => void
}

export interface ProbeResult {
  /** What inspectModel found. */
  model: InspectedModel
  /** SHA-256 of the file, hex: the model's identity in the library. */
  sha256: string
  bytes: number
  /** [H, W] the probe ran at. */
  inputSize: [number, number]
  /** Images in the probe batch (2, or the model's fixed batch size). */
  batch: number
  /** Embedding length measured on the probe output. */
  outputDim: number
  loadMs: number
  runMs: number
  provider: string
}

/**
 * Reads, inspects and test-runs a model in a child process.
 *
 * @param path the .onnx file
 * @param expected input/output names and [H, W], as configured
 * @throws LineupError: 'not-found' / 'io' for the file, 'invalid-input' for anything wrong with
 *   the model (inspection, load, crash, timeout, output shape, NaN output)
 */
export async function probeModel(
  path: string,
  expected: ExpectedModel = {},
  options: ProbeOptions = {},
): Promise<ProbeResult> {
  const bytes = readModelFile(path)
  const model = inspectModel(bytes, expected, path)
  const inputSize = expected.inputSize ?? model.fixedSize
  if (!inputSize) {
    throw new LineupError(
      'invalid-input',
      `${path}: input '${model.inputName}' does not fix its height and width [${model.inputShape.join(', ')}]; give the input size (e.g. --input-size 256x128)`,
    )
  }
  const batch = model.fixedBatch ?? 2
  const reply = await runChild(
    {
      path: resolve(path),
      inputName: model.inputName,
      outputName: model.outputName,
      shape: [batch, 3, inputSize[0], inputSize[1]],
      threads: options.threads ?? 1,
    },
    options,
    path,
  )
  if (!reply.ok) throw new LineupError('invalid-input', `${path}: ${reply.message}`)
  if (reply.rows !== batch) {
    throw new LineupError(
      'invalid-input',
      `${path}: output '${model.outputName}' gave ${reply.rows} rows for ${batch} images; expected one embedding per image`,
    )
  }
  if (model.outputDim !== null && reply.dim !== model.outputDim) {
    throw new LineupError(
      'invalid-input',
      `${path}: output '${model.outputName}' declares ${model.outputDim} values per image but gave ${reply.dim}`,
    )
  }
  if (reply.nonFinite > 0) {
    throw new LineupError(
      'invalid-input',
      `${path}: the probe batch gave ${reply.nonFinite} NaN or infinite values in output '${model.outputName}'; the model is broken or exported wrongly`,
    )
  }
  return {
    model,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    bytes: bytes.length,
    inputSize: [inputSize[0], inputSize[1]],
    batch,
    outputDim: reply.dim,
    loadMs: reply.loadMs,
    runMs: reply.runMs,
    provider: reply.provider,
  }
}

/**
 * Reads a model file whole.
 *
 * @throws LineupError 'not-found' when it does not exist, 'io' when it cannot be read
 */
export function readModelFile(path: string): Uint8Array {
  try {
    return readFileSync(path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new LineupError('not-found', `model file not found: ${path}`)
    if (code === 'EISDIR') throw new LineupError('invalid-input', `${path} is a folder; give the .onnx file`)
    throw new LineupError('io', `cannot read the model file ${path}: ${(err as Error).message}`)
  }
}

const TAIL = 2000

function runChild(request: ProbeRequest, options: ProbeOptions, label: string): Promise<ProbeReply> {
  const timeoutMs = options.timeoutMs ?? 60_000
  return new Promise((resolvePromise, reject) => {
    let child: ChildProcess
    try {
      child = forkProbe()
    } catch (err) {
      reject(new LineupError('internal', `cannot start the model probe: ${(err as Error).message}`))
      return
    }
    let settled = false
    let stderr = ''
    const finish = (fn: () => void): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      fn()
    }
    const fail = (why: string): void =>
      finish(() => {
        const tail = stderr.trim().split('\n').slice(-3).join(' | ')
        reject(
          new LineupError('invalid-input', `${label}: ${why}${tail ? ` (onnxruntime said: ${tail})` : ''}`),
        )
      })
    const timer = setTimeout(
      () =>
        fail(
          `loading and running the model took longer than ${timeoutMs < 1000 ? `${timeoutMs} ms` : `${Math.round(timeoutMs / 1000)} s`}; gave up`,
        ),
      timeoutMs,
    )
    child.stderr?.setEncoding('utf8').on('data', (s: string) => {
      stderr = (stderr + s).slice(-TAIL)
    })
    child.on('message', (reply: ProbeReply) => finish(() => resolvePromise(reply)))
    child.on('error', (err) => fail(`the probe process failed: ${err.message}`))
    child.on('close', (code, signal) =>
      fail(
        `the model crashed onnxruntime while loading or running (probe process ${signal ? `killed by ${signal}` : `exited with code ${code}`})`,
      ),
    )
    if (child.pid !== undefined) options.onChild?.(child.pid)
    child.send(request)
  })
}

function forkProbe(): ChildProcess {
  const here = fileURLToPath(import.meta.url)
  const dir = dirname(here)
  const stdio: ['ignore', 'ignore', 'pipe', 'ipc'] = ['ignore', 'ignore', 'pipe', 'ipc']
  if (here.endsWith('.ts')) {
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
    return fork(join(dir, 'probe-child.ts'), [], { execArgv: ['--import', tsx], stdio })
  }
  // Bundled: this code may sit in a shared chunk (out/main/chunks/) one level below the entries.
  const file = [dir, dirname(dir)].map((d) => join(d, 'probe-child.js')).find((f) => existsSync(f))
  if (!file) throw new Error(`probe-child.js not found near ${dir}; rebuild with npm run build`)
  // Under Electron, process.execPath is the Electron binary: run it as plain Node.
  return fork(file, [], { execArgv: [], stdio, env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } })
}
