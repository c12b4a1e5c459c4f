/**
 * Reads what Lineup needs from an ONNX `ModelProto` (onnx/onnx.proto, IR 3 and later): the IR
 * version, the default-domain opset, the producer, the graph's inputs and outputs with element
 * type and dimensions (numbers or symbolic names), the initializer names, and whether any tensor
 * keeps its data in an external file. Everything else (nodes, weights) is skipped over without
 * being decoded, so a 100 MB model is walked in milliseconds.
 *
 * Field numbers used (onnx.proto):
 * - ModelProto: ir_version 1, producer_name 2, producer_version 3, graph 7, opset_import 8
 * - OperatorSetIdProto: domain 1, version 2
 * - GraphProto: node 1, initializer 5, input 11, output 12, sparse_initializer 15
 * - NodeProto: attribute 5; AttributeProto: t 5, g 6, tensors 10, graphs 11, sparse_tensor 22,
 *   sparse_tensors 23 (constants and sub-graphs can hold tensors too)
 * - SparseTensorProto: values 1, indices 2
 * - TensorProto: name 8, external_data 13, data_location 14 (EXTERNAL = 1)
 * - ValueInfoProto: name 1, type 2; TypeProto: tensor_type 1; TypeProto.Tensor: elem_type 1,
 *   shape 2; TensorShapeProto: dim 1; Dimension: dim_value 1, dim_param 2
 */
import { ProtoError, readFields, utf8, WIRE_LEN, WIRE_VARINT, type ProtoField } from './protobuf'

/** TensorProto.DataType names (onnx.proto), for messages. */
export const elemTypeNames: Record<number, string> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  14: 'complex64',
  15: 'complex128',
  16: 'bfloat16',
}
export const ELEM_FLOAT32 = 1

/** A dimension: a fixed size, a symbolic name (e.g. 'batch'), or null when the model says nothing. */
export type Dim = number | string | null

export interface ValueInfo {
  name: string
  /** TensorProto.DataType; 0 when the value is not a tensor or has no declared type. */
  elemType: number
  /** null when the model declares no shape (rank unknown). */
  dims: Dim[] | null
}

export interface OnnxModelInfo {
  irVersion: number
  /** Version of the default ("" or "ai.onnx") operator set; 0 if none is imported. */
  opset: number
  /** producer_name and producer_version, e.g. "pytorch 2.1.0". */
  producer: string
  /** Graph inputs that are not initializers (IR < 4 lists weights as inputs too). */
  inputs: ValueInfo[]
  outputs: ValueInfo[]
  initializers: number
  /** Names of tensors whose data lives in another file (data_location EXTERNAL or external_data set). */
  externalTensors: string[]
}

/**
 * Parses the parts of an ONNX ModelProto listed in the module comment.
 *
 * @throws ProtoError when the bytes are not a well-formed message (`truncated` when a field runs
 *   past the end), or lack the fields every ONNX model has (ir_version, graph)
 */
export function readModelInfo(bytes: Uint8Array): OnnxModelInfo {
  let irVersion: number | null = null
  let graph: Uint8Array | null = null
  let graphOffset = 0
  let opset = 0
  let producerName = ''
  let producerVersion = ''
  for (const f of readFields(bytes)) {
    if (f.field === 1 && f.wire === WIRE_VARINT) irVersion = f.value
    else if (f.field === 2 && f.wire === WIRE_LEN) producerName = utf8(f.bytes)
    else if (f.field === 3 && f.wire === WIRE_LEN) producerVersion = utf8(f.bytes)
    else if (f.field === 7 && f.wire === WIRE_LEN) [graph, graphOffset] = [f.bytes, f.offset]
    else if (f.field === 8 && f.wire === WIRE_LEN) {
      const op = readOpset(f.bytes, f.offset)
      if (op.domain === '' || op.domain === 'ai.onnx') opset = op.version
    }
  }
  if (irVersion === null || irVersion < 1) throw new ProtoError('no ir_version field', false)
  if (graph === null) throw new ProtoError('no graph field', false)

  const inputs: ValueInfo[] = []
  const outputs: ValueInfo[] = []
  const initializerNames = new Set<string>()
  const external = new Set<string>()
  for (const f of readFields(graph, graphOffset)) {
    if (f.wire !== WIRE_LEN) continue
    if (f.field === 11) inputs.push(readValueInfo(f.bytes, f.offset))
    else if (f.field === 12) outputs.push(readValueInfo(f.bytes, f.offset))
    else if (f.field === 5) initializerNames.add(scanTensor(f, external))
  }
  // Tensors can also sit in sparse initializers and in node attributes (Constant, sub-graphs).
  scanGraphTensors(graph, graphOffset, external)
  return {
    irVersion,
    opset,
    producer: [producerName, producerVersion].filter((s) => s !== '').join(' '),
    inputs: inputs.filter((i) => !initializerNames.has(i.name)),
    outputs,
    initializers: initializerNames.size,
    externalTensors: [...external],
  }
}

function readOpset(bytes: Uint8Array, offset: number): { domain: string; version: number } {
  let domain = ''
  let version = 0
  for (const f of readFields(bytes, offset)) {
    if (f.field === 1 && f.wire === WIRE_LEN) domain = utf8(f.bytes)
    else if (f.field === 2 && f.wire === WIRE_VARINT) version = f.value
  }
  return { domain, version }
}

function readValueInfo(bytes: Uint8Array, offset: number): ValueInfo {
  let name = ''
  let elemType = 0
  let dims: Dim[] | null = null
  for (const f of readFields(bytes, offset)) {
    if (f.wire !== WIRE_LEN) continue
    if (f.field === 1) name = utf8(f.bytes)
    else if (f.field === 2) {
      for (const t of readFields(f.bytes, f.offset)) {
        if (t.field !== 1 || t.wire !== WIRE_LEN) continue // only tensor_type
        for (const x of readFields(t.bytes, t.offset)) {
          if (x.field === 1 && x.wire === WIRE_VARINT) elemType = x.value
          else if (x.field === 2 && x.wire === WIRE_LEN) dims = readShape(x.bytes, x.offset)
        }
      }
    }
  }
  return { name, elemType, dims }
}

function readShape(bytes: Uint8Array, offset: number): Dim[] {
  const dims: Dim[] = []
  for (const f of readFields(bytes, offset)) {
    if (f.field !== 1 || f.wire !== WIRE_LEN) continue
    let dim: Dim = null
    for (const d of readFields(f.bytes, f.offset)) {
      if (d.field === 1 && d.wire === WIRE_VARINT) dim = d.value
      else if (d.field === 2 && d.wire === WIRE_LEN) dim = utf8(d.bytes)
    }
    dims.push(dim)
  }
  return dims
}

/** A TensorProto's name; adds it to `external` when its data is stored outside the file. */
function scanTensor(f: ProtoField, external: Set<string>): string {
  if (f.wire !== WIRE_LEN) return ''
  let name = ''
  let isExternal = false
  for (const t of readFields(f.bytes, f.offset)) {
    if (t.field === 8 && t.wire === WIRE_LEN) name = utf8(t.bytes)
    else if (t.field === 13 && t.wire === WIRE_LEN) isExternal = true
    else if (t.field === 14 && t.wire === WIRE_VARINT && t.value === 1) isExternal = true
  }
  if (isExternal) external.add(name === '' ? '(unnamed tensor)' : name)
  return name
}

/** Sparse initializers and node attributes of a graph, recursively through sub-graphs. */
function scanGraphTensors(graph: Uint8Array, offset: number, external: Set<string>, depth = 0): void {
  if (depth > 32) throw new ProtoError('sub-graphs nested more than 32 deep', false)
  for (const f of readFields(graph, offset)) {
    if (f.wire !== WIRE_LEN) continue
    if (f.field === 15) scanSparse(f.bytes, f.offset, external)
    else if (f.field === 1) {
      for (const n of readFields(f.bytes, f.offset)) {
        if (n.field === 5 && n.wire === WIRE_LEN) scanAttribute(n.bytes, n.offset, external, depth)
      }
    }
  }
}

function scanAttribute(bytes: Uint8Array, offset: number, external: Set<string>, depth: number): void {
  for (const a of readFields(bytes, offset)) {
    if (a.wire !== WIRE_LEN) continue
    if (a.field === 5 || a.field === 10) scanTensor(a, external)
    else if (a.field === 22 || a.field === 23) scanSparse(a.bytes, a.offset, external)
    else if (a.field === 6 || a.field === 11) {
      for (const g of readFields(a.bytes, a.offset)) {
        if (g.field === 5 && g.wire === WIRE_LEN) scanTensor(g, external)
      }
      scanGraphTensors(a.bytes, a.offset, external, depth + 1)
    }
  }
}

function scanSparse(bytes: Uint8Array, offset: number, external: Set<string>): void {
  for (const s of readFields(bytes, offset)) {
    if ((s.field === 1 || s.field === 2) && s.wire === WIRE_LEN) scanTensor(s, external)
  }
}
