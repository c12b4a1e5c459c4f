import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { OnnxModelConfig } from '../../../src-shared/domain'
import { LineupError } from '../../../src-shared/errors'
import type { Db } from '../db/open'
import { loadHead } from '../library/heads'
import { getModel, type StoredModel } from '../library/models'
import { applyHeadOnnx } from '../ml/onnx/head-applier'
import { createExtractor } from './registry'
import type { Extractor } from './types'

/**
 * The extractor for a model of the library. The stored ONNX file is re-hashed first, so vectors
 * are only ever recorded under the hash of the file that really produced them; a built-in model
 * whose version differs from this build's descriptor is refused (its vectors would not match).
 */
export async function extractorForModel(model: StoredModel, db?: Db): Promise<Extractor> {
  if (model.kind === 'head') {
    if (!db || model.baseModelId === null)
      throw new Error('a fine-tuned model needs its library to find its base model')
    const head = loadHead(db, model)
    const base = await extractorForModel(getModel(db, model.baseModelId), db)
    return {
      key: model.key,
      dim: head.outDim,
      embed: async (batch, cameras) => applyHeadOnnx(head, await base.embed(batch), batch.length, cameras),
      close: () => base.close(),
    }
  }
  if (model.kind === 'builtin') {
    const extractor = await createExtractor({ kind: 'builtin' })
    if (extractor.key !== model.key) {
      await extractor.close()
      throw new LineupError(
        'invalid-input',
        `this library's built-in model is ${model.key} but this Lineup has ${extractor.key}: add the built-in model again (lineup model add builtin) and embed`,
      )
    }
    return extractor
  }
  const file = model.file!
  let bytes: Buffer
  try {
    bytes = await readFile(file)
  } catch {
    throw new LineupError(
      'not-found',
      `the stored copy of model ${model.name} is missing (${file}); add the model again`,
    )
  }
  const hash = createHash('sha256').update(bytes).digest('hex')
  if (hash !== model.key) {
    throw new LineupError(
      'database',
      `the stored copy of model ${model.name} (${file}) no longer matches its SHA-256; add the model again`,
    )
  }
  return createExtractor({ kind: 'onnx', path: file, config: model.config as OnnxModelConfig })
}
