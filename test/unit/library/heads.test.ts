import { join } from 'node:path'
import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { LineupError } from '../../../src-shared/errors'
import { readAudit } from '../../../src-main/engine/audit/log'
import { openLibrary, type Db } from '../../../src-main/engine/db/open'
import { embedFromBase, loadHead, saveHeadModel } from '../../../src-main/engine/library/heads'
import { getModel, insertModel, type StoredModel } from '../../../src-main/engine/library/models'
import { applyHeadOnnx } from '../../../src-main/engine/ml/onnx/head-applier'
import { centerRows, fitCentering } from '../../../src-main/engine/training/centering'
import { applyHead, headHash, type HeadWeights } from '../../../src-main/engine/training/head'
import { rawDb } from '../../helpers/db'
import { tempDir } from '../../helpers/tmp'

const tmp = tempDir()
afterAll(() => tmp.dispose())
let n = 0

const IN = 8
const OUT = 4
/** More crops than embedFromBase reads per chunk (4096), so the chunking is exercised. */
const CROPS = 5000
/** Crops with id ≡ 0 (mod 7) have no base vector. */
const hasBase = (crop: number) => crop % 7 !== 0

function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function randomHead(seed: number): HeadWeights {
  const r = mulberry32(seed)
  return {
    inDim: IN,
    outDim: OUT,
    W: Float32Array.from({ length: IN * OUT }, () => r() * 2 - 1),
    b: Float32Array.from({ length: OUT }, () => (r() - 0.5) * 0.1),
  }
}

/** An L2-normalised base vector per crop, from its id. */
function baseVector(crop: number): Float32Array {
  const r = mulberry32(crop * 31 + 7)
  const v = Float32Array.from({ length: IN }, () => r() * 2 - 1)
  const norm = Math.hypot(...v)
  return v.map((x) => x / norm)
}

const asBuffer = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength)
const asFloats = (b: Buffer) => new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength))

let path: string
let db: Db
let base: StoredModel

beforeEach(() => {
  path = join(tmp.path, `heads-${++n}.lineup`)
  db = openLibrary(path)
  db.prepare(`INSERT INTO sources (root, layout, created_at) VALUES ('/c', 'generic', 'now')`).run()
  db.prepare(
    `INSERT INTO jobs (kind, status, params, started_at) VALUES ('import', 'done', '{}', 'now')`,
  ).run()
  const crop = db.prepare(
    `INSERT INTO crops (id, source_id, rel_path, sha256, bytes, width, height, format, kind, imported_at, job_id)
     VALUES (?, 1, ?, ?, 1, 1, 1, 'jpeg', 'unlabelled', 'now', 1)`,
  )
  const put = db.prepare('INSERT INTO embeddings (model_id, crop_id, vector) VALUES (?, ?, ?)')
  base = insertModel(db, {
    key: 'builtin:test@1',
    kind: 'builtin',
    name: 'base',
    dim: IN,
    config: {},
    file: null,
    bytes: null,
  }).model
  db.transaction(() => {
    for (let c = 1; c <= CROPS; c++) {
      crop.run(c, `${c}.jpg`, c.toString(16).padStart(64, '0'))
      if (hasBase(c)) put.run(base.id, c, asBuffer(baseVector(c)))
    }
  })()
  base = getModel(db, base.id)
  return () => db.close()
})

const meta = { name: 'base + rank-triplet head', loss: 'rank-triplet', seed: 7, runId: null }

describe('saveHeadModel and loadHead', () => {
  it('store a head as a model version of its base and read back the same weights', () => {
    const head = randomHead(1)
    const { model, created } = saveHeadModel(db, base, head, meta)
    expect(created).toBe(true)
    expect(model).toMatchObject({
      key: `head:${headHash(head)}`,
      kind: 'head',
      name: meta.name,
      dim: OUT,
      baseModelId: base.id,
      active: false,
      file: null,
      config: { baseKey: base.key, loss: 'rank-triplet', seed: 7, runId: null, inDim: IN },
    })
    const back = loadHead(db, model)
    expect(back.inDim).toBe(IN)
    expect(back.outDim).toBe(OUT)
    expect(Array.from(back.W)).toEqual(Array.from(head.W))
    expect(Array.from(back.b)).toEqual(Array.from(head.b))
    expect(headHash(back)).toBe(headHash(head))
    const row = db.prepare('SELECT in_dim, out_dim, sha256 FROM heads WHERE model_id = ?').get(model.id)
    expect(row).toEqual({ in_dim: IN, out_dim: OUT, sha256: headHash(head) })
    const audit = readAudit(db).filter((e) => e.action === 'model.fine-tuned')
    expect(audit).toHaveLength(1)
    expect(audit[0]!.details).toMatchObject({
      model: model.key,
      base: base.key,
      loss: 'rank-triplet',
      seed: 7,
    })
  })

  it('keeps one model for the same weights saved twice, and a second one for other weights', () => {
    const head = randomHead(2)
    const first = saveHeadModel(db, base, head, meta)
    const again = saveHeadModel(
      db,
      base,
      { ...head, W: head.W.slice(), b: head.b.slice() },
      {
        ...meta,
        name: 'another name',
      },
    )
    expect(again.created).toBe(false)
    expect(again.model.id).toBe(first.model.id)
    expect(again.model.name).toBe(meta.name)
    const other = saveHeadModel(db, base, randomHead(3), meta)
    expect(other.created).toBe(true)
    expect(other.model.id).not.toBe(first.model.id)
    expect(db.prepare(`SELECT count(*) FROM models WHERE kind = 'head'`).pluck().get()).toBe(2)
    expect(db.prepare('SELECT count(*) FROM heads').pluck().get()).toBe(2)
    expect(readAudit(db).filter((e) => e.action === 'model.fine-tuned')).toHaveLength(2)
  })

  it('refuses a head whose input size is not the base model’s', () => {
    const head = { ...randomHead(4), inDim: IN + 1, W: new Float32Array((IN + 1) * OUT) }
    expect(() => saveHeadModel(db, base, head, meta)).toThrow(/takes 9-d features but base gives 8-d/)
    expect(db.prepare(`SELECT count(*) FROM models WHERE kind = 'head'`).pluck().get()).toBe(0)
  })

  it('throws a database error when the stored weights were edited behind its back', () => {
    const head = randomHead(5)
    const { model } = saveHeadModel(db, base, head, meta)
    const raw = rawDb(path)
    try {
      const bytes = raw
        .prepare('SELECT weights FROM heads WHERE model_id = ?')
        .pluck()
        .get(model.id) as Buffer
      const edited = Buffer.from(bytes)
      edited[5] = edited[5]! ^ 0x01 // one bit of one weight
      raw.prepare('UPDATE heads SET weights = ? WHERE model_id = ?').run(edited, model.id)
    } finally {
      raw.close()
    }
    const err = (() => {
      try {
        loadHead(db, model)
      } catch (e) {
        return e
      }
      return null
    })()
    expect(err).toBeInstanceOf(LineupError)
    expect((err as LineupError).kind).toBe('database')
    expect((err as LineupError).message).toMatch(/stored weights of .* no longer match their SHA-256/)
  })

  it('throws a database error when the stored hash column was edited, or the weights are gone', () => {
    const { model } = saveHeadModel(db, base, randomHead(6), meta)
    const raw = rawDb(path)
    try {
      raw.prepare('UPDATE heads SET sha256 = ? WHERE model_id = ?').run('f'.repeat(64), model.id)
    } finally {
      raw.close()
    }
    expect(() => loadHead(db, model)).toThrow(expect.objectContaining({ kind: 'database' }))
    db.prepare('DELETE FROM heads WHERE model_id = ?').run(model.id)
    expect(() => loadHead(db, model)).toThrow(
      expect.objectContaining({ kind: 'database', message: expect.stringMatching(/weights are missing/) }),
    )
  })
})

describe('embedFromBase', () => {
  const headVectors = (model: StoredModel) =>
    new Map(
      (
        db
          .prepare('SELECT crop_id, vector FROM embeddings WHERE model_id = ? ORDER BY crop_id')
          .all(model.id) as {
          crop_id: number
          vector: Buffer
        }[]
      ).map((r) => [r.crop_id, r.vector]),
    )

  /** Saves a head, runs embedFromBase, and compares what it stored with applyHead of the base vectors. */
  async function embedAndCompare(seed: number, reference: 'onnx' | 'js' = 'js') {
    const head = randomHead(seed)
    const { model } = saveHeadModel(db, base, head, meta)
    const progress: [number, number][] = []
    const added = await embedFromBase(db, model, (done, total) => progress.push([done, total]))
    const withBase = Array.from({ length: CROPS }, (_, i) => i + 1).filter(hasBase)
    const stored = headVectors(model)
    const x = new Float32Array(withBase.length * IN)
    withBase.forEach((c, i) => x.set(baseVector(c), i * IN))
    const want =
      reference === 'onnx'
        ? await applyHeadOnnx(head, x, withBase.length)
        : applyHead(head, x, withBase.length)
    let mismatched = 0
    let maxDiff = 0
    withBase.forEach((c, i) => {
      const got = stored.get(c)
      if (!got || got.byteLength !== OUT * 4) {
        mismatched += OUT
        maxDiff = Infinity
        return
      }
      const v = asFloats(got)
      for (let k = 0; k < OUT; k++) {
        const d = Math.abs(v[k]! - want[i * OUT + k]!)
        if (d !== 0) mismatched++
        maxDiff = Math.max(maxDiff, d)
      }
    })
    return {
      model,
      added,
      progress,
      withBase,
      stored,
      mismatched,
      maxDiff,
      components: withBase.length * OUT,
    }
  }

  it('gives the head model a vector for exactly the crops with a base vector, ≈ applyHead of it', async () => {
    const r = await embedAndCompare(7)
    expect(r.added).toBe(r.withBase.length)
    expect(r.progress.at(-1)).toEqual([r.withBase.length, r.withBase.length])
    expect([...r.stored.keys()]).toEqual(r.withBase)
    expect(r.maxDiff).toBeLessThan(1e-5)
    expect(getModel(db, r.model.id).embedded).toBe(r.withBase.length)
  })

  it('writes exactly applyHeadOnnx(base vector), bit for bit (as eval --head and the model extractor compute it)', async () => {
    // features/model-extractor.ts embeds new crops and query images of a head model with
    // applyHeadOnnx, and lineup train / eval --head use it too: the library's bulk vectors (computed
    // in chunks of 4096 rows) must be the same numbers as one call over all rows.
    const r = await embedAndCompare(11, 'onnx')
    expect({ mismatched: r.mismatched, of: r.components, maxDiff: r.maxDiff }).toEqual({
      mismatched: 0,
      of: r.components,
      maxDiff: 0,
    })
  })

  it('is resumable: a second call adds nothing, and after a partial loss it adds only what is missing', async () => {
    const { model } = saveHeadModel(db, base, randomHead(8), meta)
    const first = await embedFromBase(db, model)
    expect(first).toBeGreaterThan(4096)
    const before = headVectors(model)
    expect(await embedFromBase(db, model)).toBe(0)
    expect(headVectors(model)).toEqual(before)
    // Some vectors lost (as if a run stopped half-way): only those are computed, the same as before.
    const removed = db
      .prepare('DELETE FROM embeddings WHERE model_id = ? AND crop_id > 4000 AND crop_id % 3 = 0')
      .run(model.id).changes
    expect(removed).toBeGreaterThan(0)
    expect(await embedFromBase(db, model)).toBe(removed)
    expect(headVectors(model)).toEqual(before)
    // The base model's vectors are untouched.
    expect(db.prepare('SELECT count(*) FROM embeddings WHERE model_id = ?').pluck().get(base.id)).toBe(first)
  })

  it('refuses a model that is not a fine-tuned version', async () => {
    await expect(async () => embedFromBase(db, base)).rejects.toThrow(
      expect.objectContaining({
        kind: 'invalid-input',
        message: expect.stringMatching(/is not a fine-tuned version/),
      }),
    )
    expect(db.prepare('SELECT count(*) FROM embeddings WHERE model_id = ?').pluck().get(base.id)).toBe(
      Array.from({ length: CROPS }, (_, i) => i + 1).filter(hasBase).length,
    )
  })

  it('refuses a head whose stored weights no longer match, writing nothing', async () => {
    const { model } = saveHeadModel(db, base, randomHead(9), meta)
    db.prepare('UPDATE heads SET weights = zeroblob(length(weights)) WHERE model_id = ?').run(model.id)
    await expect(async () => embedFromBase(db, model)).rejects.toThrow(
      expect.objectContaining({ kind: 'database' }),
    )
    expect(db.prepare('SELECT count(*) FROM embeddings WHERE model_id = ?').pluck().get(model.id)).toBe(0)
  })
})

describe('a head with camera centering', () => {
  /** Crops get cameras c1…c3 by id (every fifth crop has none); the centering is fitted on crops 1–1000. */
  function withCameras(): { head: HeadWeights; cameraOf: (crop: number) => string | null } {
    const cameraOf = (crop: number) => (crop % 5 === 0 ? null : `c${(crop % 3) + 1}`)
    const cam = db.prepare('INSERT INTO cameras (name) VALUES (?) RETURNING id').pluck()
    const ids = new Map(['c1', 'c2', 'c3'].map((c) => [c, cam.get(c) as number]))
    const set = db.prepare('UPDATE crops SET camera_id = ? WHERE id = ?')
    db.transaction(() => {
      for (let c = 1; c <= CROPS; c++) {
        const name = cameraOf(c)
        if (name) set.run(ids.get(name)!, c)
      }
    })()
    const fit = Array.from({ length: 1000 }, (_, i) => i + 1)
    const x = new Float32Array(fit.length * IN)
    fit.forEach((c, i) => x.set(baseVector(c), i * IN))
    const centering = fitCentering(x, fit.length, IN, fit.map(cameraOf))
    expect(centering.cameras).toEqual(['c1', 'c2', 'c3'])
    return { head: { ...randomHead(21), centering }, cameraOf }
  }

  it('is stored and read back with its centering, under a hash that covers it', () => {
    const { head } = withCameras()
    const plain = { ...head, centering: undefined }
    expect(headHash(head)).not.toBe(headHash(plain))
    const { model } = saveHeadModel(db, base, head, meta)
    expect(model.key).toBe(`head:${headHash(head)}`)
    const back = loadHead(db, model)
    expect(back.centering).toEqual(head.centering)
    // The same weights without centering are another version; an old head reads back without any.
    const other = saveHeadModel(db, base, plain, meta)
    expect(other.created).toBe(true)
    expect(loadHead(db, other.model).centering).toBeUndefined()
  })

  it('refuses a centering of another size than the head’s input', () => {
    const { head } = withCameras()
    const bad = { ...head, centering: { ...head.centering!, dim: IN + 1 } }
    expect(() => saveHeadModel(db, base, bad, meta)).toThrow(/centering is 9-d but the head takes 8-d/)
  })

  it('throws a database error when the stored means were edited', () => {
    const { head } = withCameras()
    const { model } = saveHeadModel(db, base, head, meta)
    db.prepare('UPDATE heads SET center_means = zeroblob(length(center_means)) WHERE model_id = ?').run(
      model.id,
    )
    expect(() => loadHead(db, model)).toThrow(
      expect.objectContaining({ kind: 'database', message: expect.stringMatching(/no longer match/) }),
    )
  })

  it('embeds each crop centred on its own camera’s mean: the same bits as applyHeadOnnx with the cameras, not without', async () => {
    const { head, cameraOf } = withCameras()
    const { model } = saveHeadModel(db, base, head, meta)
    await embedFromBase(db, model)
    const withBase = Array.from({ length: CROPS }, (_, i) => i + 1).filter(hasBase)
    const x = new Float32Array(withBase.length * IN)
    withBase.forEach((c, i) => x.set(baseVector(c), i * IN))
    const want = await applyHeadOnnx(head, x, withBase.length, withBase.map(cameraOf))
    const blind = await applyHeadOnnx(head, x, withBase.length)
    const stored = db
      .prepare('SELECT crop_id, vector FROM embeddings WHERE model_id = ? ORDER BY crop_id')
      .all(model.id) as { crop_id: number; vector: Buffer }[]
    expect(stored.map((r) => r.crop_id)).toEqual(withBase)
    const got = new Float32Array(withBase.length * OUT)
    stored.forEach((r, i) => got.set(asFloats(r.vector), i * OUT))
    expect(Buffer.from(got.buffer).equals(Buffer.from(want.buffer))).toBe(true)
    expect(Buffer.from(got.buffer).equals(Buffer.from(blind.buffer))).toBe(false)
    // ≈ the plain-TypeScript head on the centred rows.
    const js = applyHead(
      { ...head, centering: undefined },
      centerRows(head.centering!, x, withBase.length, withBase.map(cameraOf)),
    )
    expect(() => applyHead(head, x)).toThrow(/does not apply camera centering/)
    let maxDiff = 0
    for (let i = 0; i < js.length; i++) maxDiff = Math.max(maxDiff, Math.abs(js[i]! - got[i]!))
    expect(maxDiff).toBeLessThan(1e-5)
  })
})
