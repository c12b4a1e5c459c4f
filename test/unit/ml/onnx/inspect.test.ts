import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { LineupError } from '../../../../src-shared/errors'
import {
  buildEmbedder,
  buildIdentity,
  buildModel,
  buildPooled,
} from '../../../../src-main/engine/ml/onnx/build-model'
import { inspectModel, type ExpectedModel } from '../../../../src-main/engine/ml/onnx/inspect'
import { readModelInfo } from '../../../../src-main/engine/ml/onnx/onnx-model'
import { sharedDir } from '../../../helpers/paths'

const osnetPath = resolve(sharedDir, 'models/osnet_x0_25_msmt17/osnet_x0_25_msmt17.onnx')
const hasOsnet = existsSync(osnetPath)
if (!hasOsnet) console.warn(`[skipped] OSNet inspection tests: ${osnetPath} is absent.`)

/** The LineupError inspectModel throws (the test fails if it throws nothing or something else). */
function refusal(bytes: Uint8Array, expected: ExpectedModel = {}): LineupError {
  try {
    inspectModel(bytes, expected, 'model.onnx')
  } catch (err) {
    expect(err).toBeInstanceOf(LineupError)
    expect((err as LineupError).kind).toBe('invalid-input')
    return err as LineupError
  }
  throw new Error('inspectModel accepted the model')
}

describe('inspectModel on the real OSNet file', () => {
  it.skipIf(!hasOsnet)('reads the interface SOURCE.md documents', () => {
    const bytes = readFileSync(osnetPath)
    const info = readModelInfo(bytes)
    expect(info).toMatchObject({ irVersion: 7, opset: 12, producer: 'pytorch 2.1.0', externalTensors: [] })
    expect(info.initializers).toBeGreaterThan(100)
    expect(inspectModel(bytes)).toMatchObject({
      inputName: 'images',
      outputName: 'output',
      inputShape: ['batch', 3, 256, 128],
      fixedBatch: null,
      fixedSize: [256, 128],
      outputDim: 512,
    })
  })

  it.skipIf(!hasOsnet)('calls the first half of it truncated, not "not a model"', () => {
    const bytes = readFileSync(osnetPath)
    const e = refusal(bytes.subarray(0, bytes.length >> 1))
    expect(e.message).toMatch(
      /model\.onnx is truncated \(460,808 bytes, its contents need at least 921,\d{3}\)/,
    )
    expect(e.message).toMatch(/copy the complete \.onnx file again/)
  })

  it.skipIf(!hasOsnet)('refuses an input size that contradicts the fixed 256×128', () => {
    const e = refusal(readFileSync(osnetPath), { inputSize: [384, 128] })
    expect(e.message).toMatch(
      /is \[batch, 3, 256, 128\] but the configured input size is 384x128.*--input-size 256x128/,
    )
  })
})

describe('inspectModel on built models', () => {
  it('accepts a [batch, 3, H, W] → [batch, dim] model and reports its shapes', () => {
    const m = inspectModel(buildEmbedder({ inputDims: ['N', 3, 16, 8], dim: 5 }))
    expect(m).toMatchObject({
      inputName: 'images',
      outputName: 'output',
      inputShape: ['N', 3, 16, 8],
      fixedSize: [16, 8],
      outputDim: 5,
      opset: 13,
      irVersion: 8,
      inputs: ['images'],
      outputs: ['output'],
    })
  })

  it('accepts free height and width and a fixed batch, and says so', () => {
    const m = inspectModel(buildPooled([1, 3, 'h', 'w']), { inputSize: [64, 32] })
    expect(m.fixedBatch).toBe(1)
    expect(m.fixedSize).toBeNull()
  })

  it('refuses a text file named .onnx', () => {
    const e = refusal(new TextEncoder().encode('<!DOCTYPE html>\n<html><body>404 Not Found</body></html>\n'))
    expect(e.message).toMatch(
      /model\.onnx is not an ONNX model \(it looks like a text file: "<!DOCTYPE html> <html>/,
    )
  })

  it('refuses an empty file and random bytes as "not an ONNX model"', () => {
    expect(refusal(new Uint8Array(0)).message).toMatch(/is empty \(0 bytes\)/)
    const random = Uint8Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24)
    expect(refusal(random).message).toMatch(/is not an ONNX model/)
  })

  it('calls a built model cut short truncated', () => {
    const bytes = buildEmbedder()
    expect(refusal(bytes.subarray(0, bytes.length - 40)).message).toMatch(/is truncated/)
  })

  it('refuses a model with the wrong input rank', () => {
    const e = refusal(buildIdentity({ name: 'x', dims: ['n', 3, 64] }))
    expect(e.message).toBe(
      "model.onnx: input 'x' has rank 3 [n, 3, 64]; Lineup expects [batch, 3, H, W] float32 images",
    )
  })

  it('refuses a model with one channel, and one without a float32 input', () => {
    expect(refusal(buildEmbedder({ inputDims: ['n', 1, 8, 4] })).message).toMatch(
      /input 'images' has 1 channels \[n, 1, 8, 4\]; Lineup expects \[batch, 3, H, W\] float32 images/,
    )
    expect(refusal(buildIdentity({ name: 'x', elemType: 2, dims: ['n', 3, 8, 4] })).message).toMatch(
      /input 'x' is uint8; Lineup expects \[batch, 3, H, W\] float32 images/,
    )
  })

  it('refuses an output that is not [batch, dim]', () => {
    const e = refusal(buildIdentity({ name: 'x', dims: ['n', 3, 8, 4] }, 'feature_map'))
    expect(e.message).toMatch(/output 'feature_map' has rank 4 \[n, 3, 8, 4\]; Lineup expects \[batch, dim\]/)
  })

  it('refuses external data tensors with the fix', () => {
    const e = refusal(buildEmbedder({ externalWeights: true }))
    expect(e.message).toMatch(
      /model\.onnx uses external data tensors \('W'\); export with all weights inside the \.onnx file/,
    )
  })

  it('finds external data in a Constant node too, not only in initializers', () => {
    const withConstant = (external: boolean) =>
      buildModel({
        inputs: [{ name: 'x', dims: ['n', 3, 8, 4] }],
        outputs: [{ name: 'y', dims: ['n', 96] }],
        nodes: [
          {
            op: 'Constant',
            inputs: [],
            outputs: ['scale'],
            tensorAttrs: { value: { name: 'scale', dims: [1], values: Float32Array.of(2), external } },
          },
          { op: 'Flatten', inputs: ['x'], outputs: ['flat'], intAttrs: { axis: 1 } },
          { op: 'Mul', inputs: ['flat', 'scale'], outputs: ['y'] },
        ],
      })
    expect(inspectModel(withConstant(false)).outputDim).toBe(96)
    expect(refusal(withConstant(true)).message).toMatch(/external data tensors \('scale'\)/)
  })

  it('names the real inputs and outputs when a configured name does not exist', () => {
    const bytes = buildEmbedder({ inputName: 'input.1', outputName: 'embedding' })
    expect(refusal(bytes, { input: 'images' }).message).toBe(
      "model.onnx has no input named 'images'; its inputs: 'input.1'",
    )
    expect(refusal(bytes, { output: 'output' }).message).toBe(
      "model.onnx has no output named 'output'; its outputs: 'embedding'",
    )
    expect(inspectModel(bytes, { input: 'input.1', output: 'embedding' }).outputDim).toBe(8)
  })

  it('refuses a model with two inputs', () => {
    const bytes = buildModel({
      inputs: [
        { name: 'a', dims: ['n', 3, 8, 4] },
        { name: 'b', dims: ['n', 3, 8, 4] },
      ],
      outputs: [{ name: 'y', dims: ['n', 3, 8, 4] }],
      nodes: [{ op: 'Add', inputs: ['a', 'b'], outputs: ['y'] }],
    })
    expect(refusal(bytes).message).toMatch(/has 2 inputs \('a', 'b'\).*exactly one input/)
  })
})
