import { createHash } from 'node:crypto'
import {
  copyFileSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ImportSummary } from '../../src-shared/domain'
import { jsonLines, runCli, type CliResult } from '../helpers/cli'
import { integrity, libraryFacts } from '../helpers/db'
import { explainSkip, hasShared, marketDir } from '../helpers/paths'
import { pngHeaderOnly } from '../helpers/png'
import { tempDir } from '../helpers/tmp'

explainSkip('import of a folder with broken files (import-broken.test.ts)')

/**
 * Acceptance: a folder of real crops mixed with every kind of unusable file imports the good ones,
 * skips each bad one with a reason an analyst understands, and leaves every original untouched.
 * Bad files carry Market-1501 names, as they would in a damaged copy of a dataset, so the layout is
 * still detected and each is rejected for what is wrong with its content.
 */
describe.skipIf(!hasShared)('lineup import of a folder with broken files', () => {
  const GOOD = 20
  const bad = {
    truncated: { name: '0901_c1s1_000001_01.jpg', reason: /corrupt or truncated/ },
    text: { name: '0902_c1s1_000001_01.jpg', reason: /not a readable image/ },
    empty: { name: '0903_c1s1_000001_01.jpg', reason: /empty file \(0 bytes\)/ },
    huge: { name: '0904_c1s1_000001_01.png', reason: /image too large: 30000×30000 px/ },
    linkOutside: {
      name: '0905_c1s1_000001_01.jpg',
      reason: /symbolic link points outside the import folder/,
    },
    document: { name: 'statement.docx', reason: /not an image file \(\.docx\)/ },
  }

  const tmp = tempDir('lineup-broken-')
  let folder: string
  let outside: string
  let db: string
  let good: string[]
  let before: Map<string, { sha256: string; mtimeMs: number; size: number }>
  let run: CliResult
  let summary: ImportSummary

  /** Content hash, size and mtime of every entry in the folder and outside it (links not followed). */
  function originals() {
    const seen = new Map<string, { sha256: string; mtimeMs: number; size: number }>()
    for (const dir of [folder, outside]) {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name)
        const info = lstatSync(path)
        const bytes = info.isSymbolicLink() ? Buffer.from(path) : readFileSync(path)
        seen.set(path, {
          sha256: createHash('sha256').update(bytes).digest('hex'),
          mtimeMs: info.mtimeMs,
          size: info.size,
        })
      }
    }
    return seen
  }

  beforeAll(async () => {
    folder = join(tmp.path, 'crops')
    outside = join(tmp.path, 'elsewhere')
    db = join(tmp.path, 'case.lineup')
    mkdirSync(folder)
    mkdirSync(outside)
    const query = join(marketDir, 'query')
    const real = readdirSync(query).sort()
    good = real.slice(0, GOOD)
    for (const name of good) copyFileSync(join(query, name), join(folder, name))
    const jpeg = readFileSync(join(query, real[GOOD]!))
    writeFileSync(join(folder, bad.truncated.name), jpeg.subarray(0, Math.floor(jpeg.length / 2)))
    writeFileSync(join(folder, bad.text.name), 'Suspect seen at gate 3 around 14:00.\n')
    writeFileSync(join(folder, bad.empty.name), '')
    writeFileSync(join(folder, bad.huge.name), pngHeaderOnly(30_000, 30_000))
    copyFileSync(join(query, real[GOOD + 1]!), join(outside, 'private.jpg'))
    symlinkSync(join(outside, 'private.jpg'), join(folder, bad.linkOutside.name))
    writeFileSync(join(folder, bad.document.name), 'PK\u0003\u0004 not really a document')
    writeFileSync(join(folder, 'readme.txt'), 'Crops exported from the VMS on 2024-03-01.\n')
    before = originals()

    run = await runCli(['import', folder, '--db', db, '--json'])
    const lines = jsonLines(run.stdout)
    summary = lines.at(-1) as unknown as ImportSummary
  })
  afterAll(() => tmp.dispose())

  it('exits 0', () => {
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
  })

  it('imports every good crop', () => {
    expect(summary).toMatchObject({ imported: GOOD, duplicates: 0, crops: GOOD, cameras: expect.any(Number) })
    const facts = libraryFacts(db)
    expect(facts.crops).toBe(GOOD)
    expect(facts.cropsWithoutThumb).toBe(0)
  })

  it.each(Object.entries(bad))('skips the %s file with a reason that says what is wrong', (_kind, file) => {
    const entry = summary.skipped.find((s) => s.path === file.name)
    expect(entry, `${file.name} is not in skipped: ${JSON.stringify(summary.skipped)}`).toBeDefined()
    expect(entry!.reason).toMatch(file.reason)
  })

  it('reports nothing else as skipped: readme.txt is a sidecar, not a failure', () => {
    expect(summary.skipped.map((s) => s.path).sort()).toEqual(
      Object.values(bad)
        .map((b) => b.name)
        .sort(),
    )
  })

  it('leaves a sound library file', () => {
    expect(integrity(db)).toBe('ok')
  })

  it('only reads the originals: same bytes, same mtime, nothing added or removed', () => {
    const after = originals()
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort())
    for (const [path, info] of before) expect({ path, ...after.get(path) }).toEqual({ path, ...info })
    expect(statSync(join(outside, 'private.jpg')).size).toBeGreaterThan(0)
  })
})
