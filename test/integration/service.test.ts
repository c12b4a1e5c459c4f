import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LineupService } from '../../src-main/engine/service'
import { dispatch } from '../../src-shared/api'
import type { LineupEvent } from '../../src-shared/events'
import { tempDir } from '../helpers/tmp'

/** The engine as every host uses it: through `dispatch`, with events, on a real worker and file. */
const tmp = tempDir('lineup-service-')
const folder = join(tmp.path, 'crops')
let service: LineupService
const events: LineupEvent[] = []

beforeAll(async () => {
  mkdirSync(folder)
  for (let i = 1; i <= 6; i++) {
    const background = { r: i * 40, g: 255 - i * 30, b: i * 10 }
    const bytes = await sharp({ create: { width: 64, height: 128, channels: 3, background } })
      .jpeg()
      .toBuffer()
    writeFileSync(join(folder, `000${(i % 3) + 1}_c${i}s1_00000${i}_01.jpg`), bytes)
  }
  service = new LineupService({ dbPath: join(tmp.path, 'case.lineup'), host: 'browser' })
  service.onEvent((e) => events.push(e))
})
afterAll(async () => {
  await service.close()
  tmp.dispose()
})

/** Resolves with the first event of `type` (already seen or still to come). */
function nextEvent<T extends LineupEvent['type']>(type: T): Promise<Extract<LineupEvent, { type: T }>> {
  return new Promise((resolve) => {
    const found = events.find((e) => e.type === type)
    if (found) return resolve(found as Extract<LineupEvent, { type: T }>)
    const off = service.onEvent((e) => {
      if (e.type === type) {
        off()
        resolve(e as Extract<LineupEvent, { type: T }>)
      }
    })
  })
}

describe('LineupService', () => {
  it('imports a folder through import.start and reports progress, the finished job and a library change', async () => {
    const started = await dispatch(service, 'import.start', { folder })
    expect(started).toMatchObject({ ok: true, value: { id: 1, kind: 'import', status: 'running' } })
    const finished = await nextEvent('job.finished')
    expect(finished.job).toMatchObject({ id: 1, status: 'done', done: 6, total: 6 })
    expect(finished.summary).toMatchObject({ imported: 6, crops: 6, identities: 3, cameras: 6 })
    expect(events.some((e) => e.type === 'job.progress')).toBe(true)
    expect(events.at(-1)).toEqual({ type: 'library.changed' })
  })

  it('serves what it imported: summary, pages, details, thumbnails and originals', async () => {
    const summary = await dispatch(service, 'library.summary', {})
    expect(summary).toMatchObject({
      ok: true,
      value: {
        crops: 6,
        identities: 3,
        noCamera: 0,
        kinds: { labelled: 6, distractor: 0, junk: 0, unlabelled: 0 },
      },
    })
    const page = await dispatch(service, 'library.crops', { camera: 'c2' })
    expect(page).toMatchObject({ ok: true, value: { total: 1, items: [{ camera: 'c2', identity: '0003' }] } })
    const id = (page as { value: { items: { id: number }[] } }).value.items[0]!.id
    expect(await dispatch(service, 'library.crop', { id })).toMatchObject({
      ok: true,
      value: { relPath: '0003_c2s1_000002_01.jpg', sourceRoot: folder, sequence: 1, frame: 2, box: 1 },
    })
    expect(service.thumb(id).mime).toBe('image/webp')
    expect(service.originalPath(id)).toBe(join(folder, '0003_c2s1_000002_01.jpg'))
  })

  it('answers errors in an envelope an analyst can act on', async () => {
    expect(await dispatch(service, 'import.start', { folder: join(tmp.path, 'nope') })).toEqual({
      ok: false,
      error: { kind: 'not-found', message: expect.stringMatching(/^folder not found: .*nope/) },
    })
    expect(await dispatch(service, 'import.start', { folder, layout: 'duke' })).toMatchObject({
      ok: false,
      error: { kind: 'invalid-input', message: expect.stringMatching(/layout/) },
    })
    expect(await dispatch(service, 'jobs.cancel', { id: 1 })).toEqual({
      ok: false,
      error: { kind: 'conflict', message: 'job 1 is not running here (status: done)' },
    })
    expect(await dispatch(service, 'library.crop', { id: 999 })).toMatchObject({
      ok: false,
      error: { kind: 'not-found' },
    })
    expect(await dispatch(service, 'dialog.chooseFolder', {})).toMatchObject({
      ok: false,
      error: { kind: 'unsupported' },
    })
  })
})
