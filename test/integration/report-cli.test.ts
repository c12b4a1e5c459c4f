/**
 * Case reports through the real command (`lineup report export|verify`, src-main/cli/report.ts):
 * a small library of real files, a person of interest with marks, the exported HTML (every
 * sighting's SHA-256, the model key, the audit head, inline thumbnails, nothing external), the
 * export's audit entry, and verify's verdicts: 0 when it holds, 3 for a changed original, an edited
 * or re-sealed report, or another library; 1 for a file that is not a report; 2 for usage errors.
 */
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LineupService } from '../../src-main/engine/service'
import type { JobInfo } from '../../src-shared/domain'
import { runCli, type CliResult } from '../helpers/cli'
import { rawDb } from '../helpers/db'
import { tempDir } from '../helpers/tmp'

const tmp = tempDir('lineup-report-cli-')
afterAll(() => tmp.dispose())

const PEOPLE = { red: [200, 40, 40], green: [40, 180, 60], blue: [40, 60, 200] } as const
const NAME = 'Suspect <A> & "B"'

async function makeFolder(root: string): Promise<void> {
  const lines = ['file,camera,timestamp']
  for (const [name, [r, g, b]] of Object.entries(PEOPLE)) {
    for (let k = 0; k < 3; k++) {
      const cam = k === 0 ? 'cam1' : 'cam2'
      mkdirSync(join(root, cam), { recursive: true })
      const png = await sharp({
        create: { width: 32, height: 64, channels: 3, background: { r: r + 5 * k, g, b: b - 5 * k } },
      })
        .png()
        .toBuffer()
      writeFileSync(join(root, cam, `${name}-${k}.png`), png)
      lines.push(`${cam}/${name}-${k}.png,${cam},2024-03-01T10:0${k}:00Z`)
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

/** A library of the folder's crops with the built-in model active. */
async function makeLibrary(dbPath: string, folder: string): Promise<LineupService> {
  const service = new LineupService({ dbPath, host: 'browser', analyst: 'alice' })
  expect((await waitFor(service, await service['import.start']({ folder, layout: 'auto' }))).status).toBe(
    'done',
  )
  await service['models.add']({ path: 'builtin', activate: true })
  return service
}

const out = (r: CliResult) => `${r.stdout}\n${r.stderr}`

interface Evidence {
  person: { name: string }
  crops: { cropId: number; sha256: string; relPath: string; source: string }[]
  model: { key: string } | null
  audit: { entries: number; headSeq: number; headHash: string }
}
const EVIDENCE =
  /<script type="application\/json" id="lineup-evidence" data-seal="([0-9a-f]{64})">([\s\S]*?)<\/script>/

describe('lineup report export / verify', () => {
  let folder: string
  let lib: string
  let other: string
  let report: string
  let html: string
  let seal: string
  let personId: number
  /** Crop ids by file name (e.g. 'red-1'). */
  const crop: Record<string, number> = {}
  const sha = (id: number) =>
    rawDb(lib, true).prepare('SELECT sha256 FROM crops WHERE id = ?').pluck().get(id) as string

  beforeAll(async () => {
    folder = join(tmp.path, 'crops')
    await makeFolder(folder)
    lib = join(tmp.path, 'case.lineup')
    const service = await makeLibrary(lib, folder)
    for (const r of service.db.prepare('SELECT id, rel_path FROM crops').all() as {
      id: number
      rel_path: string
    }[])
      crop[r.rel_path.replace(/^cam\d\//, '').replace('.png', '')] = r.id
    const p = await service['persons.create']({
      queryCropId: crop['red-0']!,
      name: NAME,
      notes: 'seen <twice>',
    })
    personId = p.id
    const mark = (cropId: number, verdict: 'same' | 'different', rank: number) =>
      service['marks.set']({ personId, cropId, verdict, rank })
    await mark(crop['red-1']!, 'same', 1)
    await mark(crop['red-2']!, 'same', 2)
    await mark(crop['blue-0']!, 'different', 3)
    await mark(crop['green-0']!, 'same', 4)
    await service['marks.undo']({ personId }) // green-0 is not a sighting
    await service.close()
    // Another library of the same files (same hashes, same model), without the person or the export.
    other = join(tmp.path, 'other.lineup')
    await (await makeLibrary(other, folder)).close()
    report = join(tmp.path, 'report.html')
  })

  it('exports one self-contained HTML report and logs the export with its seal', async () => {
    const entriesBefore = rawDb(lib, true).prepare('SELECT count(*) FROM audit_log').pluck().get() as number
    const r = await runCli([
      'report',
      'export',
      '--db',
      lib,
      '--person',
      String(personId),
      '--out',
      report,
      '--json',
    ])
    expect(r.code, out(r)).toBe(0)
    const line = JSON.parse(r.stdout.trim()) as { out: string; seal: string; crops: number }
    expect(line).toMatchObject({ out: report, crops: 3 })
    expect(line.seal).toMatch(/^[0-9a-f]{64}$/)
    seal = line.seal
    html = readFileSync(report, 'utf8')

    // Every sighting's SHA-256 (the query and the two confirmed crops; not the rejected or undone ones).
    for (const name of ['red-0', 'red-1', 'red-2']) expect(html).toContain(sha(crop[name]!))
    for (const name of ['blue-0', 'green-0']) expect(html).not.toContain(sha(crop[name]!))
    // The model version's key and the audit log's head at export.
    expect(html).toContain('builtin:lomo-xqda@1')
    const db = rawDb(lib, true)
    const log = db.prepare('SELECT seq, action, details, hash FROM audit_log ORDER BY seq').all() as {
      seq: number
      action: string
      details: string
      hash: string
    }[]
    expect(log).toHaveLength(entriesBefore + 1)
    const head = log[log.length - 2]!
    expect(html).toContain(head.hash)
    const m = EVIDENCE.exec(html)!
    expect(m[1]).toBe(seal)
    const evidence = JSON.parse(m[2]!) as Evidence
    expect(evidence.audit).toEqual({ entries: entriesBefore, headSeq: head.seq, headHash: head.hash })
    expect(evidence.person.name).toBe(NAME)
    expect(evidence.crops.map((c) => c.cropId).sort((a, b) => a - b)).toEqual(
      [crop['red-0']!, crop['red-1']!, crop['red-2']!].sort((a, b) => a - b),
    )
    expect(createHash('sha256').update(JSON.stringify(evidence)).digest('hex')).toBe(seal)
    // The export's own audit entry carries the seal.
    const last = log.at(-1)!
    expect(last.action).toBe('report.export')
    expect(JSON.parse(last.details)).toMatchObject({ personId, seal, crops: 3, model: 'builtin:lomo-xqda@1' })

    // Self-contained: thumbnails inline, nothing fetched from anywhere, the name escaped.
    const imgs = [...html.matchAll(/<img\b[^>]*\bsrc="([^"]*)"/g)].map((x) => x[1]!)
    expect(imgs).toHaveLength(3)
    for (const src of imgs) expect(src).toMatch(/^data:image\/[a-z]+;base64,[A-Za-z0-9+/]+=*$/)
    expect(html).not.toMatch(/\b(src|href|action)\s*=\s*["']?\s*(https?:|\/\/)/i)
    expect(html).not.toMatch(/https?:\/\//i)
    expect(html).not.toMatch(/<link\b|@import|url\(/i)
    expect(html).not.toContain(NAME) // only escaped in the markup, \u003c-escaped in the JSON
    expect(html).toContain('Suspect &#60;A&#62; &#38; &#34;B&#34;')
  })

  it('verifies the report against its library (exit 0), in text and JSON', async () => {
    const [text, json] = await Promise.all([
      runCli(['report', 'verify', report, '--db', lib]),
      runCli(['report', 'verify', report, '--db', lib, '--json']),
    ])
    expect(text.code, out(text)).toBe(0)
    expect(text.stdout).toContain(`report verified: seal ${seal}, 3 originals match their SHA-256`)
    expect(json.code, out(json)).toBe(0)
    expect(JSON.parse(json.stdout.trim())).toEqual({ ok: true, seal, problems: [], checkedFiles: 3 })
    // The case goes on (another mark, logged): the report still holds.
    const service = new LineupService({ dbPath: lib, host: 'browser', analyst: 'bob' })
    await service['marks.set']({ personId, cropId: crop['green-1']!, verdict: 'different' })
    await service.close()
    const later = await runCli(['report', 'verify', report, '--db', lib])
    expect(later.code, out(later)).toBe(0)
  })

  it('does not verify (exit 3) when one byte of an original changed, naming the crop and the file', async () => {
    const file = join(folder, 'cam2', 'red-1.png')
    const bytes = readFileSync(file)
    const changed = Buffer.from(bytes)
    const at = changed.length - 20 // inside the last chunk: same size, one byte different
    changed[at] = changed[at]! ^ 0x01
    writeFileSync(file, changed)
    try {
      const r = await runCli(['report', 'verify', report, '--db', lib])
      expect(r.code, out(r)).toBe(3)
      expect(r.stdout).toContain('report does NOT verify')
      const problems = r.stdout.split('\n').filter((l) => l.startsWith('  - '))
      expect(problems).toHaveLength(1)
      expect(problems[0]).toContain(`crop ${crop['red-1']}`)
      expect(problems[0]).toContain(file)
      expect(problems[0]).toContain('has changed')
      expect(problems[0]).toContain(createHash('sha256').update(changed).digest('hex'))
    } finally {
      writeFileSync(file, bytes)
    }
    expect((await runCli(['report', 'verify', report, '--db', lib])).code).toBe(0)
  })

  it('does not verify (exit 3) an edited or re-sealed report, or against another library', async () => {
    const m = EVIDENCE.exec(html)!
    const evidence = JSON.parse(m[2]!) as Evidence
    const forged = { ...evidence, person: { ...evidence.person, name: 'Someone Else' } }
    const forgedJson = JSON.stringify(forged).replace(/</g, '\\u003c')
    // Edited: the evidence changed, the seal kept.
    const edited = join(tmp.path, 'edited.html')
    writeFileSync(edited, html.replace(m[2]!, forgedJson))
    // Re-sealed: the forger also recomputes the seal; the library's audit log knows no such export.
    const resealed = join(tmp.path, 'resealed.html')
    const forgedSeal = createHash('sha256').update(JSON.stringify(forged)).digest('hex')
    writeFileSync(
      resealed,
      html.replace(
        m[0],
        m[0].replace(m[2]!, forgedJson).replace(`data-seal="${seal}"`, `data-seal="${forgedSeal}"`),
      ),
    )
    const [e, s, o] = await Promise.all([
      runCli(['report', 'verify', edited, '--db', lib]),
      runCli(['report', 'verify', resealed, '--db', lib, '--json']),
      runCli(['report', 'verify', report, '--db', other, '--json']),
    ])
    expect(e.code, out(e)).toBe(3)
    expect(e.stdout).toContain('the evidence does not match its seal: the report was edited after export')
    expect(s.code, out(s)).toBe(3)
    const sealed = JSON.parse(s.stdout.trim()) as { ok: boolean; problems: string[] }
    expect(sealed.ok).toBe(false)
    expect(sealed.problems).toEqual(['the audit log has no record of this report’s export'])
    expect(o.code, out(o)).toBe(3)
    const elsewhere = JSON.parse(o.stdout.trim()) as { ok: boolean; problems: string[] }
    expect(elsewhere.ok).toBe(false)
    expect(elsewhere.problems).toContain('the audit log has no record of this report’s export')
  })

  it('fails (exit 1) with a clear message on a file that is not a report, a missing one, or a missing library', async () => {
    const notReport = join(tmp.path, 'notes.html')
    writeFileSync(notReport, '<!doctype html><html><body><p>meeting notes</p></body></html>\n')
    const [nr, png, missing, noLib, noPerson] = await Promise.all([
      runCli(['report', 'verify', notReport, '--db', lib]),
      runCli(['report', 'verify', join(folder, 'cam1', 'red-0.png'), '--db', lib, '--json']),
      runCli(['report', 'verify', join(tmp.path, 'nowhere.html'), '--db', lib]),
      runCli(['report', 'verify', report, '--db', join(tmp.path, 'nowhere.lineup')]),
      runCli(['report', 'export', '--db', lib, '--person', '99', '--out', join(tmp.path, 'p99.html')]),
    ])
    expect(nr.code, out(nr)).toBe(1)
    expect(nr.stderr).toContain('this file is not a Lineup case report (no evidence block found)')
    expect(png.code, out(png)).toBe(1)
    expect(JSON.parse(png.stdout.trim())).toMatchObject({ error: { kind: 'invalid-input' } })
    expect(missing.code, out(missing)).toBe(1)
    expect(missing.stderr).toContain('report not found')
    expect(noLib.code, out(noLib)).toBe(1)
    expect(noLib.stderr).toContain('library not found')
    expect(existsSync(join(tmp.path, 'nowhere.lineup'))).toBe(false)
    expect(noPerson.code, out(noPerson)).toBe(1)
    expect(noPerson.stderr).toContain('person 99 is not in this library')
    expect(existsSync(join(tmp.path, 'p99.html'))).toBe(false)
    // A failed export logs nothing.
    const actions = rawDb(lib, true).prepare('SELECT action FROM audit_log').pluck().all()
    expect(actions.filter((a) => a === 'report.export')).toHaveLength(1)
  })

  it('rejects bad command lines with the usage (exit 2)', async () => {
    const html2 = join(tmp.path, 'usage.html')
    const cases: string[][] = [
      ['report'],
      ['report', 'print', '--db', lib],
      ['report', 'export', '--person', '1', '--out', html2],
      ['report', 'export', '--db', lib, '--out', html2],
      ['report', 'export', '--db', lib, '--person', '1'],
      ['report', 'export', '--db', lib, '--person', '0', '--out', html2],
      ['report', 'export', '--db', lib, '--person', 'one', '--out', html2],
      ['report', 'export', 'extra', '--db', lib, '--person', '1', '--out', html2],
      ['report', 'verify', '--db', lib],
      ['report', 'verify', report, report, '--db', lib],
      ['report', 'verify', report],
      ['report', 'verify', report, '--db', lib, '--bogus'],
    ]
    const results = await Promise.all(cases.map((c) => runCli(c)))
    results.forEach((r, i) => {
      expect(r.code, `${cases[i]!.join(' ')}\n${out(r)}`).toBe(2)
      expect(r.stderr).toMatch(/^lineup report: /)
      expect(r.stderr).toContain('lineup report export --db <library-file> --person <id>')
    })
    expect(existsSync(html2)).toBe(false)
    const actions = rawDb(lib, true).prepare('SELECT action FROM audit_log').pluck().all()
    expect(actions.filter((a) => a === 'report.export')).toHaveLength(1)
  })
})
