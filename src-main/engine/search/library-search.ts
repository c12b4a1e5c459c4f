import type { Parsed } from '../../../src-shared/api'
import type { SearchHit, SearchResult } from '../../../src-shared/domain'
import { LineupError } from '../../../src-shared/errors'
import type { Db } from '../db/open'
import { activeModel, getModel, type StoredModel } from '../library/models'
import { buildIndex, type EmbeddingRow } from './build'
import type { SearchFilter } from './filters'
import { FEEDBACK, penaliseNearRejected, rocchioQuery } from './feedback'
import type { VectorIndex } from './index'

/** Search options as the contract gives them, without the query crops. */
export type SearchOptions = Omit<Parsed<'search.query'>, 'cropIds' | 'modelId' | 'rejectIds'> & {
  cropIds: number[]
}

interface Loaded {
  index: VectorIndex
  /** Embedding rows of the model when loaded: a different count means the index is stale. */
  count: number
  /** Identity label → dense id for the index's filter column. */
  identityIds: Map<string, number>
}

/**
 * Query-by-example over a library (issue #4): one exact in-memory index per model (search/index.ts:
 * onnxruntime GEMV over column-major panels, ≈ 1.1× the memory-bandwidth floor), loaded from the
 * `embeddings` table on first use and reloaded when that model's vectors change, with the crops'
 * camera, identity and time beside each vector for the filters.
 */
export class LibrarySearch {
  private readonly cache = new Map<number, Loaded>()

  constructor(private readonly db: Db) {}

  /** Drops cached indices (all, or one model's). */
  invalidate(modelId?: number): void {
    if (modelId === undefined) this.cache.clear()
    else this.cache.delete(modelId)
  }

  private load(model: StoredModel): Loaded {
    const count = this.db
      .prepare('SELECT count(*) FROM embeddings WHERE model_id = ?')
      .pluck()
      .get(model.id) as number
    const cached = this.cache.get(model.id)
    if (cached && cached.count === count) return cached
    const identityIds = new Map<string, number>()
    const rows = this.db
      .prepare(
        `SELECT e.crop_id AS id, e.vector AS vector, c.camera_id AS camera, c.identity AS identity, c.timestamp AS timestamp
         FROM embeddings e JOIN crops c ON c.id = e.crop_id WHERE e.model_id = ? ORDER BY e.crop_id`,
      )
      .iterate(model.id) as Iterable<{
      id: number
      vector: Buffer
      camera: number | null
      identity: string | null
      timestamp: string | null
    }>
    function* embeddingRows(): Generator<EmbeddingRow> {
      for (const r of rows) {
        let identity: number | null = null
        if (r.identity !== null) {
          identity = identityIds.get(r.identity) ?? identityIds.size
          identityIds.set(r.identity, identity)
        }
        yield {
          cropId: r.id,
          vector: r.vector,
          camera: r.camera,
          identity,
          timestamp: r.timestamp === null ? null : Date.parse(r.timestamp),
        }
      }
    }
    const index = buildIndex(embeddingRows(), model.dim, { modelKey: model.key, expectedRows: count })
    const loaded = { index, count, identityIds }
    this.cache.set(model.id, loaded)
    return loaded
  }

  private model(modelId: number | undefined): StoredModel {
    const model = modelId !== undefined ? getModel(this.db, modelId) : activeModel(this.db)
    if (!model) throw new LineupError('invalid-input', 'no active model: add one and embed the library first')
    return model
  }

  /** `search.query`: the query crops' own vectors, fused. */
  async query(input: Parsed<'search.query'>): Promise<SearchResult> {
    const model = this.model(input.modelId)
    const loaded = this.load(model)
    const missing: number[] = []
    const present: number[] = []
    for (const id of input.cropIds) {
      const exists = this.db.prepare('SELECT 1 FROM crops WHERE id = ?').get(id)
      if (!exists) throw new LineupError('not-found', `crop ${id} is not in this library`)
      if (loaded.index.rowOf(id) >= 0) present.push(id)
      else missing.push(id)
    }
    if (present.length === 0) {
      throw new LineupError(
        'invalid-input',
        `query crop${missing.length > 1 ? 's' : ''} ${missing.join(', ')} ha${missing.length > 1 ? 've' : 's'} no vector from model ${model.name} yet: embed the library first (Embed library in the Search view, or lineup embed)`,
      )
    }
    const vectors = new Float32Array(present.length * model.dim)
    present.forEach((id, i) => vectors.set(loaded.index.vector(loaded.index.rowOf(id)), i * model.dim))
    const rejected = (input.rejectIds ?? []).filter((id) => loaded.index.rowOf(id) >= 0)
    if (rejected.length === 0) {
      const result = await this.queryVectors(model, vectors, { ...input, cropIds: present })
      return { ...result, missing }
    }
    return {
      ...(await this.feedbackQuery(model, loaded, vectors, rejected, { ...input, cropIds: present })),
      missing,
    }
  }

  /** Relevance feedback (search/feedback.ts): Rocchio query, then rejected look-alikes pushed down. */
  private async feedbackQuery(
    model: StoredModel,
    loaded: Loaded,
    positives: Float32Array,
    rejected: number[],
    options: SearchOptions,
  ): Promise<SearchResult> {
    const started = performance.now()
    const d = model.dim
    const neg = new Float32Array(rejected.length * d)
    rejected.forEach((id, i) => neg.set(loaded.index.vector(loaded.index.rowOf(id)), i * d))
    const q = rocchioQuery(positives, neg, d, FEEDBACK.gamma)
    const wide = await this.queryVectors(model, q, {
      ...options,
      k: Math.max(FEEDBACK.window, options.offset + options.k),
      offset: 0,
    })
    const cand = new Float32Array(wide.hits.length * d)
    wide.hits.forEach((h, i) => cand.set(loaded.index.vector(loaded.index.rowOf(h.crop.id)), i * d))
    const { order, distances } = penaliseNearRejected(
      wide.hits.map((h) => h.distance),
      cand,
      neg,
      d,
      FEEDBACK,
    )
    const page = Array.from(order.subarray(options.offset, options.offset + options.k), (i, j) => ({
      ...wide.hits[i]!,
      rank: options.offset + j + 1,
      distance: distances[options.offset + j]!,
    }))
    return { ...wide, offset: options.offset, hits: page, milliseconds: performance.now() - started }
  }

  /**
   * Ranks the library against query vectors (L2-normalised, rows of model.dim). `cropIds` are
   * the query crops, if any: excluded from the results when `excludeQueries`, and their cameras
   * are the ones `excludeQueryCameras` leaves out.
   */
  async queryVectors(
    model: StoredModel,
    vectors: Float32Array,
    options: SearchOptions,
  ): Promise<SearchResult> {
    const started = performance.now()
    if (vectors.length === 0 || vectors.length % model.dim !== 0) {
      throw new LineupError('invalid-input', `query vectors must be rows of ${model.dim} values`)
    }
    const loaded = this.load(model)
    const cameraId = this.db.prepare('SELECT id FROM cameras WHERE name = ?').pluck()
    const filter: SearchFilter = {}
    if (options.cameras && options.cameras.length > 0) {
      filter.cameras = options.cameras.map((n) => (cameraId.get(n) as number | undefined) ?? -2)
    }
    if (options.excludeQueryCameras) {
      const cams: number[] = []
      for (const id of options.cropIds) {
        const cam = this.db.prepare('SELECT camera_id FROM crops WHERE id = ?').pluck().get(id) as
          number | null | undefined
        if (cam !== null && cam !== undefined) cams.push(cam)
      }
      filter.excludeCameras = cams
    }
    if (options.identity !== undefined) filter.identity = loaded.identityIds.get(options.identity) ?? -2
    if (options.from !== undefined) filter.timeFrom = Date.parse(options.from)
    if (options.to !== undefined) filter.timeTo = Date.parse(options.to)
    if (options.excludeQueries) filter.excludeIds = options.cropIds
    const ranking = await loaded.index.search(vectors, {
      k: options.k,
      offset: options.offset,
      fusion: options.fusion,
      filter,
    })
    const detail = this.db.prepare(
      `SELECT crops.id AS id, cameras.name AS camera, crops.identity AS identity, crops.kind AS kind, crops.width AS width,
              crops.height AS height, crops.timestamp AS timestamp
       FROM crops LEFT JOIN cameras ON cameras.id = crops.camera_id WHERE crops.id = ?`,
    )
    const hits: SearchHit[] = Array.from(ranking.ids, (id, i) => ({
      rank: ranking.ranks[i]!,
      crop: detail.get(id) as SearchHit['crop'],
      distance: ranking.distances[i]!,
    }))
    return {
      modelKey: model.key,
      modelName: model.name,
      queries: options.cropIds,
      total: ranking.total,
      offset: options.offset,
      hits,
      missing: [],
      milliseconds: performance.now() - started,
    }
  }
}
