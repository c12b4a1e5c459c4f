import type { OnnxModelConfig } from '../../../src-shared/domain'
import { LineupError } from '../../../src-shared/errors'
import { OnnxExtractor } from './onnx-extractor'
import type { Extractor } from './types'

/** What to build an extractor from (STYLE.md §7: chosen by kind; unknown kinds list the known ones). */
export type ExtractorSpec =
  { kind: 'builtin' } | { kind: 'onnx'; path: string; config?: Partial<OnnxModelConfig> }

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
  if (spec.kind === 'builtin')
    throw new LineupError('unsupported', 'the built-in descriptor is not available in this build yet')
  throw new LineupError(
    'invalid-input',
    `unknown extractor kind "${(spec as { kind: string }).kind}"; known: onnx, builtin`,
  )
}
