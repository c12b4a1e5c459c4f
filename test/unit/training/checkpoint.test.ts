/** Checkpoint files (src-main/engine/training/checkpoint.ts): round trip, damage refused, atomic writes. */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { LineupError } from '../../../src-shared/errors'
import {
  readCheckpoint,
  writeCheckpoint,
  writeFileAtomic,
  type CheckpointContent,
} from '../../../src-main/engine/training/checkpoint'
import { tempDir } from '../../helpers/tmp'
import { mulberry32 } from '../ranking/helpers'

const tmp = tempDir('lineup-checkpoint-')
afterAll(() => tmp.dispose())
let n = 0
function dir(): string {
  const d = join(tmp.path, `d${++n}`)
  mkdirSync(d)
  return d
}

interface Header {
  epoch: number
  name: string
  nested: { list: number[]; ok: boolean; none: null }
}

function sample(): CheckpointContent<Header> {
  const rand = mulberry32(1)
  return {
    header: { epoch: 7, name: 'ünïcødé run ✓', nested: { list: [1, 2.5, -3], ok: true, none: null } },
    arrays: {
      W: new Float32Array(300).map(() => rand() * 2 - 1),
      b: Float32Array.from([0, -0, 1e-38, 3.4e38, -1.5]),
      empty: new Float32Array(0),
      // A view into a larger buffer: only the view's bytes are written.
      view: new Float32Array(new Float32Array([9, 8, 7, 6, 5]).buffer, 4, 3),
    },
  }
}

function bytesOf(a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength)
}

function expectInvalid(file: string, message: RegExp) {
  let err: unknown = null
  try {
    readCheckpoint(file)
  } catch (e) {
    err = e
  }
  expect(err).toBeInstanceOf(LineupError)
  expect((err as LineupError).kind).toBe('invalid-input')
  expect((err as LineupError).message).toMatch(message)
  expect((err as LineupError).message).toContain(file)
}

describe('checkpoint files', () => {
  it('round-trip the header and every array bit for bit', () => {
    const file = join(dir(), 'ck.bin')
    const c = sample()
    writeCheckpoint(file, c)
    const back = readCheckpoint<Header>(file)!
    expect(back.header).toEqual(c.header)
    expect(Object.keys(back.arrays)).toEqual(['W', 'b', 'empty', 'view'])
    for (const [k, a] of Object.entries(c.arrays)) {
      expect(back.arrays[k]).toBeInstanceOf(Float32Array)
      expect(bytesOf(back.arrays[k]!).equals(bytesOf(a)), k).toBe(true)
    }
    expect([...back.arrays.view!]).toEqual([8, 7, 6])
    expect(Object.is(back.arrays.b![1], -0)).toBe(true)
  })

  it('reads null when there is no checkpoint', () => {
    expect(readCheckpoint(join(dir(), 'none.bin'))).toBeNull()
  })

  it('replaces an older checkpoint and leaves no temporary file behind', () => {
    const d = dir()
    const file = join(d, 'ck.bin')
    writeCheckpoint(file, sample())
    const next = sample()
    next.header.epoch = 8
    next.arrays.W![0] = 42
    writeCheckpoint(file, next)
    expect(readdirSync(d)).toEqual(['ck.bin'])
    const back = readCheckpoint<Header>(file)!
    expect(back.header.epoch).toBe(8)
    expect(back.arrays.W![0]).toBe(42)
  })

  it('refuses every single flipped byte, anywhere in the file', () => {
    const d = dir()
    const file = join(d, 'ck.bin')
    writeCheckpoint(file, sample())
    const good = readFileSync(file)
    const bad = join(d, 'bad.bin')
    // Every byte of the prefix and header, and a spread over the arrays and the trailer.
    const positions = new Set<number>()
    for (let i = 0; i < 200; i++) positions.add(i)
    for (let i = 200; i < good.length; i += 37) positions.add(i)
    for (let i = good.length - 32; i < good.length; i++) positions.add(i)
    for (const i of positions) {
      const buf = Buffer.from(good)
      buf[i]! ^= 1 << (i % 8)
      writeFileSync(bad, buf)
      expectInvalid(bad, /is not a usable checkpoint \(.+\); delete it to start the run afresh/)
    }
  })

  it('refuses a truncated file, at any length', () => {
    const d = dir()
    const file = join(d, 'ck.bin')
    writeCheckpoint(file, sample())
    const good = readFileSync(file)
    const bad = join(d, 'bad.bin')
    for (const len of [0, 1, 8, 16, 47, 48, 100, good.length >> 1, good.length - 33, good.length - 1]) {
      writeFileSync(bad, good.subarray(0, len))
      expectInvalid(bad, /not a usable checkpoint/)
    }
    // Truncated files that keep a valid-looking prefix fail on the checksum.
    writeFileSync(bad, good.subarray(0, good.length - 4))
    expectInvalid(bad, /checksum does not match: truncated or damaged/)
    // Extra bytes appended are refused as well.
    writeFileSync(bad, Buffer.concat([good, Buffer.from([0])]))
    expectInvalid(bad, /not a usable checkpoint/)
  })

  it('refuses another file type and another format version', () => {
    const d = dir()
    const other = join(d, 'other.bin')
    writeFileSync(other, Buffer.alloc(200, 7))
    expectInvalid(other, /not a Lineup checkpoint/)
    const file = join(d, 'ck.bin')
    writeCheckpoint(file, sample())
    const buf = readFileSync(file)
    buf.writeUInt32LE(2, 8)
    writeFileSync(file, buf)
    expectInvalid(file, /format 2, this build reads 1/)
  })

  it('writeFileAtomic writes strings and byte parts, and leaves only the file', () => {
    const d = dir()
    writeFileAtomic(join(d, 'a.txt'), 'hello')
    writeFileAtomic(join(d, 'b.bin'), [Uint8Array.from([1, 2]), Uint8Array.from([3])])
    expect(readFileSync(join(d, 'a.txt'), 'utf8')).toBe('hello')
    expect([...readFileSync(join(d, 'b.bin'))]).toEqual([1, 2, 3])
    expect(readdirSync(d).sort()).toEqual(['a.txt', 'b.bin'])
  })

  it('a write whose final rename fails leaves no temporary file behind', () => {
    const d = dir()
    // A folder where the file should go: writing the temporary file works, renaming it over the
    // folder fails (EISDIR).
    mkdirSync(join(d, 'x'))
    expect(() => writeCheckpoint(join(d, 'x'), sample())).toThrow()
    expect(readdirSync(d)).toEqual(['x'])
  })
})
