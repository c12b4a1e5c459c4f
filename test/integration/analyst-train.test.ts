/**
 * The analyst's fine-tune (issue #6) through LineupService: `train.start` on a small synthetic
 * library embedded with the built-in descriptor. Refused before a job exists when the labels are
 * too few; one fine-tune at a time; the finished job's summary, run, audit entry and new model
 * version (activate, then roll back); and a fine-tune SIGKILLed in a child process, after which
 * the library is intact and the same request resumes from the checkpoint beside the library.
 */
import { spawn } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyAudit, readAudit } from '../../src-main/engine/audit/log'
import { openLibrary, type Db } from '../../src-main/engine/db/open'
import { getPerson, listPersons, markHistory } from '../../src-main/engine/library/persons'
import { LineupService } from '../../src-main/engine/service'
import { loadHead, saveHeadModel } from '../../src-main/engine/library/heads'
import { getModel } from '../../src-main/engine/library/models'
import { applyHeadOnnx } from '../../src-main/engine/ml/onnx/head-applier'
import { runsDir } from '../../src-main/engine/training/analyst-train'
import { fitCentering } from '../../src-main/engine/training/centering'
import { cameraNames } from '../../src-main/engine/training/persons-data'
import { readCheckpoint } from '../../src-main/engine/training/checkpoint'
import type { JobInfo, JobProgress, ModelInfo, TrainPoint, TrainSummary } from '../../src-shared/domain'
import { LineupError } from '../../src-shared/errors'
import { integrity, rawDb } from '../helpers/db'
import { repoRoot } from '../helpers/paths'
import { tempDir } from '../helpers/tmp'
import { makeToyDataset } from '../helpers/toy-dataset'

const tmp = tempDir('lineup-analyst-train-')
afterAll(() => tmp.dispose())

/** Epochs of every fine-tune here: one step each (4 training persons fit one batch), ~15 ms per epoch. */
const EPOCHS = 200
const SEED = 3
const CHILD = join(repoRoot, 'test/integration/analyst-train-child.ts')

async function waitFor(service: LineupService, job: JobInfo): Promise<JobInfo> {
  for (;;) {
    const j = await service['jobs.get']({ id: job.id })
    if (j.status !== 'running') return j
    await new Promise((r) => setTimeout(r, 25))
  }
}

async function rejection(p: Promise<unknown>): Promise<LineupError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(LineupError)
  return err as LineupError
}

/** Persons, their details and their full mark history: what a kill must never change. */
function labelSnapshot(db: Db) {
  const persons = listPersons(db)
  return {
    persons,
    details: persons.map((p) => getPerson(db, p.id)),
    marks: persons.map((p) => markHistory(db, p.id)),
    markRows: db.prepare('SELECT count(*) FROM marks').pluck().get() as number,
  }
}

/** Every fine-tuned model is whole: its weights stored and a vector for every crop its base has one for. */
function expectHeadModelsComplete(db: Db): number {
  const heads = db.prepare(`SELECT id, base_model_id FROM models WHERE kind = 'head'`).all() as {
    id: number
    base_model_id: number
  }[]
  const count = db.prepare('SELECT count(*) FROM embeddings WHERE model_id = ?').pluck()
  for (const h of heads) {
    expect(db.prepare('SELECT count(*) FROM heads WHERE model_id = ?').pluck().get(h.id)).toBe(1)
    expect(count.get(h.id)).toBe(count.get(h.base_model_id))
  }
  return heads.length
}

describe('fine-tuning on the analyst’s labels (train.start)', () => {
  let dbPath: string
  let service: LineupService
  let base: ModelInfo
  /** Crop ids by identity ('0001' … '0008': 4 crops each). */
  const byIdentity = new Map<string, number[]>()
  const events: JobProgress[] = []
  const personIds: number[] = []
  let copyPath: string
  let mainSummary: TrainSummary
  let mainModelKey: string

  beforeAll(async () => {
    const folder = join(tmp.path, 'toy')
    await makeToyDataset(folder, {
      trainIds: [1, 2, 3, 4, 5, 6, 7, 8],
      trainPerId: 4,
      testIds: [101, 102],
      galleryPerId: 2,
      distractors: 2,
    })
    dbPath = join(tmp.path, 'case.lineup')
    service = new LineupService({ dbPath, host: 'browser', analyst: 'tester' })
    service.onEvent((e) => {
      if (e.type === 'job.progress') events.push(e.progress)
    })
    expect((await waitFor(service, await service['import.start']({ folder, layout: 'auto' }))).status).toBe(
      'done',
    )
    base = await service['models.add']({ path: 'builtin', activate: true })
    expect((await waitFor(service, await service['embed.start']({}))).status).toBe('done')
    base = (await service['models.list']()).find((m) => m.id === base.id)!
    expect(base.embedded).toBe(42)
    for (const r of service.db
      .prepare('SELECT id, identity FROM crops WHERE identity IS NOT NULL ORDER BY id')
      .all() as { id: number; identity: string }[])
      byIdentity.set(r.identity, [...(byIdentity.get(r.identity) ?? []), r.id])
  })
  afterAll(async () => service?.close())

  const trainJobs = () =>
    service.db.prepare(`SELECT count(*) FROM jobs WHERE kind = 'train'`).pluck().get() as number

  /** Person of identity `i`: its first crop as query, the other three marked same, one of the next identity different. */
  async function labelPerson(i: number): Promise<number> {
    const [query, ...rest] = byIdentity.get(`000${i}`)!
    const p = await service['persons.create']({ queryCropId: query!, name: `Suspect ${i}` })
    for (const [k, cropId] of rest.entries())
      await service['marks.set']({ personId: p.id, cropId, verdict: 'same', modelId: base.id, rank: k + 1 })
    await service['marks.set']({
      personId: p.id,
      cropId: byIdentity.get(`000${i + 1}`)![2]!,
      verdict: 'different',
    })
    personIds.push(p.id)
    return p.id
  }

  it('refuses too few labels before any job exists, saying what is needed', async () => {
    const request = { loss: 'rank-triplet' as const, epochs: EPOCHS, seed: SEED }
    const none = await rejection(service['train.start'](request))
    expect(none.kind).toBe('invalid-input')
    expect(none.message).toMatch(/at least 2 persons with 2 confirmed crops/)
    expect(none.message).toMatch(/0 such persons of 0/)

    await labelPerson(1)
    // A second person with only their query (and a rejection) is not enough either.
    const lonely = await service['persons.create']({ queryCropId: byIdentity.get('0002')![0]! })
    await service['marks.set']({
      personId: lonely.id,
      cropId: byIdentity.get('0003')![0]!,
      verdict: 'different',
    })
    const one = await rejection(service['train.start'](request))
    expect(one.kind).toBe('invalid-input')
    expect(one.message).toMatch(/at least 2 persons with 2 confirmed crops/)
    expect(one.message).toMatch(/1 such person of 2/)

    expect(trainJobs()).toBe(0)
    expect(service.db.prepare('SELECT count(*) FROM training_runs').pluck().get()).toBe(0)
    expect(readAudit(service.db).map((a) => a.action)).not.toContain('fine-tune')
    // Confirm the lonely person's match so it is a 2nd trainable person of identity 0002.
    const [, second] = byIdentity.get('0002')!
    await service['marks.set']({ personId: lonely.id, cropId: second!, verdict: 'same' })
    personIds.push(lonely.id)
  })

  it('fine-tunes a new model version: progress, summary, run, audit; one at a time; activate and roll back', async () => {
    await labelPerson(3)
    await labelPerson(4)
    await labelPerson(5)
    // An undone mark must not count: mark a wrong crop same for person 1, then undo it.
    await service['marks.set']({
      personId: personIds[0]!,
      cropId: byIdentity.get('0008')![0]!,
      verdict: 'same',
    })
    expect(await service['marks.undo']({ personId: personIds[0]! })).toMatchObject({ verdict: 'cleared' })
    expect(personIds).toHaveLength(5)
    // A copy of the labelled library, before any fine-tune, for the SIGKILL test below.
    copyPath = join(tmp.path, 'copy.lineup')
    service.db.prepare('VACUUM INTO ?').run(copyPath)

    const job = await service['train.start']({ loss: 'rank-triplet', epochs: EPOCHS, seed: SEED })
    expect(job).toMatchObject({ kind: 'train', status: 'running' })
    expect(job.params).toMatchObject({ baseModelId: base.id, baseKey: base.key, epochs: EPOCHS, seed: SEED })
    // A second request while it runs is refused, and leaves no job behind.
    const second = await rejection(service['train.start']({ loss: 'rank-triplet', epochs: 5, seed: 9 }))
    expect(second.kind).toBe('conflict')
    expect(second.message).toMatch(new RegExp(`already running on this library \\(job ${job.id}\\)`))
    expect(trainJobs()).toBe(1)

    const done = await waitFor(service, job)
    expect(done.status, done.error ?? '').toBe('done')
    const summary = done.summary as TrainSummary
    mainSummary = summary

    // Progress: training points (steps and every epoch), then the new version's vectors.
    const mine = events.filter((p) => p.jobId === job.id)
    expect(mine.every((p) => p.kind === 'train')).toBe(true)
    const points = mine.filter((p) => p.train).map((p) => p.train!) as TrainPoint[]
    const steps = points.filter((p) => p.type === 'step')
    const epochs = points.filter((p) => p.type === 'epoch')
    expect(steps.length).toBeGreaterThan(0)
    // Step points are throttled (one per 100 ms), in order, within the run.
    for (let i = 1; i < steps.length; i++) expect(steps[i]!.step).toBeGreaterThan(steps[i - 1]!.step)
    expect(steps.at(-1)!.step).toBeLessThanOrEqual(summary.steps)
    expect(epochs.map((p) => p.epoch)).toEqual(Array.from({ length: EPOCHS }, (_, i) => i + 1))
    expect(epochs.at(-1)!.step).toBe(summary.steps)
    // Validation per epoch (paper Fig. 5): the held-out persons against a library sample.
    for (const e of epochs) {
      expect(e.valMAP).toBeGreaterThan(0)
      expect(e.valMAP).toBeLessThanOrEqual(1)
      expect([0, 1]).toContain(e.valR1)
    }
    for (const p of points) {
      expect(p.batchMAP).toBeGreaterThanOrEqual(0)
      expect(p.batchMAP).toBeLessThanOrEqual(1)
      expect(Number.isFinite(p.loss)).toBe(true)
    }
    expect(mine.filter((p) => p.train).every((p) => p.phase === 'training')).toBe(true)
    expect(mine.some((p) => p.phase === 'embedding')).toBe(true)

    // The summary: a new 'head' version on the base, embedded for every crop the base has.
    expect(summary.baseModelId).toBe(base.id)
    expect(summary.modelId).not.toBe(base.id)
    expect(summary.steps).toBeGreaterThanOrEqual(EPOCHS)
    expect(summary.embedded).toBe(base.embedded)
    const models = await service['models.list']()
    const head = models.find((m) => m.id === summary.modelId)!
    expect(head).toMatchObject({
      kind: 'head',
      baseModelId: base.id,
      name: summary.modelName,
      embedded: base.embedded,
      active: false,
    })
    expect(head.key).toMatch(/^head:[0-9a-f]{64}$/)
    mainModelKey = head.key
    expect(models).toHaveLength(2)

    // Compared on held-out persons (a quarter of 5: one), numbers in [0, 1].
    const c = summary.comparison
    expect(c.heldOut).toBe(true)
    expect(c.persons).toHaveLength(1)
    const held = c.persons[0]!
    expect(personIds).toContain(held.personId)
    const detail = await service['persons.get']({ id: held.personId })
    expect(held.name).toBe(detail.name)
    expect(held.matches.map((m) => m.cropId).sort((a, b) => a - b)).toEqual(
      detail.sightings
        .map((s) => s.crop.id)
        .filter((id) => id !== detail.queryCropId)
        .sort((a, b) => a - b),
    )
    for (const m of held.matches) {
      expect(m.before).toBeGreaterThanOrEqual(1)
      expect(m.after).toBeGreaterThanOrEqual(1)
      expect(m.before).toBeLessThan(base.embedded)
      expect(m.after).toBeLessThan(base.embedded)
    }
    for (const x of [
      held.before.AP,
      held.before.R1,
      held.after.AP,
      held.after.R1,
      c.before.mAP,
      c.before.R1,
    ]) {
      expect(x).toBeGreaterThanOrEqual(0)
      expect(x).toBeLessThanOrEqual(1)
    }
    for (const x of [c.after.mAP, c.after.R1]) {
      expect(x).toBeGreaterThanOrEqual(0)
      expect(x).toBeLessThanOrEqual(1)
    }

    // The run, recorded as finished with the model it made and the held-out persons.
    const run = service.db.prepare('SELECT * FROM training_runs WHERE id = ?').get(summary.runId) as {
      status: string
      result_model_id: number
      base_model_id: number
      steps: number
      loss: string
      seed: number
      config: string
    }
    expect(run).toMatchObject({
      status: 'finished',
      result_model_id: summary.modelId,
      base_model_id: base.id,
      steps: summary.steps,
      loss: 'rank-triplet',
      seed: SEED,
    })
    expect((JSON.parse(run.config) as { heldOut: number[] }).heldOut).toEqual([held.personId])

    // Camera centering is on by default: the head carries the library's means (every camera of this
    // small library has too few crops for its own, so each crop is centred on the library's mean),
    // the run records it, and every stored vector is the head applied to the crop's centred base vector.
    const stored = loadHead(service.db, getModel(service.db, summary.modelId))
    expect(stored.centering).toMatchObject({ dim: base.dim, cameras: [] })
    expect(summary.cameraCentering).toEqual([])
    expect((JSON.parse(run.config) as { cameraCentering: string[] | null }).cameraCentering).toEqual([])
    const rows = service.db
      .prepare(
        'SELECT b.crop_id, b.vector AS base, h.vector AS head FROM embeddings b JOIN embeddings h ON h.crop_id = b.crop_id AND h.model_id = ? WHERE b.model_id = ? ORDER BY b.crop_id',
      )
      .all(summary.modelId, base.id) as { crop_id: number; base: Buffer; head: Buffer }[]
    const x = Buffer.concat(rows.map((r) => r.base))
    const want = await applyHeadOnnx(
      stored,
      new Float32Array(x.buffer, x.byteOffset, x.byteLength / 4),
      rows.length,
      cameraNames(
        service.db,
        rows.map((r) => r.crop_id),
      ),
    )
    expect(Buffer.concat(rows.map((r) => r.head)).equals(Buffer.from(want.buffer))).toBe(true)
    expect(
      service.db.prepare('SELECT count(*) FROM training_epochs WHERE run_id = ?').pluck().get(summary.runId),
    ).toBe(EPOCHS)

    // The audit log holds, with the fine-tune recorded.
    expect(verifyAudit(service.db).ok).toBe(true)
    const log = readAudit(service.db)
    const entry = log.find((a) => a.action === 'fine-tune')!
    expect(entry).toBeDefined()
    expect(entry.details).toMatchObject({
      jobId: job.id,
      runId: summary.runId,
      base: base.key,
      model: head.key,
      loss: 'rank-triplet',
      seed: SEED,
      persons: 5,
      heldOut: [held.personId],
    })
    expect(log.some((a) => a.action === 'model.fine-tuned' && a.details.model === head.key)).toBe(true)

    // The run's stored metrics come back as the chart points the live run streamed.
    const runs = await service['train.runs']()
    expect(runs[0]).toMatchObject({
      status: 'finished',
      resultModelId: head.id,
      loss: 'rank-triplet',
      seed: SEED,
    })
    const history = await service['train.history']({ runId: runs[0]!.id })
    expect(history.points.filter((p) => p.type === 'step').map((p) => p.step)).toEqual(
      Array.from({ length: runs[0]!.steps }, (_, i) => i + 1),
    )
    expect(history.points.filter((p) => p.type === 'epoch').every((p) => p.valMAP! > 0)).toBe(true)
    expect(history.points.filter((p) => p.type === 'epoch').map((p) => p.epoch)).toEqual(
      Array.from({ length: EPOCHS }, (_, i) => i + 1),
    )
    await expect(service['train.history']({ runId: 9999 })).rejects.toThrow(/run 9999 is not in this library/)

    // The checkpoint lived beside the library and is removed once the run is stored.
    expect(runsDir(dbPath)).toBe(`${dbPath}.runs`)
    expect(readdirSync(runsDir(dbPath)).filter((f) => f.endsWith('.lck'))).toHaveLength(0)

    // Activate the new version, search with it, then roll back to the base.
    expect((await service['models.activate']({ id: head.id })).active).toBe(true)
    const query = detail.queryCropId
    const found = await service['search.query']({
      cropIds: [query],
      k: 5,
      offset: 0,
      fusion: 'mean',
      excludeQueryCameras: false,
      excludeQueries: true,
    })
    expect(found.modelKey).toBe(head.key)
    expect(found.hits).toHaveLength(5)
    expect((await service['models.activate']({ id: base.id })).active).toBe(true)
    const after = await service['models.list']()
    expect(after.filter((m) => m.active).map((m) => m.id)).toEqual([base.id])
    expect(after.find((m) => m.id === head.id)).toMatchObject({ embedded: base.embedded })
    expect(
      readAudit(service.db)
        .filter((a) => a.action === 'model.activate')
        .map((a) => a.details.model)
        .slice(-2),
    ).toEqual([head.key, base.key])
    expect(verifyAudit(service.db).ok).toBe(true)
    expect(integrity(dbPath)).toBe('ok')

    // Another request on the same labels (other epochs) is a run of its own, not refused.
    const other = await waitFor(
      service,
      await service['train.start']({ loss: 'rank-triplet', epochs: EPOCHS + 1, seed: SEED }),
    )
    expect(other.status, other.error ?? '').toBe('done')
    expect((other.summary as TrainSummary).modelId).not.toBe(head.id)
  })

  it('trains without camera centering when asked: a head with no means, a new version', async () => {
    const job = await service['train.start']({
      loss: 'rank-triplet',
      epochs: 20,
      seed: SEED,
      cameraCentering: false,
    })
    const done = await waitFor(service, job)
    expect(done.status, done.error ?? '').toBe('done')
    const summary = done.summary as TrainSummary
    expect(loadHead(service.db, getModel(service.db, summary.modelId)).centering).toBeUndefined()
    expect(summary.cameraCentering).toBeNull()
    const config = service.db
      .prepare('SELECT config FROM training_runs WHERE id = ?')
      .pluck()
      .get(summary.runId) as string
    expect((JSON.parse(config) as { cameraCentering: unknown }).cameraCentering).toBeNull()
  })

  it('a cancelled fine-tune ends as cancelled, not failed', async () => {
    const job = await service['train.start']({ loss: 'rank-triplet', epochs: 100_000, seed: SEED + 7 })
    await new Promise((r) => setTimeout(r, 1500))
    await service['jobs.cancel']({ id: job.id })
    const done = await waitFor(service, job)
    expect(done.status).toBe('cancelled')
    expect(done.error).toMatch(/training cancelled at step \d+/)
    expect(
      service.db.prepare('SELECT status FROM training_runs ORDER BY id DESC LIMIT 1').pluck().get(),
    ).toBe('cancelled')
  })

  it('survives a SIGKILL mid-fine-tune: library intact, and the same request resumes from the checkpoint', async () => {
    expect(copyPath).toBeDefined()
    const beforeDb = openLibrary(copyPath)
    const snapshot = labelSnapshot(beforeDb)
    const modelsBefore = beforeDb.prepare('SELECT id FROM models ORDER BY id').pluck().all()
    beforeDb.close()
    expect(snapshot.persons).toHaveLength(5)

    // Start the fine-tune in a child process; SIGKILL it once epoch 3 has begun (epoch 2's checkpoint is on disk).
    const killedAt = await new Promise<TrainPoint>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', CHILD, copyPath, String(EPOCHS), String(SEED)],
        {
          cwd: repoRoot,
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      )
      let partial = ''
      let stderr = ''
      let at: TrainPoint | null = null
      child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s))
      child.stdout.setEncoding('utf8').on('data', (s: string) => {
        const lines = (partial + s).split('\n')
        partial = lines.pop()!
        for (const l of lines) {
          const p = (JSON.parse(l) as { progress?: JobProgress }).progress
          if (!at && p?.train?.type === 'epoch' && p.train.epoch >= 3) {
            at = p.train
            child.kill('SIGKILL')
          }
        }
      })
      child.on('error', reject)
      child.on('close', (code, signal) => {
        if (!at) reject(new Error(`the fine-tune ended before the kill (exit ${code}): ${stderr}`))
        else if (signal !== 'SIGKILL') reject(new Error(`child ended by ${signal ?? code}, not SIGKILL`))
        else resolve(at)
      })
    })
    expect(killedAt.epoch).toBeLessThan(EPOCHS)

    // The library is sound and every label exactly as before.
    expect(integrity(copyPath)).toBe('ok')
    const db = openLibrary(copyPath)
    try {
      expect(verifyAudit(db)).toMatchObject({ ok: true })
      expect(labelSnapshot(db)).toEqual(snapshot)
      // No half-made model: none new, or whole ones only.
      const heads = expectHeadModelsComplete(db)
      const modelsNow = db.prepare('SELECT id FROM models ORDER BY id').pluck().all()
      expect(modelsNow.length).toBe(modelsBefore.length + heads)
      expect(db.prepare(`SELECT status FROM jobs WHERE kind = 'train'`).pluck().all()).toEqual(['running'])
    } finally {
      db.close()
    }

    // The checkpoint the kill left beside the library (at least epoch 2, not the last).
    const runs = runsDir(copyPath)
    const files = existsSync(runs) ? readdirSync(runs).filter((f) => f.endsWith('.lck')) : []
    expect(files).toHaveLength(1)
    const saved = readCheckpoint<{ epoch: number; step: number }>(join(runs, files[0]!))
    expect(saved).not.toBeNull()
    expect(saved!.header.epoch).toBeGreaterThanOrEqual(2)
    expect(saved!.header.epoch).toBeLessThan(EPOCHS)

    // The same request again: the killed job is marked interrupted, training resumes after the
    // checkpoint's epoch, and the result is the uninterrupted run's, bit for bit.
    const again = new LineupService({ dbPath: copyPath, host: 'browser', analyst: 'tester' })
    try {
      const progress: JobProgress[] = []
      again.onEvent((e) => {
        if (e.type === 'job.progress') progress.push(e.progress)
      })
      const job = await again['train.start']({ loss: 'rank-triplet', epochs: EPOCHS, seed: SEED })
      const done = await waitFor(again, job)
      expect(done.status, done.error ?? '').toBe('done')
      const jobs = await again['jobs.list']({ limit: 50 })
      expect(jobs.filter((j) => j.kind === 'train').map((j) => [j.id < job.id, j.status])).toEqual([
        [false, 'done'],
        [true, 'interrupted'],
      ])
      const points = progress.filter((p) => p.jobId === job.id && p.train).map((p) => p.train!)
      expect(points.length).toBeGreaterThan(0)
      expect(Math.min(...points.map((p) => p.epoch))).toBe(saved!.header.epoch + 1)
      expect(points.filter((p) => p.type === 'epoch').map((p) => p.epoch)).toEqual(
        Array.from({ length: EPOCHS - saved!.header.epoch }, (_, i) => saved!.header.epoch + 1 + i),
      )
      const summary = done.summary as TrainSummary
      expect(summary.steps).toBe(mainSummary.steps)
      const model = (await again['models.list']()).find((m) => m.id === summary.modelId)!
      expect(model).toMatchObject({ kind: 'head', baseModelId: base.id, embedded: base.embedded })
      expect(model.key).toBe(mainModelKey)
      expect(summary.comparison).toEqual(mainSummary.comparison)
      expect(verifyAudit(again.db).ok).toBe(true)
      expect(labelSnapshot(again.db)).toEqual(snapshot)
      expectHeadModelsComplete(again.db)
      // The killed run is closed as failed (interrupted), not left 'running' forever.
      expect(
        again.db.prepare('SELECT status, error FROM training_runs ORDER BY id').all() as unknown[],
      ).toEqual([
        { status: 'failed', error: 'interrupted: the app was closed or killed during the fine-tune' },
        { status: 'finished', error: null },
      ])
    } finally {
      await again.close()
    }
    expect(integrity(copyPath)).toBe('ok')
    expect(
      rawDb(copyPath, true).prepare(`SELECT count(*) FROM models WHERE kind = 'head'`).pluck().get(),
    ).toBe(1)
  })

  it('embeds a crop imported after the fine-tune as its base vector would give: centred on its camera', async () => {
    // A version of the main run's head with a mean per camera (c1–c3, ≥ 2 crops each here).
    const db = service.db
    const stored = loadHead(db, getModel(db, mainSummary.modelId))
    const baseRows = db
      .prepare('SELECT crop_id, vector FROM embeddings WHERE model_id = ? ORDER BY crop_id')
      .all(base.id) as { crop_id: number; vector: Buffer }[]
    const all = Buffer.concat(baseRows.map((r) => r.vector))
    const centering = fitCentering(
      new Float32Array(all.buffer, all.byteOffset, all.byteLength / 4),
      baseRows.length,
      base.dim,
      cameraNames(
        db,
        baseRows.map((r) => r.crop_id),
      ),
      2,
    )
    expect(centering.cameras).toEqual(['c1', 'c2', 'c3'])
    const head = { ...stored, centering }
    const { model } = saveHeadModel(db, getModel(db, base.id), head, {
      name: 'per-camera',
      loss: 'rank-triplet',
      seed: SEED,
      runId: null,
    })
    // Three new crops (identity 9, cameras 1–3), with no base vector yet: the head model's embed
    // job computes theirs through its extractor (backbone, then centring on the crop's camera).
    const folder = join(tmp.path, 'later')
    await makeToyDataset(folder, { trainIds: [9], trainPerId: 3, testIds: [], distractors: 0 })
    const imp = await waitFor(service, await service['import.start']({ folder, layout: 'auto' }))
    expect(imp.status).toBe('done')
    const fresh = db
      .prepare(`SELECT id FROM crops WHERE identity = '0009' ORDER BY id`)
      .pluck()
      .all() as number[]
    expect(fresh).toHaveLength(3)
    expect((await waitFor(service, await service['embed.start']({ modelId: model.id }))).status).toBe('done')
    expect((await waitFor(service, await service['embed.start']({ modelId: base.id }))).status).toBe('done')
    const vec = db.prepare('SELECT vector FROM embeddings WHERE model_id = ? AND crop_id = ?').pluck()
    const baseOf = Buffer.concat(fresh.map((c) => vec.get(base.id, c) as Buffer))
    const x = new Float32Array(baseOf.buffer, baseOf.byteOffset, baseOf.byteLength / 4)
    const viaBase = await applyHeadOnnx(head, x, 3, cameraNames(db, fresh))
    const blind = await applyHeadOnnx(head, x, 3)
    const got = Buffer.concat(fresh.map((c) => vec.get(model.id, c) as Buffer))
    expect(cameraNames(db, fresh)).toEqual(['c1', 'c2', 'c3'])
    expect(got.equals(Buffer.from(viaBase.buffer))).toBe(true)
    expect(got.equals(Buffer.from(blind.buffer))).toBe(false)
  })
})
