/**
 * Builds tiny ONNX models in memory, written field by field from onnx.proto (field numbers in
 * onnx-model.ts). Test support, and the way the engine makes small compute graphs (e.g. a Gemm
 * distance kernel) without an ONNX toolchain; it lives here because only ml/onnx touches ONNX.
 */
import { concat, fieldBytes, fieldMessage, fieldString, fieldVarint } from './protobuf'
import { ELEM_FLOAT32, type Dim } from './onnx-model'

/** A graph value's declaration. dims null = no shape declared. */
export interface ValueSpec {
  name: string
  elemType?: number
  dims: Dim[] | null
}

/** A float32 initializer (weights). `external` stores it as external data (a file beside the model). */
export interface InitializerSpec {
  name: string
  dims: number[]
  values: Float32Array
  external?: boolean
}

export interface NodeSpec {
  op: string
  inputs: string[]
  outputs: string[]
  /** Integer attributes only (enough for Flatten axis, Gemm transB, …); floats via `floatAttrs`. */
  intAttrs?: Record<string, number>
  floatAttrs?: Record<string, number>
  /** Tensor attributes (e.g. Constant's `value`). */
  tensorAttrs?: Record<string, InitializerSpec>
}

export interface GraphSpec {
  inputs: ValueSpec[]
  outputs: ValueSpec[]
  nodes: NodeSpec[]
  initializers?: InitializerSpec[]
  /** Default-domain opset; default 13. */
  opset?: number
  /** Default 8 (accepted by onnxruntime 1.x). */
  irVersion?: number
  producer?: string
}

/** Serialises a graph as an ONNX ModelProto. */
export function buildModel(spec: GraphSpec): Uint8Array {
  const graph = [
    ...spec.nodes.map((n, i) => fieldMessage(1, node(n, i))),
    fieldString(2, 'lineup-test'),
    ...(spec.initializers ?? []).map((t) => fieldMessage(5, tensor(t))),
    ...spec.inputs.map((v) => fieldMessage(11, valueInfo(v))),
    ...spec.outputs.map((v) => fieldMessage(12, valueInfo(v))),
  ]
  return concat([
    fieldVarint(1, spec.irVersion ?? 8),
    fieldString(2, spec.producer ?? 'lineup'),
    fieldString(3, 'test'),
    fieldMessage(7, graph),
    fieldMessage(8, [fieldString(1, ''), fieldVarint(2, spec.opset ?? 13)]),
  ])
}

export interface EmbedderSpec {
  /** Default 'images'. */
  inputName?: string
  /** Default 'output'. */
  outputName?: string
  /** Declared input dims; default ['batch', 3, 8, 4]. H, W and channels must be numbers. */
  inputDims?: Dim[]
  /** Input element type (TensorProto.DataType); default 1 (float32). */
  inputType?: number
  /** Embedding length; default 8. */
  dim?: number
  /** Declared output dims; default ['batch', dim]. */
  outputDims?: Dim[] | null
  /** Store the weights as external data (which Lineup refuses). */
  externalWeights?: boolean
  /** Put a NaN among the weights, so every output row is NaN. */
  nanWeights?: boolean
}

/**
 * A minimal "re-ID model": Flatten(axis 1) then Gemm with fixed pseudo-random weights, mapping
 * [batch, C, H, W] to [batch, dim]. Deterministic: the same spec gives the same bytes.
 */
export function buildEmbedder(spec: EmbedderSpec = {}): Uint8Array {
  const inputName = spec.inputName ?? 'images'
  const outputName = spec.outputName ?? 'output'
  const inputDims = spec.inputDims ?? ['batch', 3, 8, 4]
  const dim = spec.dim ?? 8
  let k = 1
  for (const d of inputDims.slice(1)) k *= typeof d === 'number' ? d : 1
  const weights = new Float32Array(k * dim)
  for (let i = 0; i < weights.length; i++) weights[i] = Math.sin(i * 12.9898 + 1) * 0.1
  if (spec.nanWeights) weights[0] = Number.NaN
  const bias = new Float32Array(dim).map((_, i) => 0.01 * i)
  return buildModel({
    inputs: [{ name: inputName, elemType: spec.inputType ?? ELEM_FLOAT32, dims: inputDims }],
    outputs: [
      {
        name: outputName,
        dims: spec.outputDims === undefined ? [inputDims[0] ?? 'batch', dim] : spec.outputDims,
      },
    ],
    nodes: [
      { op: 'Flatten', inputs: [inputName], outputs: ['flat'], intAttrs: { axis: 1 } },
      { op: 'Gemm', inputs: ['flat', 'W', 'B'], outputs: [outputName] },
    ],
    initializers: [
      { name: 'W', dims: [k, dim], values: weights, external: spec.externalWeights ?? false },
      { name: 'B', dims: [dim], values: bias },
    ],
  })
}

/**
 * GlobalAveragePool then Flatten: [batch, C, H, W] → [batch, C] (the per-channel mean), for any H
 * and W, so the input's height and width can be left free.
 */
export function buildPooled(inputDims: Dim[], inputName = 'x', outputName = 'y'): Uint8Array {
  return buildModel({
    inputs: [{ name: inputName, dims: inputDims }],
    outputs: [{ name: outputName, dims: [inputDims[0] ?? 'batch', inputDims[1] ?? null] }],
    nodes: [
      { op: 'GlobalAveragePool', inputs: [inputName], outputs: ['pooled'] },
      { op: 'Flatten', inputs: ['pooled'], outputs: [outputName], intAttrs: { axis: 1 } },
    ],
  })
}

/** A model whose output is its input (Identity): any rank and type, e.g. to test rank checks. */
export function buildIdentity(input: ValueSpec, outputName = 'output'): Uint8Array {
  return buildModel({
    inputs: [input],
    outputs: [{ name: outputName, elemType: input.elemType ?? ELEM_FLOAT32, dims: input.dims }],
    nodes: [{ op: 'Identity', inputs: [input.name], outputs: [outputName] }],
  })
}

function node(n: NodeSpec, index: number): Uint8Array[] {
  const attrs = [
    ...Object.entries(n.intAttrs ?? {}).map(([name, v]) =>
      // AttributeProto: name 1, i 3, type 20 (INT = 2)
      fieldMessage(5, [fieldString(1, name), fieldVarint(3, v), fieldVarint(20, 2)]),
    ),
    ...Object.entries(n.floatAttrs ?? {}).map(([name, v]) => {
      // AttributeProto: name 1, f 2 (fixed32), type 20 (FLOAT = 1)
      const f = new Uint8Array(4)
      new DataView(f.buffer).setFloat32(0, v, true)
      return fieldMessage(5, [
        fieldString(1, name),
        concat([Uint8Array.of(2 * 8 + 5), f]),
        fieldVarint(20, 1),
      ])
    }),
    ...Object.entries(n.tensorAttrs ?? {}).map(([name, t]) =>
      // AttributeProto: name 1, t 5, type 20 (TENSOR = 4)
      fieldMessage(5, [fieldString(1, name), fieldMessage(5, tensor(t)), fieldVarint(20, 4)]),
    ),
  ]
  return [
    ...n.inputs.map((s) => fieldString(1, s)),
    ...n.outputs.map((s) => fieldString(2, s)),
    fieldString(3, `${n.op.toLowerCase()}_${index}`),
    fieldString(4, n.op),
    ...attrs,
  ]
}

function tensor(t: InitializerSpec): Uint8Array[] {
  const head = [...t.dims.map((d) => fieldVarint(1, d)), fieldVarint(2, ELEM_FLOAT32), fieldString(8, t.name)]
  if (t.external) {
    // external_data 13: StringStringEntryProto {key 1, value 2}; data_location 14 = EXTERNAL (1).
    return [
      ...head,
      fieldMessage(13, [fieldString(1, 'location'), fieldString(2, `${t.name}.bin`)]),
      fieldMessage(13, [fieldString(1, 'offset'), fieldString(2, '0')]),
      fieldMessage(13, [fieldString(1, 'length'), fieldString(2, String(t.values.byteLength))]),
      fieldVarint(14, 1),
    ]
  }
  const raw = new Uint8Array(t.values.length * 4)
  const view = new DataView(raw.buffer)
  t.values.forEach((v, i) => view.setFloat32(i * 4, v, true))
  return [...head, fieldBytes(9, raw)]
}

function valueInfo(v: ValueSpec): Uint8Array[] {
  const tensorType = [fieldVarint(1, v.elemType ?? ELEM_FLOAT32)]
  if (v.dims !== null) {
    const dims = v.dims.map((d) =>
      fieldMessage(1, d === null ? [] : typeof d === 'number' ? [fieldVarint(1, d)] : [fieldString(2, d)]),
    )
    tensorType.push(fieldMessage(2, dims))
  }
  // ValueInfoProto: name 1, type 2 → TypeProto.tensor_type 1
  return [fieldString(1, v.name), fieldMessage(2, [fieldMessage(1, tensorType)])]
}
