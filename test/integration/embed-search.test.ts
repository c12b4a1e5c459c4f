import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LineupService } from '../../src-main/engine/service'
import { buildEmbedder } from '../../src-main/engine/ml/onnx/build-model'
import type { JobInfo } from '../../src-shared/domain'
import { integrity, rawDb } from '../helpers/db'
import { tempDir } from '../helpers/tmp'
import { jsonLines, runCli } from '../helpers/cli'

// The library side of issue #4 on a tiny ONNX model (Flatten + Gemm on 8×4 images, built in
// memory), so it runs without ../shared: model import, embedding, file problems, search filters.
const tmp = tempDir('lineup-embed-')
afterAll(() => tmp.dispose())

/** Three "people" by colour, each seen by two cameras (generic layout: a folder per camera). */
const PEOPLE = { red: [200, 30, 30], green: [30, 190, 40], blue: [20, 40, 210] } as const

async function makeFolder(root: string): Promise<void> {
  for (const cam of ['cam1', 'cam2']) {
    mkdirSync(join(root, cam), { recursive: true })
    for (const [name, [r, g, b]] of Object.entries(PEOPLE)) {
      for (let k = 0; k < 2; k++) {
        const shade = (cam === 'cam1' ? 0 : 9) + k * 4
        const png = await sharp({
          create: {
            width: 32,
            height: 64,
            channels: 3,
            background: { r: r + shade, g: g + shade, b: b - shade },
          },
        })
          .png()
          .toBuffer()
        writeFileSync(join(root, cam, `${name}-${k}.png`), png)
      }
    }
  }
  writeFileSync(
    join(root, 'crops.csv'),
    'file,camera,timestamp,identity\n' +
      ['cam1', 'cam2']
        .flatMap((cam, c) =>
          Object.keys(PEOPLE).flatMap((name) =>
            [0, 1].map((k) => `${cam}/${name}-${k}.png,${cam},2024-03-0${c + 1}T10:0${k}:00Z,${name}`),
          ),
        )
        .join('\n'),
  )
}

async function waitFor(service: LineupService, job: JobInfo): Promise<JobInfo> {
  for (;;) {
    const j = await service['jobs.get']({ id: job.id })
    if (j.status !== 'running') return j
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('models, embedding and search on a library', () => {
  let folder: string
  let dbPath: string
  let service: LineupService
  let modelFile: string

  beforeAll(async () => {
    folder = join(tmp.path, 'crops')
    await makeFolder(folder)
    dbPath = join(tmp.path, 'lib.lineup')
    modelFile = join(tmp.path, 'tiny.onnx')
    writeFileSync(modelFile, buildEmbedder({ inputDims: ['batch', 3, 8, 4], dim: 16 }))
    service = new LineupService({ dbPath, host: 'browser' })
    const job = await service['import.start']({ folder, layout: 'auto' })
    expect((await waitFor(service, job)).status).toBe('done')
  })
  afterAll(async () => service?.close())

  it('refuses to embed before a model exists, saying what to do', async () => {
    await expect(service['embed.start']({})).rejects.toThrow(/no active model: add one/)
  })

  it('adds an ONNX model: probed, stored by SHA-256, active, audited', async () => {
    const model = await service['models.add']({ path: modelFile, inputSize: [8, 4], activate: true })
    expect(model).toMatchObject({ kind: 'onnx', dim: 16, active: true, embedded: 0, name: 'tiny' })
    expect(model.key).toMatch(/^[0-9a-f]{64}$/)
    const stored = join(`${dbPath}.models`, `${model.key}.onnx`)
    expect(readFileSync(stored)).toEqual(readFileSync(modelFile))
    const again = await service['models.add']({ path: modelFile, inputSize: [8, 4], activate: true })
    expect(again.id).toBe(model.id)
    expect(await service['models.list']()).toHaveLength(1)
    const actions = rawDb(dbPath, true).prepare('SELECT action FROM audit_log ORDER BY seq').pluck().all()
    expect(actions).toEqual(expect.arrayContaining(['model.add', 'model.activate']))
  })

  it('refuses a broken model and leaves the library as it was', async () => {
    const text = join(tmp.path, 'notes.onnx')
    writeFileSync(text, 'this is not a model\n')
    const truncated = join(tmp.path, 'half.onnx')
    const bytes = readFileSync(modelFile)
    writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)))
    for (const path of [text, truncated, join(tmp.path, 'missing.onnx')]) {
      await expect(service['models.add']({ path, activate: true })).rejects.toMatchObject({
        kind: expect.stringMatching(/invalid-input|not-found/),
      })
    }
    expect((await service['models.list']()).map((m) => m.name)).toEqual(['tiny'])
    expect(integrity(dbPath)).toBe('ok')
  })

  it('embeds every crop once, skipping a vanished and a changed original with their reasons', async () => {
    const gone = join(folder, 'cam2', 'blue-1.png')
    const changed = join(folder, 'cam2', 'green-1.png')
    const goneBytes = readFileSync(gone)
    const changedBytes = readFileSync(changed)
    rmSync(gone)
    writeFileSync(changed, Buffer.concat([changedBytes, Buffer.from([0])]))
    const job = await service['embed.start']({})
    const done = await waitFor(service, job)
    expect(done.status).toBe('done')
    const summary = done.summary as {
      embedded: number
      skipped: { path: string; reason: string }[]
      total: number
    }
    expect(summary.embedded).toBe(10)
    expect(
      summary.skipped.map((s) => [s.path.endsWith('blue-1.png') || s.path.endsWith('green-1.png'), s.reason]),
    ).toEqual(
      expect.arrayContaining([
        [true, 'original file is missing (moved or deleted since import)'],
        [true, 'file changed since it was imported (SHA-256 differs); not embedded'],
      ]),
    )
    expect(rawDb(dbPath, true).prepare('SELECT count(*) FROM crops').pluck().get()).toBe(12)
    expect(integrity(dbPath)).toBe('ok')
    // Put the originals back: the next run embeds exactly the two that are missing.
    writeFileSync(gone, goneBytes)
    writeFileSync(changed, changedBytes)
    const again = await waitFor(service, await service['embed.start']({}))
    expect(again.summary).toMatchObject({ embedded: 2, skipped: [], total: 12 })
  })

  it('finds the same person first, and applies camera, identity and time filters', async () => {
    const cropOf = (name: string, cam: string) =>
      rawDb(dbPath, true)
        .prepare(`SELECT crops.id FROM crops WHERE rel_path = ?`)
        .pluck()
        .get(`${cam}/${name}.png`) as number
    const query = cropOf('red-0', 'cam1')
    const r = await service['search.query']({
      cropIds: [query],
      k: 5,
      offset: 0,
      fusion: 'mean',
      excludeQueryCameras: false,
      excludeQueries: true,
    })
    expect(r.hits.map((h) => h.crop.identity).slice(0, 3)).toEqual(['red', 'red', 'red'])
    expect(r.total).toBe(11)
    expect(r.hits.every((h, i) => i === 0 || h.distance >= r.hits[i - 1]!.distance)).toBe(true)
    expect(r.modelKey).toMatch(/^[0-9a-f]{64}$/)

    const otherCam = await service['search.query']({
      cropIds: [query],
      k: 20,
      offset: 0,
      fusion: 'mean',
      excludeQueryCameras: true,
      excludeQueries: true,
    })
    expect(otherCam.total).toBe(6)
    expect(new Set(otherCam.hits.map((h) => h.crop.camera))).toEqual(new Set(['cam2']))

    const byId = await service['search.query']({
      cropIds: [query],
      k: 20,
      offset: 0,
      fusion: 'mean',
      identity: 'blue',
      excludeQueryCameras: false,
      excludeQueries: true,
    })
    expect(byId.hits.map((h) => h.crop.identity)).toEqual(['blue', 'blue', 'blue', 'blue'])

    const day2 = await service['search.query']({
      cropIds: [query],
      k: 20,
      offset: 0,
      fusion: 'mean',
      from: '2024-03-02T00:00:00Z',
      to: '2024-03-02T23:59:59Z',
      excludeQueryCameras: false,
      excludeQueries: true,
    })
    expect(day2.total).toBe(6)

    const page2 = await service['search.query']({
      cropIds: [query],
      k: 3,
      offset: 3,
      fusion: 'mean',
      excludeQueryCameras: false,
      excludeQueries: true,
    })
    const all = await service['search.query']({
      cropIds: [query],
      k: 6,
      offset: 0,
      fusion: 'mean',
      excludeQueryCameras: false,
      excludeQueries: true,
    })
    expect(page2.hits.map((h) => h.crop.id)).toEqual(all.hits.slice(3).map((h) => h.crop.id))
    expect(page2.hits[0]!.rank).toBe(4)
  })

  it('fuses several query crops of the same person', async () => {
    const ids = rawDb(dbPath, true)
      .prepare(`SELECT id FROM crops WHERE identity = 'green' ORDER BY id LIMIT 2`)
      .pluck()
      .all() as number[]
    for (const fusion of ['mean', 'max'] as const) {
      const r = await service['search.query']({
        cropIds: ids,
        k: 2,
        offset: 0,
        fusion,
        excludeQueryCameras: false,
        excludeQueries: true,
      })
      expect(r.queries).toEqual(ids)
      expect(r.hits.map((h) => h.crop.identity)).toEqual(['green', 'green'])
    }
  })

  it('logs every new search (not its later pages) in the audit log', async () => {
    const audit = () =>
      rawDb(dbPath, true)
        .prepare(`SELECT details FROM audit_log WHERE action = 'search' ORDER BY seq`)
        .pluck()
        .all() as string[]
    const before = audit().length
    const base = { k: 3, fusion: 'mean' as const, excludeQueryCameras: false, excludeQueries: true }
    const r = await service['search.query']({ ...base, cropIds: [1], offset: 0 })
    await service['search.query']({ ...base, cropIds: [1], offset: 3 })
    const entries = audit()
    expect(entries).toHaveLength(before + 1)
    expect(JSON.parse(entries.at(-1)!)).toMatchObject({
      queries: [1],
      rejected: [],
      model: r.modelKey,
      k: 3,
      top: r.hits.map((h) => h.crop.id),
    })
  })

  it('answers the same from the command line, by crop id and by image file', async () => {
    const byCrop = await runCli(['search', '--db', dbPath, '--query', '1', '--k', '3', '--json'])
    expect(byCrop.code).toBe(0)
    const out = jsonLines(byCrop.stdout).at(-1) as { hits: { crop: { id: number } }[]; modelKey: string }
    expect(out.hits).toHaveLength(3)
    const file = join(folder, 'cam1', 'red-0.png')
    const byFile = await runCli(['search', '--db', dbPath, '--query', file, '--k', '1', '--json'])
    expect(byFile.code).toBe(0)
    const top = (
      jsonLines(byFile.stdout).at(-1) as { hits: { crop: { identity: string }; distance: number }[] }
    ).hits[0]!
    expect(top.crop.identity).toBe('red')
    expect(top.distance).toBeLessThan(1e-5) // the file is crop 1's own original
    const bad = await runCli(['search', '--db', dbPath, '--query', 'nope.png', '--json'])
    expect(bad.code).toBe(2)
  })
})

describe('new imports are embedded incrementally', () => {
  it('embeds the crops of an import with the active model, without being asked', async () => {
    const folder = join(tmp.path, 'later')
    await makeFolder(folder)
    const dbPath = join(tmp.path, 'auto.lineup')
    const model = join(tmp.path, 'tiny-auto.onnx')
    writeFileSync(model, buildEmbedder({ inputDims: ['batch', 3, 8, 4], dim: 16 }))
    const service = new LineupService({ dbPath, host: 'browser', autoEmbed: true })
    try {
      await service['models.add']({ path: model, inputSize: [8, 4], activate: true })
      const imported = await waitFor(service, await service['import.start']({ folder, layout: 'auto' }))
      expect(imported.status).toBe('done')
      // The embedding job follows the import on its own.
      for (let i = 0; i < 200; i++) {
        const embed = (await service['jobs.list']({ limit: 10 })).find((j) => j.kind === 'embed')
        if (embed && embed.status !== 'running') break
        await new Promise((r) => setTimeout(r, 50))
      }
      const [m] = await service['models.list']()
      expect(m!.embedded).toBe(12)
    } finally {
      await service.close()
    }
  })
})
