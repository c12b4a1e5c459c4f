import { existsSync, mkdirSync, renameSync, statSync, writeFileSync, rmSync } from 'node:fs'
import { basename, dirname, extname, join, resolve } from 'node:path'
import type { Parsed } from '../../../src-shared/api'
import type { OnnxModelConfig } from '../../../src-shared/domain'
import { LineupError } from '../../../src-shared/errors'
import { appendAudit } from '../audit/log'
import type { Db } from '../db/open'
import { activateModel, findModelByKey, insertModel, type StoredModel } from '../library/models'
import { probeModel, readModelFile } from '../ml/onnx/probe'
import { createExtractor } from './registry'

/** ImageNet normalisation, which torchreid and fast-reid models use. */
const DEFAULT_MEAN: [number, number, number] = [0.485, 0.456, 0.406]
const DEFAULT_STD: [number, number, number] = [0.229, 0.224, 0.225]

/** Where a library keeps its own copies of ONNX models: `<library>.models/<sha256>.onnx`. */
export function modelStoreDir(dbPath: string): string {
  const abs = resolve(dbPath)
  return join(dirname(abs), `${basename(abs)}.models`)
}

/**
 * Adds a model to the library (`models.add`): the built-in descriptor (`path: 'builtin'`), or an
 * ONNX file, which is inspected and test-run in a child process before anything is stored; then
 * copied into the library's model store under its SHA-256 (write to a temporary name, rename), so
 * the library does not depend on where the original lives. The same file added twice is one model.
 */
export async function addModel(db: Db, dbPath: string, input: Parsed<'models.add'>): Promise<StoredModel> {
  let model: StoredModel
  let created: boolean
  if (input.path === 'builtin') {
    const extractor = await createExtractor({ kind: 'builtin' })
    await extractor.close()
    ;({ model, created } = insertModel(db, {
      key: extractor.key,
      kind: 'builtin',
      name: input.name ?? 'Built-in stripes descriptor',
      dim: extractor.dim,
      config: {},
      file: null,
      bytes: null,
    }))
  } else {
    const path = resolve(input.path)
    if (!existsSync(path)) throw new LineupError('not-found', `model file not found: ${path}`)
    if (statSync(path).isDirectory())
      throw new LineupError('invalid-input', `${path} is a folder; give the .onnx file`)
    const probe = await probeModel(path, {
      input: input.input,
      output: input.output,
      inputSize: input.inputSize,
    })
    const existing = findModelByKey(db, probe.sha256)
    if (existing) {
      // The same file is one model: its vectors are keyed by the file's hash, so a second set of
      // preprocessing settings for it would mix two embedding spaces under one key.
      const had = existing.config as OnnxModelConfig
      const wants = { inputSize: probe.inputSize, mean: input.mean ?? had.mean, std: input.std ?? had.std }
      if (
        JSON.stringify([had.inputSize, had.mean, had.std]) !==
        JSON.stringify([wants.inputSize, wants.mean, wants.std])
      ) {
        throw new LineupError(
          'conflict',
          `this file is already model ${existing.id} (${existing.name}) with input ${had.inputSize.join('x')}, mean ${had.mean.join(',')}, std ${had.std.join(',')}; ` +
            'one file is one model: use it as it is, or export a copy of the network for other settings',
        )
      }
      ;({ model, created } = { model: existing, created: false })
    } else {
      const config: OnnxModelConfig = {
        input: probe.model.inputName,
        output: probe.model.outputName,
        inputSize: probe.inputSize,
        mean: input.mean ?? DEFAULT_MEAN,
        std: input.std ?? DEFAULT_STD,
      }
      const store = modelStoreDir(dbPath)
      mkdirSync(store, { recursive: true })
      const stored = join(store, `${probe.sha256}.onnx`)
      if (!existsSync(stored)) {
        const tmp = `${stored}.${process.pid}.tmp`
        try {
          writeFileSync(tmp, readModelFile(path))
          renameSync(tmp, stored)
        } finally {
          rmSync(tmp, { force: true })
        }
      }
      ;({ model, created } = insertModel(db, {
        key: probe.sha256,
        kind: 'onnx',
        name: input.name ?? basename(path, extname(path)),
        dim: probe.outputDim,
        config,
        file: stored,
        bytes: probe.bytes,
      }))
    }
  }
  if (created) {
    appendAudit(db, 'analyst', 'model.add', {
      model: model.key,
      name: model.name,
      kind: model.kind,
      dim: model.dim,
      source: input.path,
    })
  }
  if (input.activate && !model.active) {
    model = activateModel(db, model.id)
    appendAudit(db, 'analyst', 'model.activate', { model: model.key, name: model.name })
  }
  return model
}
