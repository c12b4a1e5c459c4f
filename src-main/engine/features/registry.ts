import type { OnnxModelConfig } from '../../../src-shared/domain'
import { LineupError } from '../../../src-shared/errors'
import { BuiltinExtractor } from './builtin'
import { OnnxExtractor } from './onnx-extractor'
import type { Extractor } from './types'

/** What to build an extractor from (STYLE.md §7: chosen by kind; unknown kinds list the known ones). */
export type ExtractorSpec =
  { kind: 'builtin' } | { kind: 'onnx'; path: string; config?: Partial<OnnxModelConfig> }

/**
 * Builds an extractor: 'builtin' is the built-in descriptor (features/builtin.ts, no model file),
 * 'onnx' a re-ID network exported to ONNX (features/onnx-extractor.ts).
 *
 * @throws LineupError('invalid-input') for an unknown kind, naming the known ones
 */
export async function createExtractor(spec: ExtractorSpec): Promise<Extractor> {
  if (spec.kind === 'onnx') {
    const c = spec.config ?? {}
    return OnnxExtractor.open({
      path: spec.path,
      ...(c.input ? { input: c.input } : {}),
      ...(c.output ? { output: c.output } : {}),
      ...(c.inputSize ? { inputSize: c.inputSize } : {}),
      ...(c.mean ? { mean: c.mean } : {}),
      ...(c.std ? { std: c.std } : {}),
    })
  }
  if (spec.kind === 'builtin') return BuiltinExtractor.open()
  throw new LineupError(
    'invalid-input',
    `unknown extractor kind "${(spec as { kind: string }).kind}"; known: onnx, builtin`,
  )
}
