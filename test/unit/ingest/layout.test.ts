import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { readCropsCsv, resolveLayout } from '../../../src-main/engine/ingest/layout'
import type { ScannedFile } from '../../../src-main/engine/ingest/scan'
import { tempDir } from '../../helpers/tmp'

const tmp = tempDir()
afterAll(() => tmp.dispose())

let n = 0
/** A folder holding `crops.csv` with `csv` (or no csv when null). */
function root(csv: string | null): string {
  const dir = join(tmp.path, `root-${++n}`)
  mkdirSync(dir)
  if (csv !== null) writeFileSync(join(dir, 'crops.csv'), csv)
  return dir
}

const files = (dir: string, rels: string[]): ScannedFile[] =>
  rels.map((rel) => ({ rel, abs: join(dir, rel) }))

/** readCropsCsv expecting a refusal; returns the message. */
function csvError(csv: string): string {
  const dir = root(csv)
  try {
    readCropsCsv(dir)
  } catch (err) {
    expect(err).toMatchObject({ kind: 'invalid-input' })
    return (err as Error).message
  }
  throw new Error('readCropsCsv accepted a malformed crops.csv')
}

describe('crops.csv', () => {
  it('is optional', () => {
    expect(readCropsCsv(root(null))).toBeNull()
  })

  it('maps each file to its camera, ISO timestamp and identity', () => {
    const rows = readCropsCsv(
      root(
        [
          'file,camera,timestamp,identity',
          'gate/a.jpg,Gate North,2024-03-01T12:30:00Z,suspect-1',
          './b.jpg,,,',
          'c.jpg,lobby,2024-03-01 12:31:05Z,',
        ].join('\n'),
      ),
    )!
    expect([...rows.keys()]).toEqual(['gate/a.jpg', 'b.jpg', 'c.jpg'])
    expect(rows.get('gate/a.jpg')).toEqual({
      camera: 'Gate North',
      timestamp: '2024-03-01T12:30:00.000Z',
      identity: 'suspect-1',
    })
    expect(rows.get('b.jpg')).toEqual({ camera: null, timestamp: null, identity: null })
    expect(rows.get('c.jpg')).toMatchObject({ camera: 'lobby', timestamp: '2024-03-01T12:31:05.000Z' })
  })

  it('needs only the file column, in any case and order, and tolerates a BOM and Windows separators', () => {
    const rows = readCropsCsv(root('\uFEFFIdentity,FILE\r\nP7,cam2\\x.jpg\r\n'))!
    expect(rows.get('cam2/x.jpg')).toEqual({ camera: null, timestamp: null, identity: 'P7' })
  })

  it('refuses a timestamp that is not a date, naming the line', () => {
    const message = csvError(
      'file,camera,timestamp,identity\na.jpg,c1,2024-03-01T10:00:00Z,\nb.jpg,c1,yesterday,\n',
    )
    expect(message).toMatch(/line 3/)
    expect(message).toContain('"yesterday"')
    expect(message).toMatch(/ISO 8601/)
  })

  it('refuses a file listed twice, naming the second line', () => {
    const message = csvError('file,camera\na.jpg,c1\nb.jpg,c2\n./a.jpg,c3\n')
    expect(message).toMatch(/line 4/)
    expect(message).toMatch(/"a\.jpg" is listed twice/)
  })

  it('refuses a csv without a file column, saying which header it expects', () => {
    const message = csvError('camera,timestamp,identity\nc1,,P1\n')
    expect(message).toMatch(/line 2/)
    expect(message).toMatch(/"file" column/)
    expect(message).toContain('file,camera,timestamp,identity')
  })

  it('refuses a row with an empty file cell, naming the line', () => {
    expect(csvError('file,camera\na.jpg,c1\n,c2\n')).toMatch(/line 3.*"file" column/)
  })

  it('refuses text that is not CSV', () => {
    expect(csvError('file,camera\n"a.jpg,c1\n')).toMatch(/not valid CSV/)
  })
})

describe('resolveLayout (auto)', () => {
  it('chooses market1501 when the names follow a re-ID dataset convention', () => {
    const dir = root(null)
    const layout = resolveLayout(
      dir,
      'auto',
      files(dir, ['0002_c1s1_000451_03.jpg', '0000_c6s1_000001_01.jpg']),
    )
    expect(layout.name).toBe('market1501')
    expect(layout.describe(files(dir, ['0002_c1s1_000451_03.jpg'])[0]!)).toEqual({
      identity: '0002',
      kind: 'labelled',
      camera: 'c1',
      sequence: 1,
      frame: 451,
      box: 3,
      timestamp: null,
    })
  })

  it('still chooses market1501 with a few stray names (≥ 90 % follow the convention)', () => {
    const dir = root(null)
    const names = Array.from({ length: 9 }, (_, i) => `000${i + 1}_c1s1_000001_01.jpg`)
    expect(resolveLayout(dir, 'auto', files(dir, [...names, 'stray.jpg'])).name).toBe('market1501')
    expect(resolveLayout(dir, 'auto', files(dir, [...names.slice(0, 8), 'a.jpg', 'b.jpg'])).name).toBe(
      'generic',
    )
  })

  it('chooses generic for sub-folders per camera, the folder naming the camera', () => {
    const dir = root(null)
    const layout = resolveLayout(
      dir,
      'auto',
      files(dir, ['gate/001.jpg', 'lobby/night/002.jpg', 'loose.jpg']),
    )
    expect(layout.name).toBe('generic')
    expect(layout.describe({ rel: 'gate/001.jpg', abs: '' })).toMatchObject({
      camera: 'gate',
      identity: null,
      kind: 'unlabelled',
    })
    expect(layout.describe({ rel: 'lobby/night/002.jpg', abs: '' })).toMatchObject({ camera: 'lobby' })
    expect(layout.describe({ rel: 'loose.jpg', abs: '' })).toMatchObject({ camera: null })
  })

  it('chooses generic when crops.csv is present, even for Market-style names, and the csv wins', () => {
    const dir = root(
      'file,camera,timestamp,identity\ncamA/0002_c1s1_000451_03.jpg,Gate,2024-03-01T12:30:00Z,P9\n',
    )
    const layout = resolveLayout(
      dir,
      'auto',
      files(dir, ['camA/0002_c1s1_000451_03.jpg', 'camA/0003_c2s1_000451_03.jpg']),
    )
    expect(layout.name).toBe('generic')
    expect(layout.describe({ rel: 'camA/0002_c1s1_000451_03.jpg', abs: '' })).toEqual({
      camera: 'Gate',
      identity: 'P9',
      kind: 'labelled',
      sequence: null,
      frame: null,
      box: null,
      timestamp: '2024-03-01T12:30:00.000Z',
    })
    // A file the csv does not list keeps its folder camera.
    expect(layout.describe({ rel: 'camA/0003_c2s1_000451_03.jpg', abs: '' })).toMatchObject({
      camera: 'camA',
      identity: null,
      kind: 'unlabelled',
    })
  })

  it('chooses generic for an empty folder', () => {
    expect(resolveLayout(root(null), 'auto', []).name).toBe('generic')
  })
})

describe('resolveLayout (explicit)', () => {
  it('market1501 skips a file whose name does not follow the pattern, saying what it expects', () => {
    const dir = root(null)
    const layout = resolveLayout(dir, 'market1501', [])
    expect(layout.describe({ rel: 'holiday.jpg', abs: '' })).toEqual({
      skip: expect.stringMatching(/Market-1501 pattern \(e\.g\. 0002_c1s1_000451_03\.jpg\)/),
    })
  })

  it('generic ignores Market-style names', () => {
    const dir = root(null)
    const layout = resolveLayout(dir, 'generic', files(dir, ['0002_c1s1_000451_03.jpg']))
    expect(layout.name).toBe('generic')
    expect(layout.describe({ rel: '0002_c1s1_000451_03.jpg', abs: '' })).toMatchObject({
      camera: null,
      identity: null,
      kind: 'unlabelled',
    })
  })

  it('still refuses a malformed crops.csv', () => {
    const dir = root('file\na.jpg\na.jpg\n')
    expect(() => resolveLayout(dir, 'generic', [])).toThrow(/listed twice/)
  })
})
