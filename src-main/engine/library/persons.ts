/**
 * Persons of interest and the analyst's marks (schema 4, issue #6). Every change is one
 * transaction together with its audit-log entry, so a mark is either stored and logged or neither,
 * whatever moment the app is killed at. Marks are append-only: the current verdict of a (person,
 * crop) is its latest row, and an undo appends the verdict it restores.
 */
import type { MarkInfo, PersonDetail, PersonInfo, Sighting, Verdict } from '../../../src-shared/domain'
import { LineupError } from '../../../src-shared/errors'
import { appendAudit } from '../audit/log'
import type { Db } from '../db/open'

interface PersonRow {
  id: number
  name: string
  notes: string
  query_crop_id: number
  created_at: string
  created_by: string
  updated_at: string
}

interface MarkRow {
  id: number
  person_id: number
  crop_id: number
  verdict: MarkInfo['verdict']
  analyst: string
  marked_at: string
  model_id: number | null
  rank: number | null
  undo_of: number | null
}

const toMark = (r: MarkRow): MarkInfo => ({
  id: r.id,
  personId: r.person_id,
  cropId: r.crop_id,
  verdict: r.verdict,
  analyst: r.analyst,
  markedAt: r.marked_at,
  modelId: r.model_id,
  rank: r.rank,
  undoOf: r.undo_of,
})

/** The latest mark of each crop of a person (cleared ones included). */
const CURRENT = `SELECT m.* FROM marks m
  WHERE m.person_id = ? AND m.id = (SELECT max(x.id) FROM marks x WHERE x.person_id = m.person_id AND x.crop_id = m.crop_id)`

function personRow(db: Db, id: number): PersonRow {
  const r = db.prepare('SELECT * FROM persons WHERE id = ?').get(id) as PersonRow | undefined
  if (!r) throw new LineupError('not-found', `person ${id} is not in this library`)
  return r
}

function checkCrop(db: Db, cropId: number): void {
  if (!db.prepare('SELECT 1 FROM crops WHERE id = ?').get(cropId))
    throw new LineupError('not-found', `crop ${cropId} is not in this library`)
}

function withCounts(db: Db, r: PersonRow): PersonInfo {
  const counts = { same: 0, different: 0, unsure: 0 }
  for (const m of db.prepare(CURRENT).all(r.id) as MarkRow[]) {
    if (m.verdict !== 'cleared' && m.crop_id !== r.query_crop_id) counts[m.verdict]++
  }
  return {
    id: r.id,
    name: r.name,
    notes: r.notes,
    queryCropId: r.query_crop_id,
    createdAt: r.created_at,
    createdBy: r.created_by,
    updatedAt: r.updated_at,
    confirmed: counts.same,
    rejected: counts.different,
    unsure: counts.unsure,
  }
}

export function createPerson(
  db: Db,
  input: { queryCropId: number; name?: string; notes?: string },
  analyst: string,
): PersonInfo {
  checkCrop(db, input.queryCropId)
  return db.transaction(() => {
    const now = new Date().toISOString()
    const count = db.prepare('SELECT count(*) FROM persons').pluck().get() as number
    if (input.name !== undefined && input.name.trim() === '')
      throw new LineupError('invalid-input', 'a person needs a name (or none, for "Person N")')
    const name = input.name?.trim() || `Person ${count + 1}`
    const id = Number(
      db
        .prepare(
          'INSERT INTO persons (name, notes, query_crop_id, created_at, created_by, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run(name, input.notes ?? '', input.queryCropId, now, analyst, now).lastInsertRowid,
    )
    appendAudit(db, analyst, 'person.create', { personId: id, name, queryCropId: input.queryCropId })
    return withCounts(db, personRow(db, id))
  })()
}

export function updatePerson(
  db: Db,
  id: number,
  input: { name?: string; notes?: string },
  analyst: string,
): PersonInfo {
  const r = personRow(db, id)
  const name = input.name === undefined ? r.name : input.name.trim()
  if (name.length === 0) throw new LineupError('invalid-input', 'a person needs a name')
  return db.transaction(() => {
    db.prepare('UPDATE persons SET name = ?, notes = ?, updated_at = ? WHERE id = ?').run(
      name,
      input.notes ?? r.notes,
      new Date().toISOString(),
      id,
    )
    appendAudit(db, analyst, 'person.update', {
      personId: id,
      ...(input.name !== undefined ? { name } : {}),
      ...(input.notes !== undefined ? { notesLength: input.notes.length } : {}),
    })
    return withCounts(db, personRow(db, id))
  })()
}

export function listPersons(db: Db): PersonInfo[] {
  return (db.prepare('SELECT * FROM persons ORDER BY id').all() as PersonRow[]).map((r) => withCounts(db, r))
}

/** Marks one crop for a person (stored and logged in one transaction). */
export function markCrop(
  db: Db,
  input: { personId: number; cropId: number; verdict: Verdict; modelId?: number; rank?: number },
  analyst: string,
): MarkInfo {
  const p = personRow(db, input.personId)
  checkCrop(db, input.cropId)
  if (input.cropId === p.query_crop_id)
    throw new LineupError(
      'invalid-input',
      `crop ${input.cropId} is ${p.name}'s query: it is that person by definition`,
    )
  return db.transaction(() => insertMark(db, { ...input, undoOf: null }, analyst, 'mark'))()
}

function insertMark(
  db: Db,
  m: {
    personId: number
    cropId: number
    verdict: MarkInfo['verdict']
    modelId?: number | null
    rank?: number | null
    undoOf: number | null
  },
  analyst: string,
  action: 'mark' | 'mark.undo',
): MarkInfo {
  const now = new Date().toISOString()
  const entry = appendAudit(db, analyst, action, {
    personId: m.personId,
    cropId: m.cropId,
    verdict: m.verdict,
    ...(m.modelId ? { modelId: m.modelId } : {}),
    ...(m.rank ? { rank: m.rank } : {}),
    ...(m.undoOf ? { undoOf: m.undoOf } : {}),
  })
  const id = Number(
    db
      .prepare(
        `INSERT INTO marks (person_id, crop_id, verdict, analyst, marked_at, model_id, rank, undo_of, audit_seq)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        m.personId,
        m.cropId,
        m.verdict,
        analyst,
        now,
        m.modelId ?? null,
        m.rank ?? null,
        m.undoOf,
        entry.seq,
      ).lastInsertRowid,
  )
  return toMark(db.prepare('SELECT * FROM marks WHERE id = ?').get(id) as MarkRow)
}

/**
 * Undoes the person's latest mark that is not itself an undo or already undone: appends the
 * verdict that crop had before it ('cleared' if none). Returns the new row, or null when there is
 * nothing to undo.
 */
export function undoLastMark(db: Db, personId: number, analyst: string): MarkInfo | null {
  personRow(db, personId)
  return db.transaction(() => {
    const last = db
      .prepare(
        `SELECT * FROM marks m WHERE m.person_id = ? AND m.undo_of IS NULL
           AND NOT EXISTS (SELECT 1 FROM marks u WHERE u.undo_of = m.id)
         ORDER BY m.id DESC LIMIT 1`,
      )
      .get(personId) as MarkRow | undefined
    if (!last) return null
    // Undone marks do not count as history: the verdict before `last` is the latest earlier row
    // of that crop that is neither undone nor an undo, else unmarked.
    const before = db
      .prepare(
        `SELECT * FROM marks m WHERE m.person_id = ? AND m.crop_id = ? AND m.id < ? AND m.undo_of IS NULL
           AND NOT EXISTS (SELECT 1 FROM marks u WHERE u.undo_of = m.id)
         ORDER BY m.id DESC LIMIT 1`,
      )
      .get(personId, last.crop_id, last.id) as MarkRow | undefined
    return insertMark(
      db,
      { personId, cropId: last.crop_id, verdict: before?.verdict ?? 'cleared', undoOf: last.id },
      analyst,
      'mark.undo',
    )
  })()
}

/** The current verdict of each marked crop of a person. */
export function currentVerdicts(db: Db, personId: number): Map<number, Verdict> {
  const out = new Map<number, Verdict>()
  for (const m of db.prepare(CURRENT).all(personId) as MarkRow[])
    if (m.verdict !== 'cleared') out.set(m.crop_id, m.verdict)
  return out
}

/** Every mark of a person in order (the full history, undos included). */
export function markHistory(db: Db, personId: number): MarkInfo[] {
  personRow(db, personId)
  return (db.prepare('SELECT * FROM marks WHERE person_id = ? ORDER BY id').all(personId) as MarkRow[]).map(
    toMark,
  )
}

export function getPerson(db: Db, id: number): PersonDetail {
  const r = personRow(db, id)
  const info = withCounts(db, r)
  const current = db.prepare(CURRENT).all(id) as MarkRow[]
  const verdicts: Record<number, Verdict> = {}
  const confirmedMark = new Map<number, MarkInfo>()
  for (const m of current) {
    if (m.verdict === 'cleared') continue
    verdicts[m.crop_id] = m.verdict
    if (m.verdict === 'same') confirmedMark.set(m.crop_id, toMark(m))
  }
  const ids = [r.query_crop_id, ...[...confirmedMark.keys()].filter((c) => c !== r.query_crop_id)]
  const detail = db.prepare(
    `SELECT crops.id, cameras.name AS camera, crops.identity, crops.kind, crops.width, crops.height,
            crops.timestamp, crops.sequence, crops.frame
     FROM crops LEFT JOIN cameras ON cameras.id = crops.camera_id WHERE crops.id = ?`,
  )
  const sightings: Sighting[] = ids.map((cropId) => ({
    crop: detail.get(cropId) as Sighting['crop'],
    mark: confirmedMark.get(cropId) ?? null,
  }))
  sightings.sort((a, b) => timeOrder(a.crop, b.crop))
  return { ...info, sightings, verdicts }
}

function timeOrder(a: Sighting['crop'], b: Sighting['crop']): number {
  if (a.timestamp !== b.timestamp) {
    if (a.timestamp === null) return 1
    if (b.timestamp === null) return -1
    return a.timestamp < b.timestamp ? -1 : 1
  }
  const s = (a.sequence ?? Infinity) - (b.sequence ?? Infinity)
  if (s !== 0 && !Number.isNaN(s)) return s
  const f = (a.frame ?? Infinity) - (b.frame ?? Infinity)
  if (f !== 0 && !Number.isNaN(f)) return f
  return a.id - b.id
}

/**
 * Every person with their confirmed crops (query + 'same') and rejected crops ('different'): the
 * analyst's labels for training and for the before/after comparison.
 */
export function labelledPersons(
  db: Db,
): { personId: number; name: string; queryCropId: number; confirmed: number[]; rejected: number[] }[] {
  return (db.prepare('SELECT * FROM persons ORDER BY id').all() as PersonRow[]).map((p) => {
    const confirmed = [p.query_crop_id]
    const rejected: number[] = []
    for (const m of db.prepare(CURRENT).all(p.id) as MarkRow[]) {
      if (m.verdict === 'same' && m.crop_id !== p.query_crop_id) confirmed.push(m.crop_id)
      if (m.verdict === 'different') rejected.push(m.crop_id)
    }
    return { personId: p.id, name: p.name, queryCropId: p.query_crop_id, confirmed, rejected }
  })
}
