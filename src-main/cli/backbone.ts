/**
 * The backbone of `lineup train` and `lineup eval` on a dataset folder: an ONNX model (inspected
 * and test-run in a child process first) or the built-in descriptor, and the features of a split,
 * taken from the feature cache when the same files were embedded the same way before.
 */
import { basename } from 'node:path'
import { cacheRoot, featureKey, readFeatures, writeFeatures } from '../engine/features/feature-cache'
import { OnnxExtractor } from '../engine/features/onnx-extractor'
import type { ResizeMethod } from '../engine/features/preprocess'
import { createExtractor } from '../engine/features/registry'
import type { Extractor } from '../engine/features/types'
import { probeModel } from '../engine/ml/onnx/probe'
import { embedFiles, readImage } from './eval-data'

/** The command-line flags of an ONNX backbone (lineup eval and lineup train). */
export const onnxFlags = {
  'input-size': { type: 'string' },
  mean: { type: 'string' },
  std: { type: 'string' },
  input: { type: 'string' },
  output: { type: 'string' },
  resize: { type: 'string' },
  batch: { type: 'string' },
  threads: { type: 'string' },
} as const

export interface BackboneOptions {
  model?: string
  input?: string
  output?: string
  inputSize?: [number, number]
  mean?: [number, number, number]
  std?: [number, number, number]
  resize?: ResizeMethod
  batchSize?: number
  threads?: number
}

export interface Backbone {
  extractor: Extractor
  kind: 'onnx' | 'builtin'
  /** Everything besides the model's hash that decides its vectors (the cache key uses it). */
  variant: string
  /** Preprocessing of an ONNX backbone, recorded in saved heads. */
  preprocess: Record<string, unknown>
  described: string
}

export async function openBackbone(o: BackboneOptions): Promise<Backbone> {
  if (!o.model) {
    const extractor = await createExtractor({ kind: 'builtin' })
    return {
      extractor,
      kind: 'builtin',
      variant: 'builtin',
      preprocess: {},
      described: `built-in descriptor ${extractor.key} · ${extractor.dim}-d`,
    }
  }
  const probe = await probeModel(o.model, { input: o.input, output: o.output, inputSize: o.inputSize })
  const resize = o.resize ?? 'bilinear'
  const extractor = await OnnxExtractor.open({
    path: o.model,
    input: probe.model.inputName,
    output: probe.model.outputName,
    inputSize: probe.inputSize,
    mean: o.mean,
    std: o.std,
    resize,
    batchSize: o.batchSize,
    threads: o.threads,
  })
  const preprocess = {
    input: probe.model.inputName,
    output: probe.model.outputName,
    inputSize: probe.inputSize,
    mean: o.mean ?? [0.485, 0.456, 0.406],
    std: o.std ?? [0.229, 0.224, 0.225],
    resize,
  }
  return {
    extractor,
    kind: 'onnx',
    variant: JSON.stringify(preprocess),
    preprocess,
    described: `model ${basename(o.model)} · sha256 ${extractor.key} · ${extractor.dim}-d · input ${probe.inputSize.join('x')} (${resize})`,
  }
}

/**
 * The backbone features of `files` (rows in file order), from the cache when present; `cache`
 * false embeds afresh (and does not write). `onStep` gets the number of files embedded per step.
 */
export async function splitFeatures(
  b: Backbone,
  files: readonly string[],
  cache: boolean,
  onStep?: (n: number) => void,
): Promise<{ features: Float32Array; cached: boolean; key: string }> {
  const key = featureKey(b.extractor.key, b.variant, files)
  const dir = cacheRoot()
  if (cache) {
    const hit = readFeatures(dir, key, files.length, b.extractor.dim)
    if (hit) {
      onStep?.(files.length)
      return { features: hit, cached: true, key }
    }
  }
  const features = await embedFiles(b.extractor, files, (fs) => fs.map(readImage), onStep)
  if (cache) {
    try {
      writeFeatures(dir, key, files.length, b.extractor.dim, features)
    } catch {
      // A cache that cannot be written only costs time next run.
    }
  }
  return { features, cached: false, key }
}
