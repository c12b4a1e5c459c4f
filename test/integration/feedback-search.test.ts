import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildPooled } from '../../src-main/engine/ml/onnx/build-model'
import { LineupService } from '../../src-main/engine/service'
import type { Parsed } from '../../src-shared/api'
import type { JobInfo, SearchResult } from '../../src-shared/domain'
import { rawDb } from '../helpers/db'
import { tempDir } from '../helpers/tmp'

// Relevance feedback (issue #6) through the service, on a library whose "embedding" is a crop's
// ImageNet-normalised mean colour (a GlobalAveragePool model), so the geometry is known exactly:
// the suspect (red) has a look-alike (red with more blue) and another reddish person (red with
// more green) on the other side of it; green and blue people are far away.
const tmp = tempDir('lineup-feedback-')
afterAll(() => tmp.dispose())

const PEOPLE: Record<string, [number, number, number][]> = {
  suspect: [
    [200, 60, 60], // the query
    [205, 62, 58],
    [196, 58, 63],
    [202, 64, 61],
  ],
  lookalike: [
    [200, 60, 100],
    [205, 58, 104],
    [196, 62, 96],
    [199, 60, 108],
  ],
  other: [
    [200, 100, 60],
    [204, 104, 58],
    [197, 97, 63],
  ],
  green: [
    [40, 180, 50],
    [45, 176, 55],
  ],
  blue: [
    [30, 50, 200],
    [35, 55, 196],
  ],
}

async function makeFolder(root: string, people: Record<string, [number, number, number][]>): Promise<void> {
  const lines = ['file,camera,timestamp,identity']
  for (const [name, colours] of Object.entries(people)) {
    for (const [k, [r, g, b]] of colours.entries()) {
      const cam = k % 2 === 0 ? 'cam1' : 'cam2'
      mkdirSync(join(root, cam), { recursive: true })
      const png = await sharp({ create: { width: 32, height: 64, channels: 3, background: { r, g, b } } })
        .png()
        .toBuffer()
      writeFileSync(join(root, cam, `${name}-${k}.png`), png)
      lines.push(`${cam}/${name}-${k}.png,${cam},2024-03-01T10:0${k}:00Z,${name}`)
    }
  }
  writeFileSync(join(root, 'crops.csv'), lines.join('\n'))
}

async function waitFor(service: LineupService, job: JobInfo): Promise<JobInfo> {
  for (;;) {
    const j = await service['jobs.get']({ id: job.id })
    if (j.status !== 'running') return j
    await new Promise((r) => setTimeout(r, 25))
  }
}

describe('search with rejected crops (relevance feedback)', () => {
  let service: LineupService
  let dbPath: string
  const id = (name: string, k: number) =>
    rawDb(dbPath, true)
      .prepare('SELECT id FROM crops WHERE rel_path LIKE ?')
      .pluck()
      .get(`%/${name}-${k}.png`) as number
  const ask = (extra: Partial<Parsed<'search.query'>> = {}): Promise<SearchResult> =>
    service['search.query']({
      cropIds: [id('suspect', 0)],
      k: 100,
      offset: 0,
      fusion: 'mean',
      excludeQueryCameras: false,
      excludeQueries: true,
      ...extra,
    })
  const ranks = (r: SearchResult) => new Map(r.hits.map((h) => [h.crop.id, h.rank]))
  const names = (r: SearchResult) => r.hits.map((h) => h.crop.identity)

  beforeAll(async () => {
    const folder = join(tmp.path, 'crops')
    await makeFolder(folder, PEOPLE)
    dbPath = join(tmp.path, 'lib.lineup')
    const model = join(tmp.path, 'pooled.onnx')
    writeFileSync(model, buildPooled(['batch', 3, 8, 4], 'images', 'output'))
    service = new LineupService({ dbPath, host: 'browser', analyst: 'test' })
    expect((await waitFor(service, await service['import.start']({ folder, layout: 'auto' }))).status).toBe(
      'done',
    )
    await service['models.add']({ path: model, inputSize: [8, 4], activate: true })
    const embedded = await waitFor(service, await service['embed.start']({}))
    expect(embedded.summary).toMatchObject({ embedded: 15, skipped: [], total: 15 })
  })
  afterAll(async () => service?.close())

  it('ranks the suspect first, then the two reddish groups interleaved, without feedback', async () => {
    const plain = await ask()
    expect(plain.total).toBe(14)
    expect(names(plain).slice(0, 3)).toEqual(['suspect', 'suspect', 'suspect'])
    expect(new Set(names(plain).slice(3, 10))).toEqual(new Set(['lookalike', 'other']))
    expect(new Set(names(plain).slice(10))).toEqual(new Set(['green', 'blue']))
  })

  it('moves the rejected crop and its look-alikes down, in well under a second', async () => {
    const plain = await ask()
    const rejected = id('lookalike', 0)
    const started = performance.now()
    const fed = await ask({ rejectIds: [rejected] })
    const wall = performance.now() - started
    console.info(
      `feedback search: ${wall.toFixed(1)} ms wall, ${fed.milliseconds.toFixed(1)} ms reported (plain ${plain.milliseconds.toFixed(1)} ms)`,
    )
    expect(wall).toBeLessThan(1000)
    expect(fed.milliseconds).toBeLessThan(1000)
    expect(fed.total).toBe(plain.total)
    expect(fed.queries).toEqual(plain.queries)
    expect(fed.missing).toEqual([])

    const before = ranks(plain)
    const after = ranks(fed)
    expect(after.get(rejected)).toBeGreaterThan(before.get(rejected)!)
    const lookalikes = [0, 1, 2, 3].map((k) => id('lookalike', k))
    for (const c of lookalikes) expect(after.get(c)).toBeGreaterThanOrEqual(before.get(c)!)
    const sum = (m: Map<number, number>) => lookalikes.reduce((s, c) => s + m.get(c)!, 0)
    expect(sum(after)).toBeGreaterThan(sum(before))
    // Every true match stays ahead of every look-alike, and the far groups stay last.
    const suspects = [1, 2, 3].map((k) => id('suspect', k))
    expect(Math.max(...suspects.map((c) => after.get(c)!))).toBeLessThan(
      Math.min(...lookalikes.map((c) => after.get(c)!)),
    )
    expect(new Set(names(fed).slice(10))).toEqual(new Set(['green', 'blue']))
    // The page is in ascending (adjusted) distance with consecutive ranks.
    fed.hits.forEach((h, i) => {
      expect(h.rank).toBe(i + 1)
      if (i > 0) expect(h.distance).toBeGreaterThanOrEqual(fed.hits[i - 1]!.distance)
    })
  })

  it('keeps the true matches on top when a look-alike is rejected', async () => {
    const plain = await ask()
    const fed = await ask({ rejectIds: [id('lookalike', 0)] })
    expect(names(plain).slice(0, 3)).toEqual(['suspect', 'suspect', 'suspect'])
    // The 'other' person was ranked below every true match (squared distance ≈ 0.12–0.19 against
    // ≈ 0.002) and is unlike the rejected crop; rejecting a look-alike must not lift it above them.
    expect(names(fed).slice(0, 3)).toEqual(['suspect', 'suspect', 'suspect'])
  })

  it('pages the feedback ranking consistently', async () => {
    const rejectIds = [id('lookalike', 1)]
    const all = await ask({ rejectIds, k: 9 })
    const page = await ask({ rejectIds, k: 3, offset: 3 })
    expect(page.hits.map((h) => h.crop.id)).toEqual(all.hits.slice(3, 6).map((h) => h.crop.id))
    expect(page.hits.map((h) => h.rank)).toEqual([4, 5, 6])
    expect(page.offset).toBe(3)
    expect(page.total).toBe(all.total)
  })

  it('gives exactly the plain ranking with an empty rejectIds', async () => {
    const plain = await ask()
    const empty = await ask({ rejectIds: [] })
    expect(empty.hits).toEqual(plain.hits)
    expect({ ...empty, milliseconds: 0 }).toEqual({ ...plain, milliseconds: 0 })
  })

  it('ignores rejected crops that have no vector', async () => {
    // Imported after the embedding run (this service does not embed new imports by itself).
    const later = join(tmp.path, 'later')
    await makeFolder(later, { late: [[150, 60, 150]] })
    expect(
      (await waitFor(service, await service['import.start']({ folder: later, layout: 'auto' }))).status,
    ).toBe('done')
    const unembedded = id('late', 0)
    expect(unembedded).toBeGreaterThan(0)
    expect(
      rawDb(dbPath, true)
        .prepare('SELECT count(*) FROM embeddings WHERE crop_id = ?')
        .pluck()
        .get(unembedded),
    ).toBe(0)

    const plain = await ask()
    const ignored = await ask({ rejectIds: [unembedded] })
    expect(ignored.hits).toEqual(plain.hits)
    expect(ignored.total).toBe(plain.total)

    const rejected = id('lookalike', 2)
    const withOne = await ask({ rejectIds: [rejected] })
    const withBoth = await ask({ rejectIds: [unembedded, rejected] })
    expect(withBoth.hits).toEqual(withOne.hits)
  })
})
