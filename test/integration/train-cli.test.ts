import { createHash } from 'node:crypto'
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildPooled } from '../../src-main/engine/ml/onnx/build-model'
import { tfBackendNames } from '../../src-main/engine/ml/tf/backend'
import { headFromBytes } from '../../src-main/engine/library/heads'
import type { HeadManifest } from '../../src-main/engine/training/head-folder'
import { applyHead, headHash } from '../../src-main/engine/training/head'
import { jsonLines, runCli } from '../helpers/cli'
import { integrity, rawDb } from '../helpers/db'
import { explainSkip, hasShared, marketDir, sharedDir } from '../helpers/paths'
import { tempDir } from '../helpers/tmp'
import { makeToyDataset } from '../helpers/toy-dataset'

const tmp = tempDir('lineup-train-cli-')
// Every spawned lineup inherits process.env: keep its feature cache and run checkpoints out of ~/.cache.
const savedCacheDir = process.env.LINEUP_CACHE_DIR
process.env.LINEUP_CACHE_DIR = join(tmp.path, 'cache')
afterAll(() => {
  if (savedCacheDir === undefined) delete process.env.LINEUP_CACHE_DIR
  else process.env.LINEUP_CACHE_DIR = savedCacheDir
  tmp.dispose()
})

const OSNET = resolve(sharedDir, 'models/osnet_x0_25_msmt17/osnet_x0_25_msmt17.onnx')
const BUILTIN_KEY = 'builtin:lomo-xqda@1'

/** The toy dataset: 12 training identities × 6 images, 8 query identities against 30 gallery images. */
const toy = join(tmp.path, 'toy')
let toyCounts = { train: 0, query: 0, gallery: 0 }
/** Small batches, so an epoch has several steps; 20 epochs at most. */
const FAST = ['--epochs', '20', '--p', '4', '--k', '2']

type Figures = { R1: number; mAP: number }
interface Final {
  before: Figures
  after: Figures
  train_seconds: number
  backend: string
  steps: number
  epochs: number
  best_epoch: number
  stop: string
  loss: string
  seed: number
  resumed_from_step: number
  model: number | null
  out: string | null
}
interface Run {
  code: number | null
  lines: Record<string, unknown>[]
  last: Record<string, unknown>
  stderr: string
  stdout: string
}

async function lineup(args: string[]): Promise<Run> {
  const r = await runCli([...args, '--json'])
  const lines = jsonLines(r.stdout)
  return { code: r.code, lines, last: lines.at(-1) ?? {}, stderr: r.stderr, stdout: r.stdout }
}
const train = (args: string[]) => lineup(['train', ...args])
const final = (r: Run) => r.last as unknown as Final
const errorOf = (r: Run) => (r.last as { error?: { kind: string; message: string } }).error
const manifestOf = (dir: string) =>
  JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as HeadManifest

/** Copies a head folder (without its checkpoint) to tamper with the copy. */
function copyHead(from: string, to: string): string {
  mkdirSync(to, { recursive: true })
  for (const f of ['manifest.json', 'head.bin', 'history.json']) copyFileSync(join(from, f), join(to, f))
  return to
}

beforeAll(async () => {
  toyCounts = await makeToyDataset(toy)
})

describe('lineup train <folder> --builtin', () => {
  const outA = join(tmp.path, 'head-a')
  let a: Run

  beforeAll(async () => {
    a = await train([toy, '--builtin', '--out', outA, ...FAST])
  })

  it('exits 0 and ends with the JSON summary: before/after, seconds, backend, steps', () => {
    expect(a.code, a.stderr).toBe(0)
    expect(a.stderr).toBe('')
    const f = final(a)
    const start = a.lines[0] as { event: string; backend: string; attempts: { name: string; ok: boolean }[] }
    expect(start.event).toBe('start')
    for (const fig of [f.before, f.after]) {
      expect(Object.keys(fig).sort()).toEqual(['R1', 'mAP'])
      expect(fig.R1).toBeGreaterThanOrEqual(0)
      expect(fig.R1).toBeLessThanOrEqual(1)
      expect(fig.mAP).toBeGreaterThan(0)
      expect(fig.mAP).toBeLessThanOrEqual(1)
    }
    expect(f.train_seconds).toBeGreaterThan(0)
    expect(f.train_seconds).toBeLessThan(60)
    expect(tfBackendNames).toContain(f.backend)
    expect(f.backend).toBe(start.backend)
    // Without the native TensorFlow packages (this machine), the WebAssembly backend runs.
    const native = start.attempts.filter((x) => x.name === 'tfjs-node-gpu' || x.name === 'tfjs-node')
    if (native.every((x) => !x.ok)) expect(f.backend).toBe('wasm')
    expect(f.steps).toBeGreaterThan(0)
    expect(f).toMatchObject({ loss: 'rank-triplet', seed: 1, resumed_from_step: 0, model: null, out: outA })
    expect(f.epochs).toBeGreaterThanOrEqual(1)
    expect(f.epochs).toBeLessThanOrEqual(20)
    expect(f.best_epoch).toBeGreaterThanOrEqual(1)
    expect(f.best_epoch).toBeLessThanOrEqual(f.epochs)
    expect(['early-stop', 'max-epochs']).toContain(f.stop)
    // One epoch event and one checkpoint per epoch, the last at the final step.
    const epochs = a.lines.filter((l) => l.event === 'epoch') as { epoch: number; step: number }[]
    expect(epochs.map((e) => e.epoch)).toEqual(Array.from({ length: f.epochs }, (_, i) => i + 1))
    expect(epochs.at(-1)!.step).toBe(f.steps)
    expect(a.lines.filter((l) => l.event === 'checkpoint')).toHaveLength(f.epochs)
  })

  it('reports as "before" what lineup eval --builtin gives', async () => {
    const e = await lineup(['eval', toy, '--builtin'])
    expect(e.code, e.stderr).toBe(0)
    expect(e.last).toMatchObject({ queries: toyCounts.query, gallery: toyCounts.gallery })
    expect({ R1: e.last.R1, mAP: e.last.mAP }).toEqual(final(a).before)
  })

  it('saves the head folder: manifest.json, head.bin, history.json', () => {
    const f = final(a)
    const files = readdirSync(outA).sort()
    expect(files).toEqual(['checkpoint.lck', 'head.bin', 'history.json', 'manifest.json'])
    const m = manifestOf(outA)
    expect(m).toMatchObject({
      format: 'lineup-head',
      version: 1,
      backbone: { kind: 'builtin', key: BUILTIN_KEY, dim: 64 },
      head: { file: 'head.bin', inDim: 64, outDim: 64 },
      training: { loss: 'rank-triplet', seed: 1, steps: f.steps, epochs: f.epochs, backend: f.backend },
      metrics: { before: f.before, after: f.after },
    })
    expect(m.head.sha256).toMatch(/^[0-9a-f]{64}$/)
    expect(Number.isNaN(Date.parse(m.createdAt))).toBe(false)
    const bytes = readFileSync(join(outA, 'head.bin'))
    expect(bytes.byteLength).toBe(4 * (64 + 1) * 64)
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(m.head.fileSha256)
    expect(headHash(headFromBytes(64, 64, bytes))).toBe(m.head.sha256)
    const history = JSON.parse(readFileSync(join(outA, 'history.json'), 'utf8')) as {
      steps: { step: number }[]
      epochs: { epoch: number }[]
      initialVal: unknown
    }
    expect(history.steps.map((s) => s.step)).toEqual(Array.from({ length: f.steps }, (_, i) => i + 1))
    expect(history.epochs).toHaveLength(f.epochs)
    expect(history.initialVal).toMatchObject({ mAP: expect.any(Number), R1: expect.any(Number) })
  })

  it('lineup eval --head DIR reproduces the "after" figures exactly', async () => {
    const e = await lineup(['eval', toy, '--builtin', '--head', outA])
    expect(e.code, e.stderr).toBe(0)
    expect({ R1: e.last.R1, mAP: e.last.mAP }).toEqual(final(a).after)
    expect(e.last).toMatchObject({ model: BUILTIN_KEY, head: manifestOf(outA).head.sha256, dim: 64 })
  })

  it('lineup eval --head refuses a head of another backbone, naming both', async () => {
    // A manifest that names another backbone.
    const edited = copyHead(outA, join(tmp.path, 'head-other-key'))
    const m = manifestOf(edited)
    m.backbone.key = 'ab'.repeat(32)
    writeFileSync(join(edited, 'manifest.json'), JSON.stringify(m))
    let e = await lineup(['eval', toy, '--builtin', '--head', edited])
    expect(e.code).toBe(1)
    expect(errorOf(e)?.message).toMatch(
      /was trained on backbone abababababababab…, not on builtin:lomo-xqd….*evaluate it with that model/,
    )
    // The built-in head evaluated with an ONNX model.
    const onnx = join(tmp.path, 'tiny.onnx')
    writeFileSync(onnx, buildPooled(['batch', 3, 8, 4], 'images', 'output'))
    e = await lineup(['eval', toy, '--model', onnx, '--head', outA])
    expect(e.code).toBe(1)
    expect(errorOf(e)?.message).toMatch(/was trained on backbone builtin:lomo-xqd…, not on [0-9a-f]{16}…/)
  })

  it('lineup eval --head refuses a changed head.bin (SHA-256) and a folder without manifest.json', async () => {
    const damaged = copyHead(outA, join(tmp.path, 'head-damaged'))
    const bytes = readFileSync(join(damaged, 'head.bin'))
    bytes[100] = bytes[100]! ^ 0xff
    writeFileSync(join(damaged, 'head.bin'), bytes)
    let e = await lineup(['eval', toy, '--builtin', '--head', damaged])
    expect(e.code).toBe(1)
    expect(errorOf(e)).toEqual({
      kind: 'invalid-input',
      message: `${join(damaged, 'head.bin')} does not match the SHA-256 in its manifest: the file was changed or damaged`,
    })
    const empty = join(tmp.path, 'no-manifest')
    mkdirSync(empty, { recursive: true })
    copyFileSync(join(outA, 'head.bin'), join(empty, 'head.bin'))
    e = await lineup(['eval', toy, '--builtin', '--head', empty])
    expect(e.code).toBe(1)
    expect(errorOf(e)).toEqual({
      kind: 'not-found',
      message: `${empty} has no manifest.json: give a folder written by lineup train --out`,
    })
    expect(e.stderr).not.toMatch(/\n\s+at /)
  })

  it('gives the same head and figures for the same seed (another --out, and --fresh)', async () => {
    const fa = final(a)
    const outB = join(tmp.path, 'head-b')
    const b = await train([toy, '--builtin', '--out', outB, ...FAST])
    expect(b.code, b.stderr).toBe(0)
    const fb = final(b)
    expect(fb.resumed_from_step).toBe(0)
    expect({ after: fb.after, before: fb.before, steps: fb.steps, epochs: fb.epochs }).toEqual({
      after: fa.after,
      before: fa.before,
      steps: fa.steps,
      epochs: fa.epochs,
    })
    expect(manifestOf(outB).head.sha256).toBe(manifestOf(outA).head.sha256)
    expect(readFileSync(join(outB, 'head.bin')).equals(readFileSync(join(outA, 'head.bin')))).toBe(true)

    const again = await train([toy, '--builtin', '--out', outB, ...FAST, '--fresh'])
    expect(again.code, again.stderr).toBe(0)
    expect(final(again).resumed_from_step).toBe(0)
    expect(final(again).after).toEqual(fa.after)
    expect(final(again).steps).toBe(fa.steps)
    expect(manifestOf(outB).head.sha256).toBe(manifestOf(outA).head.sha256)
  })

  it('another seed gives another head', async () => {
    const outS = join(tmp.path, 'head-seed2')
    const s = await train([toy, '--builtin', '--out', outS, ...FAST, '--seed', '2'])
    expect(s.code, s.stderr).toBe(0)
    expect(final(s).seed).toBe(2)
    expect(final(s).before).toEqual(final(a).before)
    expect(manifestOf(outS).head.sha256).not.toBe(manifestOf(outA).head.sha256)
  })

  it('the finished command run again returns at once with the same result', async () => {
    const fa = final(a)
    const sha = manifestOf(outA).head.sha256
    const r = await train([toy, '--builtin', '--out', outA, ...FAST])
    expect(r.code, r.stderr).toBe(0)
    const f = final(r)
    expect(f.resumed_from_step).toBe(fa.steps)
    expect(f).toMatchObject({
      before: fa.before,
      after: fa.after,
      steps: fa.steps,
      epochs: fa.epochs,
      best_epoch: fa.best_epoch,
      stop: fa.stop,
      train_seconds: fa.train_seconds,
    })
    // Nothing trained: no epoch and no checkpoint events.
    expect(r.lines.filter((l) => l.event === 'epoch' || l.event === 'checkpoint')).toEqual([])
    expect(manifestOf(outA).head.sha256).toBe(sha)
  })

  it('refuses to resume a checkpoint of other settings, and --fresh starts over', async () => {
    const outC = join(tmp.path, 'head-c')
    expect((await train([toy, '--builtin', '--out', outC, '--epochs', '2'])).code).toBe(0)
    const r = await train([toy, '--builtin', '--out', outC, '--epochs', '3'])
    expect(r.code).toBe(1)
    expect(errorOf(r)).toEqual({
      kind: 'conflict',
      message: expect.stringMatching(
        /checkpoint\.lck holds a checkpoint of another run \(different data or settings\)/,
      ),
    })
    const fresh = await train([toy, '--builtin', '--out', outC, '--epochs', '3', '--fresh'])
    expect(fresh.code, fresh.stderr).toBe(0)
    expect(final(fresh)).toMatchObject({ resumed_from_step: 0, epochs: 3 })
  })
})

describe('lineup train <folder> --builtin --camera-centering', () => {
  const out = join(tmp.path, 'head-centred')
  let r: Run

  beforeAll(async () => {
    r = await train([toy, '--builtin', '--camera-centering', '--out', out, ...FAST])
  })

  it('reports centering alone, and saves the means with the head (format 2, centering.bin)', () => {
    expect(r.code, r.stderr).toBe(0)
    const f = final(r) as Final & { centred_only: Figures }
    expect(f.centred_only.mAP).toBeGreaterThan(0)
    expect(f.centred_only.mAP).toBeLessThanOrEqual(1)
    const m = manifestOf(out) as HeadManifest & { centering: { cameras: string[]; fileSha256: string } }
    expect(m.version).toBe(2)
    // The toy set has 24 training images per camera: each camera gets its own mean.
    expect(m.centering.cameras).toEqual(['c1', 'c2', 'c3'])
    const means = readFileSync(join(out, 'centering.bin'))
    expect(means.byteLength).toBe(4 * 64 * 4)
    expect(createHash('sha256').update(means).digest('hex')).toBe(m.centering.fileSha256)
    // The head's SHA-256 covers the means: not the hash of the weights alone.
    expect(headHash(headFromBytes(64, 64, readFileSync(join(out, 'head.bin'))))).not.toBe(m.head.sha256)
  })

  it('lineup eval --head DIR applies the means: the same "after" figures exactly', async () => {
    const e = await lineup(['eval', toy, '--builtin', '--head', out])
    expect(e.code, e.stderr).toBe(0)
    expect({ R1: e.last.R1, mAP: e.last.mAP }).toEqual(final(r).after)
  })

  it('refuses a head folder whose centering.bin was changed or is missing', async () => {
    const edited = copyHead(out, join(tmp.path, 'head-centred-edited'))
    copyFileSync(join(out, 'centering.bin'), join(edited, 'centering.bin'))
    const bytes = readFileSync(join(edited, 'centering.bin'))
    bytes[5] = bytes[5]! ^ 1
    writeFileSync(join(edited, 'centering.bin'), bytes)
    const e = await lineup(['eval', toy, '--builtin', '--head', edited])
    expect(e.code).toBe(1)
    expect(errorOf(e)?.message).toMatch(/centering\.bin does not match the SHA-256 in its manifest/)
    const gone = copyHead(out, join(tmp.path, 'head-centred-gone'))
    const e2 = await lineup(['eval', toy, '--builtin', '--head', gone])
    expect(e2.code).toBe(1)
    expect(errorOf(e2)?.message).toMatch(/centering\.bin is missing: the head folder is incomplete/)
  })
})

describe('lineup train: usage errors exit 2 and say what is wrong', () => {
  it('bad command lines', async () => {
    const cases: [string[], RegExp][] = [
      [[], /give a dataset folder \(with bounding_box_train\/\), or --db <library-file>/],
      [[toy, '--builtin', '--model', OSNET], /give either --model <file\.onnx> or --builtin, not both/],
      [
        [toy, '--builtin', '--loss', 'arcface'],
        /--loss must be one of rank-triplet, baseline, contrastive, triplet, batch-hard, quadruplet, softmax \(got "arcface"\)/,
      ],
      [[toy, '--builtin', '--epochs', '0'], /--epochs must be a positive whole number \(got "0"\)/],
      [[toy, '--builtin', '--dim', '65'], /--dim must be at most the backbone's 64 \(got 65\)/],
      [[toy, '--builtin', '--seed=-1'], /--seed must be a whole number ≥ 0 \(got "-1"\)/],
      [[toy, '--builtin', '--seed', '-1'], /--seed/],
      [
        [toy, '--builtin', '--db', join(tmp.path, 'none.lineup'), '--camera-centering'],
        /--camera-centering with a dataset folder and --db would give the library the dataset's camera means/,
      ],
    ]
    const runs = await Promise.all(cases.map(([args]) => train(args)))
    runs.forEach((r, i) => {
      const [args, message] = cases[i]!
      expect({ args, code: r.code }).toEqual({ args, code: 2 })
      expect(errorOf(r)?.message, args.join(' ')).toMatch(message)
      expect(r.stderr).toMatch(/lineup train <dataset-root>/) // the usage follows
    })
  })

  it('LINEUP_TF_BACKEND=bogus is a usage error naming the allowed values', async () => {
    process.env.LINEUP_TF_BACKEND = 'bogus'
    const pending = train([toy, '--builtin', '--out', join(tmp.path, 'head-bogus')]) // spawned synchronously
    delete process.env.LINEUP_TF_BACKEND
    const r = await pending
    expect.soft(r.code).toBe(2)
    expect.soft(errorOf(r)).toEqual({
      kind: 'invalid-input',
      message: 'LINEUP_TF_BACKEND must be one of auto, tfjs-node-gpu, tfjs-node, wasm, cpu (got "bogus")',
    })
    expect.soft(r.stderr).not.toMatch(/\n\s+at /) // a message, not a stack trace
  })
})

describe('lineup train: data it cannot train on exits 1 and says why', () => {
  it('one identity, or only identities with a single image', async () => {
    const one = join(tmp.path, 'one-identity')
    await makeToyDataset(one, { trainIds: [1], trainPerId: 5 })
    const singles = join(tmp.path, 'singletons')
    await makeToyDataset(singles, { trainIds: [1, 2, 3, 4, 5, 6], trainPerId: 1 })
    for (const root of [one, singles]) {
      const r = await train([root, '--builtin', '--out', join(root, 'head')])
      expect(r.code, root).toBe(1)
      expect(errorOf(r)).toEqual({
        kind: 'invalid-input',
        message: expect.stringMatching(/^training needs at least 2 identities with 2 or more images each; /),
      })
      expect(r.stderr).not.toMatch(/\n\s+at /)
      expect(() => statSync(join(root, 'head', 'manifest.json'))).toThrow(/ENOENT/)
    }
  })
})

describe('lineup train --db on a library', () => {
  const lib = join(tmp.path, 'case.lineup')
  /** Crops whose base vector is removed before training: the head model must not get one either. */
  const withoutVector = [3, 40, 77]
  let r: Run

  beforeAll(async () => {
    expect((await lineup(['import', toy, '--db', lib])).code).toBe(0)
    expect((await lineup(['model', 'add', 'builtin', '--db', lib])).code).toBe(0)
    expect((await lineup(['embed', '--db', lib])).code).toBe(0)
    const raw = rawDb(lib)
    try {
      raw.prepare(`DELETE FROM embeddings WHERE crop_id IN (${withoutVector.join(', ')})`).run()
    } finally {
      raw.close()
    }
    r = await train(['--db', lib, '--epochs', '6', '--p', '4', '--k', '2'])
  })

  it('saves a fine-tuned version of the base model with its run, metrics and vectors', () => {
    expect(r.code, r.stderr).toBe(0)
    const f = final(r)
    expect(f.model).toEqual(expect.any(Number))
    expect(f.steps).toBeGreaterThan(0)
    const db = rawDb(lib, true)
    try {
      const base = db.prepare(`SELECT id, key FROM models WHERE kind = 'builtin'`).get() as {
        id: number
        key: string
      }
      const head = db.prepare('SELECT * FROM models WHERE id = ?').get(f.model) as Record<string, unknown>
      expect(head).toMatchObject({ kind: 'head', base_model_id: base.id, dim: 64, active: 0, file: null })
      expect(head.key).toMatch(/^head:[0-9a-f]{64}$/)
      expect(JSON.parse(head.config as string)).toMatchObject({
        baseKey: base.key,
        loss: 'rank-triplet',
        seed: 1,
      })
      // The base model stays the active one.
      expect(db.prepare('SELECT id FROM models WHERE active = 1').pluck().all()).toEqual([base.id])

      const weights = db.prepare('SELECT * FROM heads WHERE model_id = ?').get(f.model) as {
        in_dim: number
        out_dim: number
        weights: Buffer
        sha256: string
      }
      expect(weights).toMatchObject({ in_dim: 64, out_dim: 64, sha256: (head.key as string).slice(5) })

      const runs = db.prepare('SELECT * FROM training_runs').all() as Record<string, unknown>[]
      expect(runs).toHaveLength(1)
      expect(runs[0]).toMatchObject({
        base_model_id: base.id,
        result_model_id: f.model,
        status: 'finished',
        loss: 'rank-triplet',
        seed: 1,
        steps: f.steps,
        error: null,
      })
      // The backend that ran (as the JSON summary and a run on a folder with --db record it).
      expect.soft(runs[0]!.backend, 'training_runs.backend').toBe(f.backend)
      expect(runs[0]!.finished_at).toEqual(expect.any(String))
      expect(JSON.parse(runs[0]!.summary as string)).toMatchObject({ before: f.before, after: f.after })
      const runId = runs[0]!.id
      expect(db.prepare('SELECT count(*) FROM training_steps WHERE run_id = ?').pluck().get(runId)).toBe(
        f.steps,
      )
      expect(db.prepare('SELECT max(step) FROM training_steps WHERE run_id = ?').pluck().get(runId)).toBe(
        f.steps,
      )
      expect(db.prepare('SELECT count(*) FROM training_epochs WHERE run_id = ?').pluck().get(runId)).toBe(
        f.epochs,
      )

      // A vector of the new version for exactly the crops that have a base vector: the base's through the head.
      const vectors = (model: number) =>
        new Map(
          (
            db
              .prepare('SELECT crop_id, vector FROM embeddings WHERE model_id = ? ORDER BY crop_id')
              .all(model) as {
              crop_id: number
              vector: Buffer
            }[]
          ).map((v) => [
            v.crop_id,
            new Float32Array(
              v.vector.buffer.slice(v.vector.byteOffset, v.vector.byteOffset + v.vector.byteLength),
            ),
          ]),
        )
      const baseVectors = vectors(base.id)
      const headVectors = vectors(f.model!)
      const crops = db.prepare('SELECT count(*) FROM crops').pluck().get() as number
      expect(baseVectors.size).toBe(crops - withoutVector.length)
      expect([...headVectors.keys()]).toEqual([...baseVectors.keys()])
      const h = headFromBytes(64, 64, weights.weights)
      for (const [crop, v] of baseVectors) {
        const want = applyHead(h, v, 1)
        const got = headVectors.get(crop)!
        for (let k = 0; k < 64; k++) expect(Math.abs(got[k]! - want[k]!)).toBeLessThan(1e-5)
      }
      const audit = db
        .prepare(`SELECT details FROM audit_log WHERE action = 'model.fine-tuned'`)
        .pluck()
        .all() as string[]
      expect(audit).toHaveLength(1)
      expect(JSON.parse(audit[0]!)).toMatchObject({ model: head.key, base: base.key, loss: 'rank-triplet' })
    } finally {
      db.close()
    }
    expect(integrity(lib)).toBe('ok')
  })

  it('with --camera-centering: a version whose means are stored, one vector per crop with a base vector', async () => {
    const c = await train(['--db', lib, '--camera-centering', '--epochs', '6', '--p', '4', '--k', '2'])
    expect(c.code, c.stderr).toBe(0)
    const model = final(c).model!
    expect(model).not.toBe(final(r).model)
    const db = rawDb(lib, true)
    try {
      const head = db
        .prepare('SELECT center_cameras, length(center_means) AS bytes, in_dim FROM heads WHERE model_id = ?')
        .get(model) as { center_cameras: string; bytes: number; in_dim: number }
      // The library holds the whole toy set: every camera has 20+ crops.
      expect(JSON.parse(head.center_cameras)).toEqual(['c1', 'c2', 'c3'])
      expect(head.bytes).toBe(4 * head.in_dim * 4)
      const count = db.prepare('SELECT count(*) FROM embeddings WHERE model_id = ?').pluck()
      const base = db.prepare(`SELECT id FROM models WHERE kind = 'builtin'`).pluck().get() as number
      expect(count.get(model)).toBe(count.get(base))
    } finally {
      db.close()
    }
  })

  it('with --camera-centering, does not resume a run once the library (so the means) changed', async () => {
    // A copy of the library, so the other tests keep theirs.
    const copy = join(tmp.path, 'case-centred.lineup')
    const db = rawDb(lib, true)
    try {
      db.prepare('VACUUM INTO ?').run(copy)
    } finally {
      db.close()
    }
    const out = join(tmp.path, 'head-db-centred')
    const args = ['--db', copy, '--camera-centering', '--out', out, '--epochs', '3', '--p', '4', '--k', '2']
    expect((await train(args)).code).toBe(0)
    // The finished run asked again: the same checkpoint, nothing trained anew.
    const again = await train(args)
    expect(again.code, again.stderr).toBe(0)
    expect(final(again).resumed_from_step).toBe(final(again).steps)
    // Unlabelled crops' vectors gone: other means, so the checkpoint is another run's.
    const raw = rawDb(copy)
    try {
      raw
        .prepare(`DELETE FROM embeddings WHERE crop_id IN (SELECT id FROM crops WHERE kind != 'labelled')`)
        .run()
    } finally {
      raw.close()
    }
    const changed = await train(args)
    expect(changed.code).toBe(1)
    expect(errorOf(changed)?.message).toMatch(
      /holds a checkpoint of another run \(different data or settings\)/,
    )
    const run = rawDb(copy, true)
    try {
      const config = run
        .prepare('SELECT config FROM training_runs ORDER BY id DESC LIMIT 1')
        .pluck()
        .get() as string
      expect((JSON.parse(config) as { cameraCentering: string[] }).cameraCentering).toEqual([
        'c1',
        'c2',
        'c3',
      ])
    } finally {
      run.close()
    }
  })

  it('lineup model list shows the new version with its vectors', async () => {
    const f = final(r)
    const list = await lineup(['model', 'list', '--db', lib])
    expect(list.code).toBe(0)
    const models = list.last as unknown as {
      id: number
      kind: string
      baseModelId: number | null
      embedded: number
    }[]
    const crops = toyCounts.train + toyCounts.query + toyCounts.gallery
    expect(models.find((m) => m.id === f.model)).toMatchObject({
      kind: 'head',
      baseModelId: models.find((m) => m.kind === 'builtin')!.id,
      embedded: crops - withoutVector.length,
    })
    const text = await runCli(['model', 'list', '--db', lib])
    expect(text.stdout).toMatch(
      new RegExp(`^ +${f.model} +.*\\+ rank-triplet head .* head +dim 64 +head:`, 'm'),
    )
  })

  it('refuses a library without a model, without vectors, or without labelled crops, saying what to do', async () => {
    const bare = join(tmp.path, 'bare.lineup')
    expect((await lineup(['import', toy, '--db', bare])).code).toBe(0)
    let e = await train(['--db', bare])
    expect(e.code).toBe(1)
    expect(errorOf(e)?.message).toMatch(
      /no active model: give --model <id\|name>, or add and embed one first/,
    )

    expect((await lineup(['model', 'add', 'builtin', '--db', bare])).code).toBe(0)
    e = await train(['--db', bare])
    expect(e.code).toBe(1)
    expect(errorOf(e)?.message).toMatch(
      /none of the \d+ labelled crops has a vector from .*: run lineup embed first/,
    )

    // Crops whose names say nothing about identity: nothing labelled.
    const plain = join(tmp.path, 'plain')
    mkdirSync(plain, { recursive: true })
    const q = join(toy, 'query')
    readdirSync(q).forEach((f, i) => copyFileSync(join(q, f), join(plain, `frame-${i}.png`)))
    const unlabelled = join(tmp.path, 'unlabelled.lineup')
    expect((await lineup(['import', plain, '--db', unlabelled])).code).toBe(0)
    expect((await lineup(['model', 'add', 'builtin', '--db', unlabelled])).code).toBe(0)
    expect((await lineup(['embed', '--db', unlabelled])).code).toBe(0)
    e = await train(['--db', unlabelled])
    expect(e.code).toBe(1)
    expect(errorOf(e)?.message).toMatch(
      /no labelled crops to train on: import crops with identities, or mark matches first/,
    )
    for (const file of [bare, unlabelled]) {
      const db = rawDb(file, true)
      try {
        expect(db.prepare(`SELECT count(*) FROM models WHERE kind = 'head'`).pluck().get()).toBe(0)
        expect(db.prepare(`SELECT count(*) FROM training_runs WHERE status = 'running'`).pluck().get()).toBe(
          0,
        )
      } finally {
        db.close()
      }
    }
  })
})

/**
 * The first run embeds the 13,399 images with OSNet into this file's fresh feature cache (≈ 60–90 s
 * on an idle 2-core machine, several minutes when other work shares the cores); the second reads
 * them back. The minute the issue allows is for training, pinned by train_seconds, not by these
 * timeouts.
 */
const MARKET_RUN_TIMEOUT = 600_000

describe('lineup train on the real Market-1501 subset with OSNet', () => {
  explainSkip('lineup train on Market-1501 with OSNet (train-cli.test.ts)')
  it.skipIf(!hasShared)(
    'improves mAP from the known baseline (R1 65.51 %, mAP 40.79 %) within a minute of training',
    async () => {
      const out = join(tmp.path, 'head-osnet')
      const r = await train([marketDir, '--model', OSNET, '--out', out])
      expect(r.code, r.stderr).toBe(0)
      const f = final(r)
      console.log(
        `OSNet + rank-triplet head on Market-1501 subset: before R1 ${(100 * f.before.R1).toFixed(2)} % mAP ${(100 * f.before.mAP).toFixed(2)} %; ` +
          `after R1 ${(100 * f.after.R1).toFixed(2)} % mAP ${(100 * f.after.mAP).toFixed(2)} %; ${f.steps} steps, ${f.epochs} epochs (${f.stop}), ` +
          `${f.train_seconds.toFixed(1)} s on ${f.backend}`,
      )
      expect(Math.abs(f.before.R1 - 0.6551)).toBeLessThanOrEqual(0.001)
      expect(Math.abs(f.before.mAP - 0.4079)).toBeLessThanOrEqual(0.001)
      expect(f.after.mAP).toBeGreaterThan(f.before.mAP)
      expect(f.train_seconds).toBeLessThan(60)
      expect(manifestOf(out)).toMatchObject({
        backbone: {
          kind: 'onnx',
          key: '61b2604171ef9d58d21758626f83b35a253c3d7123976523a6e03068c3c95d7b',
          dim: 512,
        },
        head: { inDim: 512, outDim: 256 },
      })
    },
    MARKET_RUN_TIMEOUT,
  )

  it.skipIf(!hasShared)(
    'with --camera-centering: centering alone gives 47.03 % mAP, and the head keeps the gain on top',
    async () => {
      const out = join(tmp.path, 'head-osnet-centred')
      const r = await train([marketDir, '--model', OSNET, '--camera-centering', '--out', out])
      expect(r.code, r.stderr).toBe(0)
      const f = final(r) as Final & { centred_only: Figures }
      console.log(
        `OSNet + camera centering + rank-triplet head: before mAP ${(100 * f.before.mAP).toFixed(2)} %; ` +
          `centering alone R1 ${(100 * f.centred_only.R1).toFixed(2)} % mAP ${(100 * f.centred_only.mAP).toFixed(2)} %; ` +
          `after R1 ${(100 * f.after.R1).toFixed(2)} % mAP ${(100 * f.after.mAP).toFixed(2)} %; ${f.steps} steps, ${f.train_seconds.toFixed(1)} s on ${f.backend}`,
      )
      expect(Math.abs(f.centred_only.mAP - 0.4703)).toBeLessThanOrEqual(0.001)
      expect(f.after.mAP).toBeGreaterThan(f.centred_only.mAP)
      expect(manifestOf(out)).toMatchObject({
        version: 2,
        centering: { cameras: ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'] },
      })
      const e = await lineup(['eval', marketDir, '--model', OSNET, '--head', out])
      expect(e.code, e.stderr).toBe(0)
      expect({ R1: e.last.R1, mAP: e.last.mAP }).toEqual(f.after)
    },
    MARKET_RUN_TIMEOUT,
  )
})
