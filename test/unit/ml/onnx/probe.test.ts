import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { LineupError } from '../../../../src-shared/errors'
import { buildEmbedder, buildIdentity, buildPooled } from '../../../../src-main/engine/ml/onnx/build-model'
import { probeModel, type ProbeOptions } from '../../../../src-main/engine/ml/onnx/probe'
import type { ExpectedModel } from '../../../../src-main/engine/ml/onnx/inspect'
import { sharedDir } from '../../../helpers/paths'
import { tempDir } from '../../../helpers/tmp'

const tmp = tempDir('lineup-probe-')
afterAll(() => tmp.dispose())
const osnetPath = resolve(sharedDir, 'models/osnet_x0_25_msmt17/osnet_x0_25_msmt17.onnx')
const hasOsnet = existsSync(osnetPath)
if (!hasOsnet) console.warn(`[skipped] OSNet probe tests: ${osnetPath} is absent.`)

function file(name: string, bytes: Uint8Array | string): string {
  const path = join(tmp.path, name)
  writeFileSync(path, bytes)
  return path
}

/** Probes and returns the LineupError, recording whether a child process was started. */
async function probeError(path: string, expected: ExpectedModel = {}, options: ProbeOptions = {}) {
  let children = 0
  const err = await probeModel(path, expected, {
    ...options,
    onChild: (pid) => {
      children++
      options.onChild?.(pid)
    },
  }).then(
    () => null,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(LineupError)
  return { error: err as LineupError, children }
}

describe('probeModel: malformed models are refused before onnxruntime sees them', () => {
  it.skipIf(!hasOsnet)('a truncated .onnx (the first half of the real OSNet file)', async () => {
    const bytes = readFileSync(osnetPath)
    const path = file('half.onnx', bytes.subarray(0, bytes.length >> 1))
    const { error, children } = await probeError(path)
    expect(error.kind).toBe('invalid-input')
    expect(error.message).toMatch(/half\.onnx is truncated \(460,808 bytes/)
    expect(children).toBe(0)
  })

  it('a text file named .onnx', async () => {
    const { error, children } = await probeError(
      file('readme.onnx', 'Download the model from the link below.\n'),
    )
    expect(error.message).toMatch(
      /readme\.onnx is not an ONNX model \(it looks like a text file: "Download the model/,
    )
    expect(children).toBe(0)
  })

  it('a model with the wrong input rank', async () => {
    const { error } = await probeError(file('rank3.onnx', buildIdentity({ name: 'x', dims: ['n', 3, 64] })))
    expect(error.message).toMatch(
      /input 'x' has rank 3 \[n, 3, 64\]; Lineup expects \[batch, 3, H, W\] float32 images/,
    )
  })

  it('a model with external data tensors', async () => {
    const { error } = await probeError(file('external.onnx', buildEmbedder({ externalWeights: true })))
    expect(error.message).toMatch(
      /uses external data tensors \('W'\); export with all weights inside the \.onnx file/,
    )
  })

  it('input and output names that do not exist', async () => {
    const path = file('named.onnx', buildEmbedder())
    expect((await probeError(path, { input: 'input' })).error.message).toMatch(
      /has no input named 'input'; its inputs: 'images'/,
    )
    expect((await probeError(path, { output: 'features' })).error.message).toMatch(
      /has no output named 'features'; its outputs: 'output'/,
    )
  })

  it('a file that does not exist, and a folder', async () => {
    const missing = await probeError(join(tmp.path, 'nowhere.onnx'))
    expect(missing.error.kind).toBe('not-found')
    expect(missing.error.message).toMatch(/model file not found: .*nowhere\.onnx/)
    expect((await probeError(tmp.path)).error.message).toMatch(/is a folder; give the \.onnx file/)
  })
})

describe('probeModel: the test run happens in a child process', () => {
  it('runs a good tiny model and reports its embedding size, hash and timing', async () => {
    const bytes = buildEmbedder({ inputDims: ['batch', 3, 16, 8], dim: 12 })
    const path = file('tiny.onnx', bytes)
    const pids: number[] = []
    const r = await probeModel(path, {}, { onChild: (pid) => pids.push(pid) })
    expect(pids).toHaveLength(1)
    expect(pids[0]).not.toBe(process.pid)
    expect(r).toMatchObject({
      outputDim: 12,
      batch: 2,
      inputSize: [16, 8],
      bytes: bytes.length,
      provider: 'cpu',
    })
    expect(r.sha256).toMatch(/^[0-9a-f]{64}$/)
    expect(r.loadMs).toBeGreaterThan(0)
    expect(r.runMs).toBeGreaterThan(0)
  })

  it.skipIf(!hasOsnet)('runs the real OSNet model: 512-d', async () => {
    const copy = join(tmp.path, 'osnet.onnx')
    copyFileSync(osnetPath, copy)
    const r = await probeModel(copy)
    expect(r.outputDim).toBe(512)
    expect(r.sha256).toBe('61b2604171ef9d58d21758626f83b35a253c3d7123976523a6e03068c3c95d7b')
  })

  it('reports a model whose output is NaN', async () => {
    const { error } = await probeError(file('nan.onnx', buildEmbedder({ nanWeights: true })))
    expect(error.message).toMatch(/the probe batch gave \d+ NaN or infinite values in output 'output'/)
  })

  it('reports a model onnxruntime cannot load (valid protobuf, unknown operator)', async () => {
    const bytes = buildEmbedder()
    // Same length, so the protobuf stays valid: Gemm becomes an operator that does not exist.
    const patched = Buffer.from(bytes)
    const at = patched.indexOf('Gemm')
    patched.write('Gxmm', at)
    const { error, children } = await probeError(file('unknown-op.onnx', patched))
    expect(children).toBe(1)
    expect(error.message).toMatch(/unknown-op\.onnx: onnxruntime cannot load the model: .*Gxmm/)
  })

  it('reports a probe process that dies (killed here, as a crash would end it), without throwing a stack', async () => {
    const path = file('killed.onnx', buildEmbedder())
    const { error } = await probeError(path, {}, { onChild: (pid) => process.kill(pid, 'SIGKILL') })
    expect(error.kind).toBe('invalid-input')
    expect(error.message).toMatch(
      /killed\.onnx: the model crashed onnxruntime while loading or running \(probe process killed by SIGKILL\)/,
    )
    expect(error.message).not.toMatch(/\n\s+at /)
  })

  it('gives up on a probe that takes longer than the timeout, and ends the child', async () => {
    const path = file('slow.onnx', buildEmbedder())
    let pid = 0
    const { error } = await probeError(path, {}, { timeoutMs: 30, onChild: (p) => (pid = p) })
    expect(error.message).toMatch(/slow\.onnx: loading and running the model took longer than 30 ms; gave up/)
    await new Promise((r) => setTimeout(r, 200))
    expect(() => process.kill(pid, 0)).toThrow() // the child is gone
  })

  it('needs an input size when the model leaves height and width free, and probes at the one given', async () => {
    const path = file('free.onnx', buildPooled(['n', 3, 'h', 'w']))
    const { error, children } = await probeError(path)
    expect(error.message).toMatch(
      /input 'x' does not fix its height and width \[n, 3, h, w\]; give the input size/,
    )
    expect(children).toBe(0)
    const r = await probeModel(path, { inputSize: [32, 16] })
    expect(r).toMatchObject({ inputSize: [32, 16], outputDim: 3, batch: 2 })
  })

  it('probes a model with a fixed batch size with exactly that many images', async () => {
    const r = await probeModel(file('batch1.onnx', buildPooled([1, 3, 8, 4])))
    expect(r).toMatchObject({ batch: 1, outputDim: 3 })
  })
})
