import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { LineupError } from '../../../src-shared/errors'
import { buildIndex, type EmbeddingRow } from '../../../src-main/engine/search/build'
import { VectorIndex } from '../../../src-main/engine/search/index'
import { JsPanelScorer } from '../../../src-main/engine/search/scoring'
import { loadIndex, saveIndex } from '../../../src-main/engine/search/store'
import { unitRows } from './helpers'

const dir = mkdtempSync(join(tmpdir(), 'lineup-search-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const scorer = new JsPanelScorer()

function sample(n: number, d: number, panelColumns: number): VectorIndex {
  const index = new VectorIndex(d, { scorer, panelColumns, modelKey: 'sha256:abcdef' })
  index.append(
    Int32Array.from({ length: n }, (_, i) => 7 * i + 1),
    unitRows(n + d, n, d),
    {
      cameras: Array.from({ length: n }, (_, i) => i % 4),
      identities: Array.from({ length: n }, (_, i) => (i % 5) - 1),
      timestamps: Array.from({ length: n }, (_, i) => (i % 6 === 0 ? NaN : 1e12 + i)),
    },
  )
  return index
}

describe('saveIndex / loadIndex', () => {
  it('round-trips vectors, metadata and model key; the loaded index searches and grows alike', async () => {
    for (const [n, d, P] of [
      [0, 4, 8],
      [1, 3, 8],
      [131, 12, 32], // 4 full panels and a partly filled one
      [64, 5, 32],
    ] as const) {
      const index = sample(n, d, P)
      const path = join(dir, `round-${n}-${d}.lvi`)
      await saveIndex(index, path)
      const loaded = await loadIndex(path, { dim: d, modelKey: 'sha256:abcdef' }, { scorer })
      expect(loaded.size).toBe(n)
      expect(loaded.dim).toBe(d)
      expect(loaded.modelKey).toBe('sha256:abcdef')
      expect(loaded.panelColumns).toBe(P)
      for (let r = 0; r < n; r++) {
        expect(loaded.row(r)).toEqual(index.row(r))
        expect(loaded.vector(r)).toEqual(index.vector(r))
      }
      const q = unitRows(99, 2, d)
      const opts = { k: 50, filter: { excludeCameras: [1] }, fusion: 'max' as const }
      expect(await loaded.search(q, opts)).toEqual(await index.search(q, opts))
      const more = unitRows(5, 40, d)
      const ids = Int32Array.from({ length: 40 }, (_, i) => 100000 + i)
      loaded.append(ids, more)
      index.append(ids, more)
      expect(await loaded.search(q, opts)).toEqual(await index.search(q, opts))
    }
  })

  it('writes through a temporary file and replaces an older index', async () => {
    const path = join(dir, 'replace.lvi')
    await saveIndex(sample(10, 4, 8), path)
    await saveIndex(sample(20, 4, 8), path)
    expect((await loadIndex(path, {}, { scorer })).size).toBe(20)
    expect(() => statSync(`${path}.tmp`)).toThrow()
  })

  describe('refuses a damaged or foreign file with a clear error', () => {
    const good = join(dir, 'good.lvi')
    const damaged = async (mutate: (b: Buffer) => Buffer) => {
      await saveIndex(sample(100, 8, 32), good)
      const path = join(dir, 'damaged.lvi')
      writeFileSync(path, mutate(readFileSync(good)))
      return loadIndex(path, {}, { scorer })
    }
    it.each([
      ['truncated', (b: Buffer) => b.subarray(0, b.length - 100), /truncated or corrupt/],
      ['extended', (b: Buffer) => Buffer.concat([b, Buffer.alloc(8)]), /truncated or corrupt/],
      ['too short for a header', (b: Buffer) => b.subarray(0, 20), /too short/],
      [
        'not an index',
        () => Buffer.from('hello, this is a text file that is long enough to have a header ...'),
        /not a Lineup vector index/,
      ],
      ['a flipped bit in a vector', (b: Buffer) => ((b[b.length - 1000]! ^= 4), b), /checksum mismatch/],
      ['a flipped bit in the metadata', (b: Buffer) => ((b[80]! ^= 1), b), /checksum mismatch/],
      ['from a newer Lineup', (b: Buffer) => (b.writeUInt32LE(2, 8), b), /newer Lineup/],
    ])('%s', async (_what, mutate, message) => {
      const p = damaged(mutate)
      await expect(p).rejects.toBeInstanceOf(LineupError)
      await expect(p).rejects.toThrow(message)
      await expect(p).rejects.toThrow(/delete it: it is rebuilt from the library/)
    })

    it('holding another model or dimension than expected', async () => {
      const path = join(dir, 'other.lvi')
      await saveIndex(sample(10, 8, 32), path)
      await expect(loadIndex(path, { modelKey: 'sha256:other' })).rejects.toThrow(
        /model sha256:abcdef, not sha256:other/,
      )
      await expect(loadIndex(path, { dim: 512 })).rejects.toThrow(/8-d vectors, not 512-d/)
    })
  })
})

describe('buildIndex', () => {
  it('reads little-endian float32 BLOBs at any alignment, with null metadata as unknown', async () => {
    const d = 6
    const n = 20000 // more than one batch
    const vectors = unitRows(3, n, d)
    const rows: EmbeddingRow[] = []
    for (let i = 0; i < n; i++) {
      // A Buffer at an odd offset in a larger allocation, as SQLite BLOBs can be.
      const blob = Buffer.alloc(4 * d + 3).subarray(3)
      Buffer.from(vectors.buffer, 4 * d * i, 4 * d).copy(blob)
      rows.push({
        cropId: i + 1,
        vector: blob,
        camera: i % 2 ? 5 : null,
        identity: null,
        timestamp: i % 3 ? i : null,
      })
    }
    const index = buildIndex(rows, d, { scorer, modelKey: 'k' })
    expect(index.size).toBe(n)
    expect(index.vector(12345)).toEqual(vectors.subarray(12345 * d, 12346 * d))
    expect(index.row(1)).toEqual({ id: 2, camera: 5, identity: -1, timestamp: 1 })
    expect(index.row(3)).toEqual({ id: 4, camera: 5, identity: -1, timestamp: NaN })
    expect(index.row(4).camera).toBe(-1)
    const r = await index.search(vectors.subarray(777 * d, 778 * d), { k: 1 })
    expect([...r.ids]).toEqual([778])
  })

  it('names the crop whose BLOB has the wrong length', () => {
    const rows = [
      { cropId: 41, vector: new Uint8Array(16) },
      { cropId: 42, vector: new Uint8Array(12) },
    ]
    expect(() => buildIndex(rows, 4, { scorer })).toThrow(/crop 42 has 12 bytes, expected 16 \(4 float32\)/)
  })
})
