/**
 * Checks that an ONNX file is a re-ID backbone Lineup can run, before onnxruntime ever sees it
 * (issue 4: "refuse external-data tensors and anything malformed with a clear message"). Pure
 * JavaScript over the file's bytes: a broken file cannot crash the process here.
 *
 * What Lineup runs: one float32 input `[batch, 3, H, W]` (NCHW RGB images) and a float32 output
 * `[batch, dim]` (one embedding per image), all weights inside the .onnx file.
 */
import { LineupError } from '../../../../src-shared/errors'
import {
  ELEM_FLOAT32,
  elemTypeNames,
  readModelInfo,
  type Dim,
  type OnnxModelInfo,
  type ValueInfo,
} from './onnx-model'
import { ProtoError } from './protobuf'

/** What the analyst configured (all optional: the model's own single input and first output are used). */
export interface ExpectedModel {
  /** Name of the image input. */
  input?: string
  /** Name of the embedding output. */
  output?: string
  /** [H, W] the images will be resized to; must match the model when its H and W are fixed. */
  inputSize?: readonly [number, number]
}

export interface InspectedModel {
  irVersion: number
  opset: number
  producer: string
  inputName: string
  outputName: string
  /** The input's declared shape: [batch, 3, H, W], numbers or symbolic names (null: unnamed, free). */
  inputShape: Dim[]
  /** Fixed batch size, or null when the batch axis is free (dynamic). */
  fixedBatch: number | null
  /** [H, W] when the model fixes them, else null. */
  fixedSize: [number, number] | null
  /** Embedding length when the model declares it, else null (found by running a probe batch). */
  outputDim: number | null
  /** All input and output names, for messages and the UI. */
  inputs: string[]
  outputs: string[]
}

const IMAGE_INPUT = 'expects [batch, 3, H, W] float32 images'

/**
 * Parses and validates an ONNX model; see the module comment.
 *
 * @param bytes the whole .onnx file
 * @param expected names and input size the analyst configured
 * @param label how to call the file in messages (its path)
 * @throws LineupError('invalid-input') saying what is wrong and what to do
 */
export function inspectModel(
  bytes: Uint8Array,
  expected: ExpectedModel = {},
  label = 'the model file',
): InspectedModel {
  const info = parse(bytes, label)
  if (info.externalTensors.length > 0) {
    const names = info.externalTensors
    throw invalid(
      `${label} uses external data tensors (${list(names, 3)}); export with all weights inside the .onnx file ` +
        '(torch.onnx.export writes them inside below 2 GB; onnx.save_model(model, path, save_as_external_data=False) merges them)',
    )
  }
  const input = pickInput(info, expected.input, label)
  const output = pickOutput(info, expected.output, label)

  const inputType = elemTypeNames[input.elemType] ?? `type ${input.elemType}`
  if (input.elemType !== ELEM_FLOAT32) {
    throw invalid(`${label}: input '${input.name}' is ${inputType}; Lineup ${IMAGE_INPUT}`)
  }
  if (input.dims === null) {
    throw invalid(`${label}: input '${input.name}' declares no shape; Lineup ${IMAGE_INPUT}`)
  }
  if (input.dims.length !== 4) {
    throw invalid(
      `${label}: input '${input.name}' has rank ${input.dims.length} ${shape(input.dims)}; Lineup ${IMAGE_INPUT}`,
    )
  }
  const [batch, channels, h, w] = input.dims
  if (typeof channels === 'number' && channels !== 3) {
    throw invalid(
      `${label}: input '${input.name}' has ${channels} channels ${shape(input.dims)}; Lineup ${IMAGE_INPUT} (NCHW RGB)`,
    )
  }
  const fixedSize: [number, number] | null = typeof h === 'number' && typeof w === 'number' ? [h, w] : null
  if (expected.inputSize) {
    const [eh, ew] = expected.inputSize
    if ((typeof h === 'number' && h !== eh) || (typeof w === 'number' && w !== ew)) {
      throw invalid(
        `${label}: input '${input.name}' is ${shape(input.dims)} but the configured input size is ${eh}x${ew} (HxW); ` +
          `use --input-size ${typeof h === 'number' ? h : eh}x${typeof w === 'number' ? w : ew}`,
      )
    }
  }

  const outputType = elemTypeNames[output.elemType] ?? `type ${output.elemType}`
  if (output.elemType !== ELEM_FLOAT32 && output.elemType !== 0) {
    throw invalid(
      `${label}: output '${output.name}' is ${outputType}; Lineup expects float32 [batch, dim] embeddings`,
    )
  }
  if (output.dims !== null && output.dims.length !== 2) {
    throw invalid(
      `${label}: output '${output.name}' has rank ${output.dims.length} ${shape(output.dims)}; ` +
        'Lineup expects [batch, dim] embeddings (export the model with the pooled, flattened feature as output)',
    )
  }
  const dim = output.dims?.[1]
  return {
    irVersion: info.irVersion,
    opset: info.opset,
    producer: info.producer,
    inputName: input.name,
    outputName: output.name,
    inputShape: input.dims,
    fixedBatch: typeof batch === 'number' && batch > 0 ? batch : null,
    fixedSize,
    outputDim: typeof dim === 'number' && dim > 0 ? dim : null,
    inputs: info.inputs.map((i) => i.name),
    outputs: info.outputs.map((o) => o.name),
  }
}

function parse(bytes: Uint8Array, label: string): OnnxModelInfo {
  if (bytes.length === 0) throw invalid(`${label} is empty (0 bytes); it is not an ONNX model`)
  try {
    return readModelInfo(bytes)
  } catch (err) {
    if (!(err instanceof ProtoError)) throw err
    // Exporters write ir_version (field 1, varint: byte 0x08) first; a file that starts like a
    // model and then runs out is a partial copy, anything else is not a model at all.
    if (err.truncated && bytes[0] === 0x08) {
      throw invalid(
        `${label} is truncated (${count(bytes.length)} bytes${err.needs ? `, its contents need at least ${count(err.needs)}` : ''}): ` +
          'it was cut off while copying or downloading; copy the complete .onnx file again',
      )
    }
    const text = looksLikeText(bytes)
    throw invalid(
      `${label} is not an ONNX model (${text ? `it looks like a text file: "${text}"` : err.message}); ` +
        'give the .onnx file written by torch.onnx.export or another ONNX exporter',
    )
  }
}

function pickInput(info: OnnxModelInfo, name: string | undefined, label: string): ValueInfo {
  if (name !== undefined) {
    const found = info.inputs.find((i) => i.name === name)
    if (!found) {
      throw invalid(`${label} has no input named '${name}'; its inputs: ${names(info.inputs)}`)
    }
    if (info.inputs.length > 1) throw tooManyInputs(info, label)
    return found
  }
  if (info.inputs.length === 0) throw invalid(`${label} has no inputs; Lineup ${IMAGE_INPUT}`)
  if (info.inputs.length > 1) throw tooManyInputs(info, label)
  return info.inputs[0]!
}

function pickOutput(info: OnnxModelInfo, name: string | undefined, label: string): ValueInfo {
  if (name !== undefined) {
    const found = info.outputs.find((o) => o.name === name)
    if (!found) throw invalid(`${label} has no output named '${name}'; its outputs: ${names(info.outputs)}`)
    return found
  }
  if (info.outputs.length === 0) throw invalid(`${label} has no outputs`)
  return info.outputs[0]!
}

function tooManyInputs(info: OnnxModelInfo, label: string): LineupError {
  return invalid(
    `${label} has ${info.inputs.length} inputs (${names(info.inputs)}); Lineup feeds one image batch, ` +
      'so the model must take exactly one input',
  )
}

/** The first characters of a file that is plain printable text (e.g. an HTML error page renamed .onnx), else null. */
function looksLikeText(bytes: Uint8Array): string | null {
  const head = bytes.subarray(0, 512)
  for (const b of head) {
    if (b < 0x09 || (b > 0x0d && b < 0x20) || b === 0x7f) return null
  }
  const text = new TextDecoder('utf-8', { fatal: false }).decode(head.subarray(0, 60))
  return text.replace(/\s+/g, ' ').trim() + (bytes.length > 60 ? '…' : '')
}

const names = (vs: readonly ValueInfo[]): string =>
  vs.length === 0 ? '(none)' : vs.map((v) => `'${v.name}'`).join(', ')

const shape = (dims: readonly Dim[]): string =>
  `[${dims.map((d) => (d === null ? '?' : String(d))).join(', ')}]`

function list(xs: readonly string[], max: number): string {
  const shown = xs.slice(0, max).map((x) => `'${x}'`)
  return xs.length > max ? `${shown.join(', ')} and ${xs.length - max} more` : shown.join(', ')
}

const count = (n: number): string => n.toLocaleString('en-US')

function invalid(message: string): LineupError {
  return new LineupError('invalid-input', message)
}
