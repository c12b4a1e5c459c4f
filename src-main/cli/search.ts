import { existsSync, readFileSync } from 'node:fs'
import { parseInput } from '../../src-shared/api'
import type { SearchResult } from '../../src-shared/domain'
import { LineupError } from '../../src-shared/errors'
import { extractorForModel } from '../engine/features/model-extractor'
import { activeModel, getModel, resolveModel } from '../engine/library/models'
import { LineupService } from '../engine/service'
import { parse, positiveInt, UsageError } from './args'

export const searchUsage = `lineup search --db <library-file> --query <crop-id|image-file> [--query …] [--k 20] [--offset N]
              [--camera NAME …] [--exclude-query-camera] [--identity LABEL] [--from ISO --to ISO]
              [--fusion mean|max] [--model <id|name|key-prefix>] [--json]

Ranks the library's crops by appearance against one or several query crops (several queries of the
same person are fused: mean or max similarity). A query is a crop id of the library, or an image
file, which is embedded with the model first. Distances are squared Euclidean between L2-normalised
vectors (0 = identical, 4 = opposite). The library must be embedded with the model (lineup embed).`

export async function searchCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    db: { type: 'string' },
    query: { type: 'string', multiple: true },
    k: { type: 'string' },
    offset: { type: 'string' },
    camera: { type: 'string', multiple: true },
    'exclude-query-camera': { type: 'boolean', default: false },
    identity: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    fusion: { type: 'string' },
    model: { type: 'string' },
    json: { type: 'boolean', default: false },
  })
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`)
  if (!values.db) throw new UsageError('--db <library-file> is required')
  if (!values.query || values.query.length === 0)
    throw new UsageError('give at least one --query (a crop id or an image file)')
  if (!existsSync(values.db)) throw new LineupError('not-found', `library not found: ${values.db}`)
  const service = new LineupService({ dbPath: values.db, host: 'browser' })
  try {
    const model =
      values.model !== undefined ? resolveModel(service.db, values.model) : activeModel(service.db)
    if (!model)
      throw new LineupError(
        'invalid-input',
        'no active model: add one (lineup model add) and embed the library (lineup embed)',
      )
    const cropIds: number[] = []
    const files: string[] = []
    for (const q of values.query) {
      if (/^\d+$/.test(q)) cropIds.push(Number(q))
      else if (existsSync(q)) files.push(q)
      else throw new UsageError(`--query "${q}" is neither a crop id nor an existing image file`)
    }
    const input = parseInput('search.query', {
      cropIds: cropIds.length > 0 ? cropIds : [1],
      k: positiveInt('--k', values.k) ?? 20,
      offset: values.offset === undefined ? 0 : Number(values.offset),
      fusion: values.fusion ?? 'mean',
      cameras: values.camera,
      excludeQueryCameras: values['exclude-query-camera'],
      identity: values.identity,
      from: values.from,
      to: values.to,
      modelId: model.id,
    })
    let result: SearchResult
    if (files.length > 0) {
      const extractor = await extractorForModel(getModel(service.db, model.id), service.db)
      let vectors: Float32Array
      try {
        vectors = await extractor.embed(files.map((f) => readFileSync(f)))
      } finally {
        await extractor.close()
      }
      result = await service.search.queryVectors(model, vectors, { ...input, cropIds })
    } else {
      result = await service['search.query'](input)
    }
    if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`)
    else {
      process.stdout.write(
        `model ${result.modelName} (${result.modelKey.slice(0, 16)}) · ${result.total} crops match the filters · ${result.milliseconds.toFixed(1)} ms\n`,
      )
      for (const h of result.hits) {
        const c = h.crop
        process.stdout.write(
          `${String(h.rank).padStart(5)}  crop ${String(c.id).padEnd(7)} ${h.distance.toFixed(4)}  ${c.camera ?? '-'}  ${c.identity ?? '-'}  ${c.timestamp ?? ''}\n`,
        )
      }
      if (result.missing.length > 0)
        process.stdout.write(
          `not embedded yet (left out of the query): ${result.missing.join(', ')}; run lineup embed\n`,
        )
    }
    return 0
  } finally {
    await service.close()
  }
}
