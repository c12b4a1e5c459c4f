/**
 * The analyst's labels as training data (src-main/engine/training/persons-data.ts): persons of
 * interest become identities (query + crops marked same), 'different' marks become extra negatives,
 * undone marks and crops without a base vector are left out, too few labels are refused with the
 * reason; sampleRows spreads a capped sample over the library; cameraNames names each crop's camera;
 * libraryCentering measures the camera means over every vector of the library.
 */
import { join } from 'node:path'
import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { openLibrary, type Db } from '../../../src-main/engine/db/open'
import { insertModel, type StoredModel } from '../../../src-main/engine/library/models'
import { createPerson, markCrop, undoLastMark } from '../../../src-main/engine/library/persons'
import { fitCentering } from '../../../src-main/engine/training/centering'
import {
  cameraNames,
  libraryCentering,
  MIN_CONFIRMED,
  personsTrainingData,
  sampleRows,
  type PersonsData,
} from '../../../src-main/engine/training/persons-data'
import type { Verdict } from '../../../src-shared/domain'
import { LineupError } from '../../../src-shared/errors'
import { tempDir } from '../../helpers/tmp'

const tmp = tempDir('lineup-persons-data-')
afterAll(() => tmp.dispose())
let n = 0

const DIM = 4
const CROPS = 12
/** Crop 12 has no camera; the others alternate cam1 / cam2 (camera ids 1 / 2). */
const cameraOf = (cropId: number): number | null => (cropId === 12 ? null : cropId % 2 === 1 ? 1 : 2)

/** A distinct, recognisable vector per (model, crop). */
const vec = (cropId: number, model = 0): Float32Array =>
  Float32Array.from([cropId, cropId / 10, model, 1 + model / 2])

function newLibrary(): { db: Db; base: StoredModel; other: StoredModel } {
  const db = openLibrary(join(tmp.path, `lib-${++n}.lineup`))
  db.prepare(`INSERT INTO sources (root, layout, created_at) VALUES ('/case', 'generic', 'now')`).run()
  db.prepare(
    `INSERT INTO jobs (kind, status, params, started_at) VALUES ('import', 'done', '{}', 'now')`,
  ).run()
  db.prepare(`INSERT INTO cameras (id, name) VALUES (1, 'cam1'), (2, 'cam2')`).run()
  const crop = db.prepare(
    `INSERT INTO crops (id, source_id, rel_path, sha256, bytes, width, height, format, camera_id, imported_at, job_id, kind)
     VALUES (?, 1, ?, ?, 100, 64, 128, 'png', ?, 'now', 1, 'unlabelled')`,
  )
  for (let c = 1; c <= CROPS; c++) crop.run(c, `c/${c}.png`, c.toString(16).padStart(64, '0'), cameraOf(c))
  const model = (key: string, name: string) =>
    insertModel(db, { key, kind: 'builtin', name, dim: DIM, config: {}, file: null, bytes: null }).model
  return { db, base: model('test:base', 'Base'), other: model('test:other', 'Other') }
}

function putVectors(db: Db, model: StoredModel, cropIds: number[]): void {
  const put = db.prepare('INSERT INTO embeddings (model_id, crop_id, vector) VALUES (?, ?, ?)')
  const tag = model.key === 'test:base' ? 0 : 1
  for (const c of cropIds) {
    const v = vec(c, tag)
    put.run(model.id, c, Buffer.from(v.buffer, v.byteOffset, v.byteLength))
  }
}

const all = Array.from({ length: CROPS }, (_, i) => i + 1)

function person(db: Db, query: number, marks: [number, Verdict][] = []): number {
  const p = createPerson(db, { queryCropId: query }, 'tester')
  for (const [cropId, verdict] of marks) markCrop(db, { personId: p.id, cropId, verdict }, 'tester')
  return p.id
}

/** The rows of the training data: crop, identity and the feature vector, in row order. */
function rows(d: PersonsData): { cropId: number; identity: number; vector: number[] }[] {
  return Array.from(d.cropIds, (cropId, i) => ({
    cropId,
    identity: d.identities[i]!,
    vector: Array.from(d.features.subarray(i * d.dim, (i + 1) * d.dim)),
  }))
}

function refusal(fn: () => unknown): LineupError {
  let caught: unknown
  try {
    fn()
  } catch (err) {
    caught = err
  }
  expect(caught).toBeInstanceOf(LineupError)
  expect((caught as LineupError).kind).toBe('invalid-input')
  expect((caught as LineupError).message).toMatch(
    /^fine-tuning needs at least 2 persons with 2 confirmed crops each \(the query counts as one\)/,
  )
  return caught as LineupError
}

describe('personsTrainingData', () => {
  let db: Db
  let base: StoredModel
  let other: StoredModel
  beforeEach(() => {
    ;({ db, base, other } = newLibrary())
    return () => db.close()
  })

  it('needs 2 confirmed crops per person (the query counts)', () => {
    expect(MIN_CONFIRMED).toBe(2)
  })

  it("makes each person an identity of its query and 'same' crops; 'different' crops are its negatives", () => {
    putVectors(db, base, all)
    const a = person(db, 1, [
      [2, 'same'],
      [3, 'same'],
      [4, 'different'],
      [11, 'unsure'],
    ])
    const b = person(db, 5, [
      [6, 'same'],
      [12, 'same'],
      [7, 'different'],
      [8, 'different'],
    ])
    const d = personsTrainingData(db, base)
    expect(d.dim).toBe(DIM)
    expect(d.persons.map((p) => p.personId)).toEqual([a, b])
    expect(d.persons[0]).toMatchObject({ personId: a, name: 'Person 1', queryCropId: 1 })
    expect(d.persons[0]!.confirmed[0]).toBe(1)
    expect([...d.persons[0]!.confirmed].sort((x, y) => x - y)).toEqual([1, 2, 3])
    expect(d.persons[0]!.rejected).toEqual([4])
    expect(d.persons[1]!.confirmed[0]).toBe(5)
    expect([...d.persons[1]!.confirmed].sort((x, y) => x - y)).toEqual([5, 6, 12])
    expect([...d.persons[1]!.rejected].sort((x, y) => x - y)).toEqual([7, 8])

    const r = rows(d)
    // Every labelled crop once; the unsure one not at all.
    expect(r.map((x) => x.cropId).sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 12])
    const identity = Object.fromEntries(r.map((x) => [x.cropId, x.identity]))
    expect(identity).toEqual({ 1: a, 2: a, 3: a, 5: b, 6: b, 12: b, 4: 0, 7: 0, 8: 0 })
    // Each row carries its crop's base-model vector.
    for (const x of r) expect(x.vector).toEqual(Array.from(vec(x.cropId)))
    expect(d.features.length).toBe(r.length * DIM)
    // Negatives point at the rejected crops' rows, each for the person who rejected it.
    const negatives = d.negatives!.map((ng) => ({ cropId: d.cropIds[ng.row], identity: ng.identity }))
    expect(negatives.sort((x, y) => x.cropId! - y.cropId!)).toEqual([
      { cropId: 4, identity: a },
      { cropId: 7, identity: b },
      { cropId: 8, identity: b },
    ])
    // Cameras: the crop's camera id; a crop without one gets a camera of its own (negative, unique).
    Array.from(d.cropIds).forEach((c, i) => {
      if (c === 12) expect(d.cams![i]).toBe(-(i + 1))
      else expect(d.cams![i]).toBe(cameraOf(c))
    })
  })

  it('counts only the current verdicts: undone marks are not labels, a changed verdict is the new one', () => {
    putVectors(db, base, all)
    const a = person(db, 1, [[2, 'same']])
    undoLastMark(db, a, 'tester') // 2: same → cleared
    markCrop(db, { personId: a, cropId: 3, verdict: 'same' }, 'tester')
    markCrop(db, { personId: a, cropId: 4, verdict: 'different' }, 'tester')
    undoLastMark(db, a, 'tester') // 4: different → cleared
    markCrop(db, { personId: a, cropId: 9, verdict: 'same' }, 'tester')
    markCrop(db, { personId: a, cropId: 9, verdict: 'different' }, 'tester') // changed mind: different
    markCrop(db, { personId: a, cropId: 10, verdict: 'different' }, 'tester')
    markCrop(db, { personId: a, cropId: 10, verdict: 'same' }, 'tester')
    undoLastMark(db, a, 'tester') // 10: same → back to different
    const b = person(db, 5, [[6, 'same']])
    const d = personsTrainingData(db, base)
    const pa = d.persons.find((p) => p.personId === a)!
    expect([...pa.confirmed].sort((x, y) => x - y)).toEqual([1, 3])
    expect([...pa.rejected].sort((x, y) => x - y)).toEqual([9, 10])
    const identity = Object.fromEntries(rows(d).map((x) => [x.cropId, x.identity]))
    expect(identity).toEqual({ 1: a, 3: a, 5: b, 6: b, 9: 0, 10: 0 })
    expect(d.negatives!.map((ng) => d.cropIds[ng.row]).sort((x, y) => x! - y!)).toEqual([9, 10])
  })

  it('uses a crop confirmed for two persons once (for the first)', () => {
    putVectors(db, base, all)
    const a = person(db, 1, [
      [2, 'same'],
      [3, 'same'],
    ])
    const b = person(db, 5, [
      [3, 'same'],
      [6, 'same'],
    ])
    const d = personsTrainingData(db, base)
    const ids = Array.from(d.cropIds)
    expect(ids.filter((c) => c === 3)).toHaveLength(1)
    expect(ids.length).toBe(new Set(ids).size)
    const identity = Object.fromEntries(rows(d).map((x) => [x.cropId, x.identity]))
    expect(identity).toEqual({ 1: a, 2: a, 3: a, 5: b, 6: b })
  })

  it('leaves out crops without a vector from the base model (another model’s vector does not count)', () => {
    putVectors(db, base, [1, 2, 4, 5, 6, 8])
    putVectors(db, other, all)
    const a = person(db, 1, [
      [2, 'same'],
      [3, 'same'], // no base vector
      [4, 'different'],
      [7, 'different'], // no base vector
    ])
    const b = person(db, 5, [
      [6, 'same'],
      [8, 'different'],
    ])
    const d = personsTrainingData(db, base)
    const r = rows(d)
    expect(Object.fromEntries(r.map((x) => [x.cropId, x.identity]))).toEqual({
      1: a,
      2: a,
      5: b,
      6: b,
      4: 0,
      8: 0,
    })
    for (const x of r) expect(x.vector).toEqual(Array.from(vec(x.cropId)))
  })

  it('refuses when crops shared between persons leave too few, without claiming enough are ready', () => {
    putVectors(db, base, all)
    person(db, 1, [[2, 'same']])
    person(db, 3, [[2, 'same']]) // its only match is already person 1's
    const err = refusal(() => personsTrainingData(db, base))
    // Only one person can train: the message must not say that two are ready (it would contradict
    // the refusal and leave the analyst nothing to act on).
    expect(err.message).not.toMatch(/this library has 2 such persons/)
  })

  it('refuses when missing vectors leave too few, and says to embed the library', () => {
    putVectors(db, base, [1, 2, 5])
    person(db, 1, [[2, 'same']])
    person(db, 5, [[6, 'same']]) // crop 6 has no base vector
    const err = refusal(() => personsTrainingData(db, base))
    expect(err.message).toMatch(/1 confirmed crops have no vector from Base yet: embed the library/)
  })

  it('refuses with no persons, saying there are none', () => {
    putVectors(db, base, all)
    const err = refusal(() => personsTrainingData(db, base))
    expect(err.message).toMatch(/this library has 0 such persons of 0/)
    expect(err.message).not.toMatch(/embed/)
  })

  it('refuses with one person, however many crops they have', () => {
    putVectors(db, base, all)
    person(db, 1, [
      [2, 'same'],
      [3, 'same'],
      [4, 'same'],
      [5, 'different'],
    ])
    const err = refusal(() => personsTrainingData(db, base))
    expect(err.message).toMatch(/this library has 1 such person of 1\b/)
    expect(err.message).not.toMatch(/embed/)
  })

  it('refuses persons with only their query (rejections, unsure and undone marks do not confirm)', () => {
    putVectors(db, base, all)
    person(db, 1)
    person(db, 5, [
      [6, 'different'],
      [7, 'unsure'],
    ])
    const c = person(db, 9, [[10, 'same']])
    undoLastMark(db, c, 'tester')
    const err = refusal(() => personsTrainingData(db, base))
    expect(err.message).toMatch(/this library has 0 such persons of 3/)
    expect(err.message).toMatch(/mark their matches/)
  })
})

describe('sampleRows', () => {
  let db: Db
  let base: StoredModel
  let other: StoredModel
  beforeEach(() => {
    ;({ db, base, other } = newLibrary())
    return () => db.close()
  })

  /** The crops a sample is made of (each row is recognisable by its vector). */
  const sampledCrops = (x: Float32Array): number[] => {
    const out: number[] = []
    for (let i = 0; i < x.length / DIM; i++) {
      const row = Array.from(x.subarray(i * DIM, (i + 1) * DIM))
      expect(row).toEqual(Array.from(vec(row[0]!)))
      out.push(row[0]!)
    }
    return out
  }

  /** The sample's vectors, after checking each row's crop id is the crop its vector belongs to. */
  const librarySample = (db: Db, base: StoredModel, max = 20_000): Float32Array => {
    const s = sampleRows(db, base, max)
    expect(Array.from(s.cropIds)).toEqual(sampledCrops(s.vectors))
    return s.vectors
  }

  it('is empty when the base model has no vectors', () => {
    putVectors(db, other, all)
    expect(librarySample(db, base, 5)).toHaveLength(0)
  })

  it('takes every vector, in crop order, when there are no more than max (default 20,000)', () => {
    // Inserted out of order and with another model's vectors beside them.
    putVectors(db, base, [10, 3, 7, 1, 2, 9, 4, 8, 6, 5])
    putVectors(db, other, all)
    expect(sampledCrops(librarySample(db, base))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    expect(sampledCrops(librarySample(db, base, 10))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    expect(sampledCrops(librarySample(db, base, 1000))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
  })

  it('caps at max and spreads the sample evenly over the whole library', () => {
    putVectors(db, base, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    putVectors(db, other, all)
    expect(sampledCrops(librarySample(db, base, 5))).toEqual([1, 3, 5, 7, 9])
    expect(sampledCrops(librarySample(db, base, 4))).toEqual([1, 4, 7, 10])
    expect(sampledCrops(librarySample(db, base, 3))).toEqual([1, 5, 9])
    expect(sampledCrops(librarySample(db, base, 1))).toEqual([1])
    for (let max = 1; max <= 12; max++) {
      const crops = sampledCrops(librarySample(db, base, max))
      expect(crops.length, `max ${max}`).toBeLessThanOrEqual(max)
      // Evenly spaced from the first crop, and reaching into the last stretch of the library.
      const step = Math.ceil(10 / max)
      expect(crops).toEqual(crops.map((_, i) => 1 + i * step))
      expect(crops.at(-1)!, `max ${max}`).toBeGreaterThan(10 - step)
    }
  })
})

describe('cameraNames', () => {
  it('names each crop’s camera in the order given, null for a crop without one or an unknown id', () => {
    const { db } = newLibrary()
    try {
      // Odd crops are on cam1, even on cam2, crop 12 has none (cameraOf above).
      expect(cameraNames(db, [4, 3, 1, 2, 12, 999])).toEqual(['cam2', 'cam1', 'cam1', 'cam2', null, null])
      expect(cameraNames(db, Int32Array.from([]))).toEqual([])
    } finally {
      db.close()
    }
  })
})

describe('libraryCentering', () => {
  it('is fitCentering over every vector of the base model, in crop order (other models ignored)', () => {
    const { db, base, other } = newLibrary()
    try {
      putVectors(db, base, [7, 1, 12, 3, 2, 5])
      putVectors(db, other, all)
      const ids = [1, 2, 3, 5, 7, 12]
      const x = new Float32Array(ids.length * DIM)
      ids.forEach((c, i) => x.set(vec(c), i * DIM))
      const want = fitCentering(x, ids.length, DIM, cameraNames(db, ids), 2)
      expect(want.cameras).toEqual(['cam1'])
      // The default minimum (20 crops) leaves only the library's mean here, the same bytes.
      const got = libraryCentering(db, base)
      expect(got.cameras).toEqual([])
      expect(Array.from(got.means)).toEqual(Array.from(want.means.subarray(0, DIM)))
    } finally {
      db.close()
    }
  })

  it('gives a camera its own mean from 20 crops on, however large the library (no sampling)', () => {
    const { db, base } = newLibrary()
    try {
      // 25,000 more crops, 20 of them on a rare camera: a 20,000-row sample would keep ~10.
      db.prepare(`INSERT INTO cameras (id, name) VALUES (3, 'rare')`).run()
      const crop = db.prepare(
        `INSERT INTO crops (id, source_id, rel_path, sha256, bytes, width, height, format, camera_id, imported_at, job_id, kind)
         VALUES (?, 1, ?, ?, 100, 64, 128, 'png', ?, 'now', 1, 'unlabelled')`,
      )
      const put = db.prepare('INSERT INTO embeddings (model_id, crop_id, vector) VALUES (?, ?, ?)')
      const rare = new Set(Array.from({ length: 20 }, (_, i) => 1000 + i * 1234))
      db.transaction(() => {
        for (let c = CROPS + 1; c <= CROPS + 25_000; c++) {
          crop.run(c, `c/${c}.png`, c.toString(16).padStart(64, '0'), rare.has(c) ? 3 : 1 + (c % 2))
          const v = vec(c)
          put.run(base.id, c, Buffer.from(v.buffer, v.byteOffset, v.byteLength))
        }
      })()
      const got = libraryCentering(db, base)
      expect(got.cameras).toEqual(['cam1', 'cam2', 'rare'])
      const mean = [...rare].reduce((s, c) => s + c, 0) / rare.size
      expect(got.means[3 * DIM]).toBeCloseTo(mean, 2)
    } finally {
      db.close()
    }
  })

  it('refuses a stored vector of the wrong size, naming the crop', () => {
    const { db, base } = newLibrary()
    try {
      putVectors(db, base, [1, 2])
      db.prepare('UPDATE embeddings SET vector = zeroblob(8) WHERE crop_id = 2').run()
      expect(() => libraryCentering(db, base)).toThrow(
        expect.objectContaining({
          kind: 'database',
          message: expect.stringMatching(/crop 2 has 8 bytes, not 16/),
        }),
      )
    } finally {
      db.close()
    }
  })
})
