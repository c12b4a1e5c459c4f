import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { readAudit, verifyAudit } from '../../../src-main/engine/audit/log'
import { openLibrary, type Db } from '../../../src-main/engine/db/open'
import {
  createPerson,
  currentVerdicts,
  getPerson,
  labelledPersons,
  listPersons,
  markCrop,
  markHistory,
  undoLastMark,
  updatePerson,
} from '../../../src-main/engine/library/persons'
import type { Verdict } from '../../../src-shared/domain'
import { LineupError } from '../../../src-shared/errors'
import { integrity, rawDb } from '../../helpers/db'
import { repoRoot } from '../../helpers/paths'
import { tempDir } from '../../helpers/tmp'

const tmp = tempDir('lineup-persons-')
afterAll(() => tmp.dispose())
let n = 0

/**
 * Crops 1..10 with times chosen so that the time order differs from the id order:
 * 1 (query) cam1 10:05; 2 cam2 10:00 seq 1 frame 9; 5 cam2 10:00 seq 1 frame 5 (same time as 2, earlier
 * frame); 3 no time, seq 2 frame 10; 4 no time, seq 1 frame 50; 6..10 cam1 11:00 + id minutes.
 */
const CROPS: { camera: string; timestamp: string | null; sequence: number | null; frame: number | null }[] = [
  { camera: 'cam1', timestamp: '2024-03-01T10:05:00.000Z', sequence: 1, frame: 100 },
  { camera: 'cam2', timestamp: '2024-03-01T10:00:00.000Z', sequence: 1, frame: 9 },
  { camera: 'cam1', timestamp: null, sequence: 2, frame: 10 },
  { camera: 'cam1', timestamp: null, sequence: 1, frame: 50 },
  { camera: 'cam2', timestamp: '2024-03-01T10:00:00.000Z', sequence: 1, frame: 5 },
  ...[6, 7, 8, 9, 10].map((i) => ({
    camera: 'cam1',
    timestamp: `2024-03-01T11:0${i - 6}:00.000Z`,
    sequence: 3,
    frame: i,
  })),
]

function seed(db: Db): void {
  db.prepare(`INSERT INTO sources (root, layout, created_at) VALUES ('/case', 'generic', 'now')`).run()
  db.prepare(
    `INSERT INTO jobs (kind, status, params, started_at) VALUES ('import', 'done', '{}', 'now')`,
  ).run()
  db.prepare(`INSERT INTO cameras (name) VALUES ('cam1'), ('cam2')`).run()
  const crop = db.prepare(
    `INSERT INTO crops (source_id, rel_path, sha256, bytes, width, height, format, camera_id, sequence, frame,
                        timestamp, identity, kind, imported_at, job_id)
     VALUES (1, ?, ?, 100, 64, 128, 'png', (SELECT id FROM cameras WHERE name = ?), ?, ?, ?, NULL, 'unlabelled', 'now', 1)`,
  )
  CROPS.forEach((c, i) =>
    crop.run(
      `${c.camera}/${i + 1}.png`,
      (i + 1).toString(16).padStart(64, '0'),
      c.camera,
      c.sequence,
      c.frame,
      c.timestamp,
    ),
  )
}

function newLibrary(): { path: string; db: Db } {
  const path = join(tmp.path, `persons-${++n}.lineup`)
  const db = openLibrary(path)
  seed(db)
  return { path, db }
}

const auditCount = (db: Db) => db.prepare('SELECT count(*) FROM audit_log').pluck().get() as number
const verdictsOf = (db: Db, personId: number) => Object.fromEntries(currentVerdicts(db, personId))

function expectLineupError(fn: () => unknown, kind: LineupError['kind'], message?: RegExp): void {
  let caught: unknown
  try {
    fn()
  } catch (err) {
    caught = err
  }
  expect(caught).toBeInstanceOf(LineupError)
  expect((caught as LineupError).kind).toBe(kind)
  if (message) expect((caught as LineupError).message).toMatch(message)
}

describe('persons', () => {
  let db: Db
  beforeEach(() => {
    db = newLibrary().db
    return () => db.close()
  })

  it('creates a person from a query crop, named "Person N" by default, with an audit entry', () => {
    const p1 = createPerson(db, { queryCropId: 1 }, 'alice')
    expect(p1).toMatchObject({
      id: 1,
      name: 'Person 1',
      notes: '',
      queryCropId: 1,
      createdBy: 'alice',
      confirmed: 0,
      rejected: 0,
      unsure: 0,
    })
    expect(Date.parse(p1.createdAt)).not.toBeNaN()
    expect(p1.updatedAt).toBe(p1.createdAt)
    const p2 = createPerson(db, { queryCropId: 2 }, 'alice')
    expect(p2.name).toBe('Person 2')
    const p3 = createPerson(db, { queryCropId: 3, name: '  Suspect A  ', notes: 'red jacket' }, 'bob')
    expect(p3).toMatchObject({
      id: 3,
      name: 'Suspect A',
      notes: 'red jacket',
      queryCropId: 3,
      createdBy: 'bob',
    })
    expect(listPersons(db).map((p) => p.name)).toEqual(['Person 1', 'Person 2', 'Suspect A'])
    const log = readAudit(db)
    expect(log.map((e) => e.action)).toEqual(['person.create', 'person.create', 'person.create'])
    expect(log[2]).toMatchObject({
      actor: 'bob',
      details: { personId: 3, name: 'Suspect A', queryCropId: 3 },
    })
  })

  it('renames and updates notes, each with an audit entry', () => {
    const p = createPerson(db, { queryCropId: 1 }, 'alice')
    const renamed = updatePerson(db, p.id, { name: '  Suspect B ' }, 'bob')
    expect(renamed).toMatchObject({ id: p.id, name: 'Suspect B', notes: '' })
    expect(renamed.updatedAt >= p.updatedAt).toBe(true)
    const noted = updatePerson(db, p.id, { notes: 'seen near the station' }, 'bob')
    expect(noted).toMatchObject({ name: 'Suspect B', notes: 'seen near the station' })
    expect(readAudit(db).slice(1)).toMatchObject([
      { action: 'person.update', actor: 'bob', details: { personId: p.id, name: 'Suspect B' } },
      { action: 'person.update', actor: 'bob', details: { personId: p.id, notesLength: 21 } },
    ])
    expect(listPersons(db)).toEqual([noted])
  })

  it('refuses unknown crops and persons (not-found) and an empty name (invalid-input), logging nothing', () => {
    const p = createPerson(db, { queryCropId: 1 }, 'alice')
    const before = auditCount(db)
    expectLineupError(() => createPerson(db, { queryCropId: 99 }, 'alice'), 'not-found', /crop 99/)
    expectLineupError(() => updatePerson(db, 42, { name: 'x' }, 'alice'), 'not-found', /person 42/)
    expectLineupError(() => updatePerson(db, p.id, { name: '' }, 'alice'), 'invalid-input', /needs a name/)
    expectLineupError(() => updatePerson(db, p.id, { name: '   ' }, 'alice'), 'invalid-input', /needs a name/)
    expectLineupError(() => markCrop(db, { personId: 42, cropId: 2, verdict: 'same' }, 'a'), 'not-found')
    expectLineupError(() => markCrop(db, { personId: p.id, cropId: 99, verdict: 'same' }, 'a'), 'not-found')
    expectLineupError(() => undoLastMark(db, 42, 'a'), 'not-found')
    expectLineupError(() => getPerson(db, 42), 'not-found')
    expectLineupError(() => markHistory(db, 42), 'not-found')
    expect(auditCount(db)).toBe(before)
    expect(listPersons(db)).toHaveLength(1)
    expect(getPerson(db, p.id).name).toBe('Person 1')
  })

  it("refuses to mark a person's own query crop", () => {
    const p = createPerson(db, { queryCropId: 1 }, 'alice')
    const before = auditCount(db)
    for (const verdict of ['same', 'different', 'unsure'] as const) {
      expectLineupError(
        () => markCrop(db, { personId: p.id, cropId: 1, verdict }, 'alice'),
        'invalid-input',
        /query/,
      )
    }
    expect(auditCount(db)).toBe(before)
    expect(markHistory(db, p.id)).toEqual([])
  })
})

describe('marks', () => {
  let db: Db
  let path: string
  let person: number
  beforeEach(() => {
    ;({ db, path } = newLibrary())
    person = createPerson(db, { queryCropId: 1, name: 'Suspect' }, 'alice').id
    return () => db.close()
  })
  const mark = (cropId: number, verdict: Verdict, personId = person) =>
    markCrop(db, { personId, cropId, verdict }, 'alice')

  it('stores same / different / unsure, giving current verdicts and counts', () => {
    const m = markCrop(
      db,
      { personId: person, cropId: 2, verdict: 'same', modelId: undefined, rank: 3 },
      'alice',
    )
    expect(m).toMatchObject({
      personId: person,
      cropId: 2,
      verdict: 'same',
      analyst: 'alice',
      modelId: null,
      rank: 3,
      undoOf: null,
    })
    mark(3, 'same')
    mark(4, 'different')
    mark(5, 'unsure')
    expect(verdictsOf(db, person)).toEqual({ 2: 'same', 3: 'same', 4: 'different', 5: 'unsure' })
    expect(listPersons(db)[0]).toMatchObject({ confirmed: 2, rejected: 1, unsure: 1 })
    expect(getPerson(db, person)).toMatchObject({
      confirmed: 2,
      rejected: 1,
      unsure: 1,
      verdicts: { 2: 'same', 3: 'same', 4: 'different', 5: 'unsure' },
    })
  })

  it('records the model and rank the mark was made on', () => {
    db.prepare(
      `INSERT INTO models (key, kind, name, dim, config, created_at, active) VALUES ('builtin:x@1', 'builtin', 'x', 4, '{}', 'now', 1)`,
    ).run()
    const m = markCrop(
      db,
      { personId: person, cropId: 2, verdict: 'different', modelId: 1, rank: 7 },
      'alice',
    )
    expect(m).toMatchObject({ modelId: 1, rank: 7 })
    expect(readAudit(db).at(-1)!.details).toEqual({
      personId: person,
      cropId: 2,
      verdict: 'different',
      modelId: 1,
      rank: 7,
    })
  })

  it('changes the verdict when a crop is marked again (the latest mark wins)', () => {
    mark(2, 'same')
    mark(2, 'different')
    expect(verdictsOf(db, person)).toEqual({ 2: 'different' })
    mark(2, 'unsure')
    expect(verdictsOf(db, person)).toEqual({ 2: 'unsure' })
    expect(listPersons(db)[0]).toMatchObject({ confirmed: 0, rejected: 0, unsure: 1 })
    expect(markHistory(db, person).map((m) => m.verdict)).toEqual(['same', 'different', 'unsure'])
  })

  it('undoes like a stack: same, different, undo → same, undo → unmarked, undo → null', () => {
    const a = mark(2, 'same')
    const b = mark(2, 'different')
    const u1 = undoLastMark(db, person, 'alice')
    expect(u1).toMatchObject({ cropId: 2, verdict: 'same', undoOf: b.id })
    expect(verdictsOf(db, person)).toEqual({ 2: 'same' })
    const u2 = undoLastMark(db, person, 'alice')
    expect(u2).toMatchObject({ cropId: 2, verdict: 'cleared', undoOf: a.id })
    expect(verdictsOf(db, person)).toEqual({})
    expect(getPerson(db, person).verdicts).toEqual({})
    expect(listPersons(db)[0]).toMatchObject({ confirmed: 0, rejected: 0, unsure: 0 })
    const before = auditCount(db)
    expect(undoLastMark(db, person, 'alice')).toBeNull()
    expect(auditCount(db)).toBe(before) // nothing undone, nothing logged
    // The whole history stays, undos included.
    expect(markHistory(db, person).map((m) => [m.cropId, m.verdict, m.undoOf])).toEqual([
      [2, 'same', null],
      [2, 'different', null],
      [2, 'same', b.id],
      [2, 'cleared', a.id],
    ])
  })

  it('undo with nothing marked returns null', () => {
    expect(undoLastMark(db, person, 'alice')).toBeNull()
  })

  it('undoes across crops in reverse order, and a mark after an undo is undone first', () => {
    mark(2, 'same')
    mark(3, 'different')
    mark(2, 'unsure')
    expect(undoLastMark(db, person, 'a')).toMatchObject({ cropId: 2, verdict: 'same' })
    expect(verdictsOf(db, person)).toEqual({ 2: 'same', 3: 'different' })
    mark(4, 'same')
    expect(undoLastMark(db, person, 'a')).toMatchObject({ cropId: 4, verdict: 'cleared' })
    expect(undoLastMark(db, person, 'a')).toMatchObject({ cropId: 3, verdict: 'cleared' })
    expect(verdictsOf(db, person)).toEqual({ 2: 'same' })
    expect(undoLastMark(db, person, 'a')).toMatchObject({ cropId: 2, verdict: 'cleared' })
    expect(verdictsOf(db, person)).toEqual({})
    expect(undoLastMark(db, person, 'a')).toBeNull()
  })

  it('does not bring back an undone verdict when a later mark is undone', () => {
    mark(2, 'same')
    undoLastMark(db, person, 'a') // 2: unmarked
    mark(2, 'different')
    expect(undoLastMark(db, person, 'a')).toMatchObject({ cropId: 2, verdict: 'cleared' })
    expect(verdictsOf(db, person)).toEqual({})
  })

  it('undo affects only that person', () => {
    const other = createPerson(db, { queryCropId: 6 }, 'alice').id
    mark(2, 'same')
    mark(2, 'different', other)
    mark(3, 'unsure', other)
    const u = undoLastMark(db, person, 'alice')
    expect(u).toMatchObject({ personId: person, cropId: 2, verdict: 'cleared' })
    expect(verdictsOf(db, person)).toEqual({})
    expect(verdictsOf(db, other)).toEqual({ 2: 'different', 3: 'unsure' })
    expect(listPersons(db).map((p) => [p.id, p.confirmed, p.rejected, p.unsure])).toEqual([
      [person, 0, 0, 0],
      [other, 0, 1, 1],
    ])
  })

  it('writes exactly one audit entry per mark and undo, which the mark points at', () => {
    const ops: (() => unknown)[] = [
      () => mark(2, 'same'),
      () => mark(3, 'different'),
      () => mark(2, 'unsure'),
      () => undoLastMark(db, person, 'bob'),
      () => mark(4, 'same'),
      () => undoLastMark(db, person, 'bob'),
    ]
    for (const op of ops) {
      const before = auditCount(db)
      op()
      expect(auditCount(db)).toBe(before + 1)
    }
    const rows = db.prepare('SELECT * FROM marks ORDER BY id').all() as {
      id: number
      person_id: number
      crop_id: number
      verdict: string
      analyst: string
      undo_of: number | null
      audit_seq: number
    }[]
    const log = new Map(readAudit(db).map((e) => [e.seq, e]))
    expect(rows).toHaveLength(6)
    for (const r of rows) {
      const e = log.get(r.audit_seq)!
      expect(e.action).toBe(r.undo_of === null ? 'mark' : 'mark.undo')
      expect(e.actor).toBe(r.analyst)
      expect(e.details).toMatchObject({ personId: r.person_id, cropId: r.crop_id, verdict: r.verdict })
      if (r.undo_of !== null) expect(e.details.undoOf).toBe(r.undo_of)
    }
    expect(new Set(rows.map((r) => r.audit_seq)).size).toBe(6)
    expect(verifyAudit(db)).toMatchObject({ ok: true })
  })

  it('stores a mark and its audit entry in one transaction: neither when either fails', () => {
    mark(2, 'same')
    const before = { audit: auditCount(db), marks: markHistory(db, person).length }
    // A failing marks insert (after the audit entry was appended) rolls the entry back.
    db.exec(`CREATE TRIGGER test_fail_mark BEFORE INSERT ON marks WHEN NEW.crop_id = 3
             BEGIN SELECT RAISE(ABORT, 'disk full (simulated)'); END`)
    expect(() => mark(3, 'different')).toThrow('disk full (simulated)')
    expect(auditCount(db)).toBe(before.audit)
    expect(markHistory(db, person)).toHaveLength(before.marks)
    // A failing audit append stores no mark, and no undo either.
    db.exec(`CREATE TRIGGER test_fail_audit BEFORE INSERT ON audit_log
             BEGIN SELECT RAISE(ABORT, 'audit log unavailable (simulated)'); END`)
    expect(() => mark(4, 'same')).toThrow('audit log unavailable (simulated)')
    expect(() => undoLastMark(db, person, 'alice')).toThrow('audit log unavailable (simulated)')
    expect(markHistory(db, person)).toHaveLength(before.marks)
    expect(verdictsOf(db, person)).toEqual({ 2: 'same' })
    db.exec('DROP TRIGGER test_fail_mark; DROP TRIGGER test_fail_audit')
    expect(verifyAudit(db)).toMatchObject({ ok: true, entries: before.audit })
  })

  it('keeps persons, marks and verdicts across a restart (close and reopen the file)', () => {
    const other = createPerson(db, { queryCropId: 7, name: 'Witness', notes: 'blue cap' }, 'bob').id
    mark(2, 'same')
    mark(3, 'different')
    mark(4, 'unsure')
    mark(2, 'different')
    undoLastMark(db, person, 'alice')
    mark(8, 'same', other)
    const persons = listPersons(db)
    const history = [markHistory(db, person), markHistory(db, other)]
    const verdicts = [verdictsOf(db, person), verdictsOf(db, other)]
    const details = [getPerson(db, person), getPerson(db, other)]
    const audit = readAudit(db)
    db.close()

    db = openLibrary(path)
    expect(listPersons(db)).toEqual(persons)
    expect([markHistory(db, person), markHistory(db, other)]).toEqual(history)
    expect([verdictsOf(db, person), verdictsOf(db, other)]).toEqual(verdicts)
    expect(verdicts[0]).toEqual({ 2: 'same', 3: 'different', 4: 'unsure' })
    expect([getPerson(db, person), getPerson(db, other)]).toEqual(details)
    expect(readAudit(db)).toEqual(audit)
    expect(verifyAudit(db)).toMatchObject({ ok: true, entries: audit.length })
    // And undo still works where it left off.
    expect(undoLastMark(db, person, 'alice')).toMatchObject({ cropId: 4, verdict: 'cleared' })
  })

  it("lists the query crop and 'same' crops as sightings, in time order", () => {
    mark(4, 'same')
    mark(3, 'same')
    mark(2, 'same')
    mark(5, 'same')
    mark(6, 'different')
    mark(7, 'unsure')
    mark(8, 'same')
    mark(8, 'different') // re-marked: no longer a sighting
    mark(9, 'same')
    undoLastMark(db, person, 'alice') // 9: unmarked again
    const p = getPerson(db, person)
    // 5 and 2 share a timestamp (frame 5 before 9), then 1 (10:05); untimed 4 (seq 1) before 3 (seq 2).
    expect(p.sightings.map((s) => s.crop.id)).toEqual([5, 2, 1, 4, 3])
    const query = p.sightings.find((s) => s.crop.id === 1)!
    expect(query.mark).toBeNull()
    expect(query.crop).toMatchObject({
      id: 1,
      camera: 'cam1',
      width: 64,
      height: 128,
      timestamp: '2024-03-01T10:05:00.000Z',
      sequence: 1,
      frame: 100,
    })
    for (const s of p.sightings.filter((x) => x.crop.id !== 1))
      expect(s.mark).toMatchObject({ personId: person, cropId: s.crop.id, verdict: 'same' })
    expect(p.verdicts).toEqual({
      2: 'same',
      3: 'same',
      4: 'same',
      5: 'same',
      6: 'different',
      7: 'unsure',
      8: 'different',
    })
    expect(p).toMatchObject({ confirmed: 4, rejected: 2, unsure: 1 })
  })

  it('gives labelled persons: confirmed (query first) and rejected crops', () => {
    const other = createPerson(db, { queryCropId: 6, name: 'Other' }, 'alice').id
    mark(3, 'same')
    mark(2, 'same')
    mark(4, 'different')
    mark(5, 'unsure')
    mark(7, 'different')
    mark(7, 'same') // re-marked
    mark(8, 'different')
    undoLastMark(db, person, 'alice') // 8: unmarked
    mark(2, 'different', other)
    const labels = labelledPersons(db)
    expect(labels).toHaveLength(2)
    const [a, b] = labels
    expect(a).toMatchObject({ personId: person, name: 'Suspect', queryCropId: 1 })
    expect(a!.confirmed[0]).toBe(1)
    expect([...a!.confirmed.slice(1)].sort((x, y) => x - y)).toEqual([2, 3, 7])
    expect(a!.rejected).toEqual([4])
    expect(b).toEqual({ personId: other, name: 'Other', queryCropId: 6, confirmed: [6], rejected: [2] })
  })
})

describe('a process killed while marking', () => {
  it('leaves no mark without its audit entry, nor an entry without its mark', async () => {
    const { path, db } = newLibrary()
    const person = createPerson(db, { queryCropId: 1 }, 'alice').id
    db.close()
    const url = (rel: string) => pathToFileURL(join(repoRoot, rel)).href
    const script = join(tmp.path, 'mark-loop.mts')
    writeFileSync(
      script,
      `import { openLibrary } from ${JSON.stringify(url('src-main/engine/db/open.ts'))}
import { markCrop, undoLastMark } from ${JSON.stringify(url('src-main/engine/library/persons.ts'))}
const db = openLibrary(process.argv[2])
const verdicts = ['same', 'different', 'unsure']
for (let i = 1; ; i++) {
  if (i % 7 === 0) undoLastMark(db, ${person}, 'killed')
  else markCrop(db, { personId: ${person}, cropId: 2 + (i % 9), verdict: verdicts[i % 3] }, 'killed')
  if (i % 25 === 0) process.stdout.write(i + '\\n')
}
`,
    )
    const reached = await new Promise<number>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', script, path], {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let stderr = ''
      let last = 0
      let killed = false
      child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s))
      child.stdout.setEncoding('utf8').on('data', (s: string) => {
        for (const line of s.split('\n')) if (line.trim()) last = Number(line)
        // Killed at an arbitrary moment a little after the 200th mark, not at an output boundary.
        if (!killed && last >= 200) {
          killed = true
          setTimeout(() => child.kill('SIGKILL'), 150)
        }
      })
      child.on('error', reject)
      child.on('close', (code, signal) =>
        signal === 'SIGKILL'
          ? resolve(last)
          : reject(new Error(`child ended by itself (${code}): ${stderr}`)),
      )
    })
    expect(reached).toBeGreaterThanOrEqual(200)

    expect(integrity(path)).toBe('ok')
    const again = openLibrary(path)
    try {
      expect(verifyAudit(again)).toMatchObject({ ok: true })
      const raw = rawDb(path, true)
      try {
        const count = (sql: string) => raw.prepare(sql).pluck().get() as number
        const marks = count('SELECT count(*) FROM marks')
        expect(marks).toBeGreaterThanOrEqual(reached)
        expect(count(`SELECT count(*) FROM audit_log WHERE action IN ('mark', 'mark.undo')`)).toBe(marks)
        // Every mark points at an entry of its own kind, with its person, crop and verdict …
        expect(
          count(
            `SELECT count(*) FROM marks m JOIN audit_log a ON a.seq = m.audit_seq
             WHERE a.action = CASE WHEN m.undo_of IS NULL THEN 'mark' ELSE 'mark.undo' END
               AND json_extract(a.details, '$.personId') = m.person_id
               AND json_extract(a.details, '$.cropId') = m.crop_id
               AND json_extract(a.details, '$.verdict') = m.verdict`,
          ),
        ).toBe(marks)
        // … and every mark entry is pointed at by exactly one mark.
        expect(
          count(
            `SELECT count(*) FROM audit_log a WHERE a.action IN ('mark', 'mark.undo')
               AND (SELECT count(*) FROM marks m WHERE m.audit_seq = a.seq) != 1`,
          ),
        ).toBe(0)
      } finally {
        raw.close()
      }
      // The library still works after the kill.
      expect(markCrop(again, { personId: person, cropId: 2, verdict: 'same' }, 'alice')).toMatchObject({
        verdict: 'same',
      })
      expect(verifyAudit(again)).toMatchObject({ ok: true })
    } finally {
      again.close()
    }
  })
})
