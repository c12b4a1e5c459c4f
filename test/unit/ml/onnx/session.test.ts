import { describe, expect, it } from 'vitest'
import { LineupError } from '../../../../src-shared/errors'
import { buildEmbedder, buildModel } from '../../../../src-main/engine/ml/onnx/build-model'
import { ImageModelSession, providerFromEnv } from '../../../../src-main/engine/ml/onnx/session'

/** What buildEmbedder's Flatten+Gemm computes, in plain JS: x·W + B with its fixed weights. */
function referenceEmbedder(x: Float32Array, n: number, k: number, dim: number): Float64Array {
  const out = new Float64Array(n * dim)
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) {
      let s = 0.01 * j
      for (let t = 0; t < k; t++)
        s += x[i * k + t]! * Math.fround(Math.sin((t * dim + j) * 12.9898 + 1) * 0.1)
      out[i * dim + j] = s
    }
  }
  return out
}

describe('ImageModelSession (onnxruntime-node, CPU)', () => {
  it('runs a built Flatten+Gemm model and matches the same maths in JS (pins the protobuf writer)', async () => {
    const session = await ImageModelSession.open(buildEmbedder({ inputDims: ['n', 3, 4, 2], dim: 5 }), {
      inputName: 'images',
      outputName: 'output',
      threads: 1,
    })
    try {
      const x = Float32Array.from({ length: 3 * 24 }, (_, i) => Math.cos(i))
      const { data, dim } = await session.run(x, [3, 3, 4, 2])
      expect(dim).toBe(5)
      const ref = referenceEmbedder(x, 3, 24, 5)
      for (let i = 0; i < ref.length; i++) expect(data[i]).toBeCloseTo(ref[i]!, 5)
      // A bigger pre-allocated buffer: only the first n images are used.
      const big = new Float32Array(10 * 24)
      big.set(x)
      expect((await session.run(big, [3, 3, 4, 2])).data).toEqual(data)
    } finally {
      await session.close()
    }
  })

  it('runs a Constant node built with a tensor attribute', async () => {
    const bytes = buildModel({
      inputs: [{ name: 'x', dims: ['n', 3, 2, 2] }],
      outputs: [{ name: 'y', dims: ['n', 12] }],
      nodes: [
        {
          op: 'Constant',
          inputs: [],
          outputs: ['scale'],
          tensorAttrs: { value: { name: 'scale', dims: [1], values: Float32Array.of(-3) } },
        },
        { op: 'Flatten', inputs: ['x'], outputs: ['flat'], intAttrs: { axis: 1 } },
        { op: 'Mul', inputs: ['flat', 'scale'], outputs: ['y'] },
      ],
    })
    const session = await ImageModelSession.open(bytes, { inputName: 'x', outputName: 'y', threads: 1 })
    try {
      const x = Float32Array.from({ length: 12 }, (_, i) => i)
      expect([...(await session.run(x, [1, 3, 2, 2])).data]).toEqual([...x].map((v) => -3 * v))
    } finally {
      await session.close()
    }
  })

  it('refuses names the model does not have, listing the real ones', async () => {
    await expect(
      ImageModelSession.open(buildEmbedder(), { inputName: 'input', outputName: 'output' }),
    ).rejects.toThrow("the model has no input named 'input'; its inputs: 'images'")
  })

  it('turns onnxruntime load failures into LineupErrors', async () => {
    const err = await ImageModelSession.open(new TextEncoder().encode('not a model'), {
      inputName: 'x',
      outputName: 'y',
    }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(LineupError)
    expect((err as LineupError).message).toMatch(/^onnxruntime cannot load the model: /)
  })

  it('uses CUDA only when LINEUP_ORT_EP=cuda', () => {
    expect(providerFromEnv({})).toBe('cpu')
    expect(providerFromEnv({ LINEUP_ORT_EP: 'CUDA' })).toBe('cuda')
    expect(providerFromEnv({ LINEUP_ORT_EP: 'rocm' })).toBe('cpu')
  })
})
