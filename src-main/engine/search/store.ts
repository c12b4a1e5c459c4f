/**
 * The vector index as one flat file beside the library, so a start does not re-read every vector
 * BLOB from SQLite (≈ 4 s per 1M rows; PERFORMANCE.md). It is a cache: when it is missing, stale
 * or corrupt, rebuild it from the `embeddings` table (build.ts) and save it again.
 *
 * Layout, little-endian, every section starting on an 8-byte boundary so that a later version
 * can map it into memory and view the columns and panels in place:
 *
 *   0  magic "LNUPVIDX"            24  byte length of the model key
 *   8  u32 format version (1)      28  u32 reserved (0)
 *  12  u32 dim                     32  reserved, zero, up to byte 64
 *  16  u32 count (rows)
 *  20  u32 panelColumns P
 *  64  model key (UTF-8), zero-padded to 8 bytes
 *      ids i32[count], cameras i32[count], identities i32[count] (each padded to 8 bytes),
 *      timestamps f64[count]
 *      panels: for p = 0, 1, …: w = min(P, count − p·P); d×w float32, column-major (stride w)
 *      trailer: u32 CRC-32 of every byte before it, u32 0
 *
 * The file size must equal the size the header implies, and the CRC must match (zlib's crc32:
 * ≈ 0.5–1 s per 2 GB; bench/search.ts loads 1M × 512 in 2.0 s with it, 1.0 s without); anything
 * else is refused with a message saying what to do.
 */
import { open, rename, rm } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { crc32 } from 'node:zlib'
import { LineupError } from '../../../src-shared/errors'
import type { FilterColumns } from './filters'
import { VectorIndex, type Panel, type VectorIndexOptions } from './index'

const MAGIC = 'LNUPVIDX'
const VERSION = 1
const HEADER_BYTES = 64
const TRAILER_BYTES = 8
/** Bytes per write or read call (fs calls take at most 2 GiB). */
const IO_BYTES = 1 << 28

const pad8 = (n: number) => Math.ceil(n / 8) * 8

function bytesOf(a: ArrayBufferView, length = a.byteLength): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, length)
}

/** Byte size of a file with these header fields. */
function fileBytes(dim: number, count: number, keyBytes: number): number {
  return HEADER_BYTES + pad8(keyBytes) + 3 * pad8(4 * count) + 8 * count + 4 * dim * count + TRAILER_BYTES
}

/**
 * Writes `index` to `path` (through `path.tmp` and a rename, so a crash never leaves a half file
 * under the real name). Resolves once the file is complete.
 */
export async function saveIndex(index: VectorIndex, path: string): Promise<void> {
  const { panels, cols } = index.layout()
  const { dim, panelColumns: P } = index
  const count = cols.size
  const key = new TextEncoder().encode(index.modelKey)
  const header = new Uint8Array(HEADER_BYTES + pad8(key.length))
  const view = new DataView(header.buffer)
  header.set(new TextEncoder().encode(MAGIC), 0)
  view.setUint32(8, VERSION, true)
  view.setUint32(12, dim, true)
  view.setUint32(16, count, true)
  view.setUint32(20, P, true)
  view.setUint32(24, key.length, true)
  header.set(key, HEADER_BYTES)
  const tmp = `${path}.tmp`
  const file = await open(tmp, 'w')
  let crc = 0
  let position = 0
  const write = async (bytes: Uint8Array) => {
    for (let at = 0; at < bytes.length; at += IO_BYTES) {
      const part = bytes.subarray(at, Math.min(bytes.length, at + IO_BYTES))
      crc = crc32(part, crc)
      await writeFully(file, part, position)
      position += part.length
    }
  }
  try {
    await write(header)
    const zeros = new Uint8Array(8)
    for (const col of [cols.ids, cols.cameras, cols.identities]) {
      await write(bytesOf(col, 4 * count))
      await write(zeros.subarray(0, pad8(4 * count) - 4 * count))
    }
    await write(bytesOf(cols.timestamps, 8 * count))
    for (let p = 0; p * P < count; p++) {
      const panel = panels[p]!
      const w = Math.min(P, count - p * P)
      if (w === panel.capacity) await write(bytesOf(panel.data))
      else await write(bytesOf(compactPanel(panel, dim, w)))
    }
    const trailer = new Uint8Array(TRAILER_BYTES)
    new DataView(trailer.buffer).setUint32(0, crc >>> 0, true)
    await writeFully(file, trailer, position)
  } catch (err) {
    await file.close()
    await rm(tmp, { force: true })
    throw err
  }
  await file.close()
  await rename(tmp, path)
}

/** What the caller expects the file to hold; a mismatch means the cache is stale. */
export interface LoadExpectations {
  dim?: number
  modelKey?: string
  /** Verify the CRC (default true). */
  verify?: boolean
}

/**
 * Reads an index written by {@link saveIndex}. Throws a LineupError ('io') when the file is not
 * an index, is truncated, fails its checksum, was written by a newer Lineup, or holds another
 * model's vectors than `expect` says.
 */
export async function loadIndex(
  path: string,
  expect: LoadExpectations = {},
  options: Omit<VectorIndexOptions, 'modelKey' | 'panelColumns'> = {},
): Promise<VectorIndex> {
  const corrupt = (why: string) =>
    new LineupError(
      'io',
      `the vector index ${path} is unusable (${why}); delete it: it is rebuilt from the library's embeddings`,
    )
  const file = await open(path, 'r')
  try {
    const size = (await file.stat()).size
    const head = new Uint8Array(HEADER_BYTES)
    await readFully(file, head.subarray(0, Math.min(size, HEADER_BYTES)), 0)
    if (size < MAGIC.length || new TextDecoder().decode(head.subarray(0, 8)) !== MAGIC)
      throw corrupt('not a Lineup vector index')
    if (size < HEADER_BYTES + TRAILER_BYTES) throw corrupt(`${size} bytes, too short for a header`)
    const view = new DataView(head.buffer)
    const version = view.getUint32(8, true)
    if (version > VERSION)
      throw corrupt(`format version ${version}, written by a newer Lineup; this one reads ${VERSION}`)
    if (version !== VERSION) throw corrupt(`unknown format version ${version}`)
    const dim = view.getUint32(12, true)
    const count = view.getUint32(16, true)
    const P = view.getUint32(20, true)
    const keyBytes = view.getUint32(24, true)
    if (dim < 1 || P < 1 || keyBytes > 4096)
      throw corrupt(`bad header (dim ${dim}, panel ${P}, key ${keyBytes})`)
    const expected = fileBytes(dim, count, keyBytes)
    if (size !== expected)
      throw corrupt(`${size} bytes where its header implies ${expected}: truncated or corrupt`)
    let crc = crc32(head)
    let position = HEADER_BYTES
    const read = async (target: Uint8Array) => {
      for (let at = 0; at < target.length; at += IO_BYTES) {
        const part = target.subarray(at, Math.min(target.length, at + IO_BYTES))
        await readFully(file, part, position)
        if (expect.verify !== false) crc = crc32(part, crc)
        position += part.length
      }
    }
    const keyPadded = new Uint8Array(pad8(keyBytes))
    await read(keyPadded)
    const modelKey = new TextDecoder().decode(keyPadded.subarray(0, keyBytes))
    if (expect.dim !== undefined && expect.dim !== dim)
      throw corrupt(`it holds ${dim}-d vectors, not ${expect.dim}-d`)
    if (expect.modelKey !== undefined && expect.modelKey !== modelKey)
      throw corrupt(`it holds vectors of model ${modelKey || '(none)'}, not ${expect.modelKey}`)
    const int32Column = async () => {
      const col = new Int32Array(pad8(4 * count) / 4)
      await read(bytesOf(col))
      return col.subarray(0, count)
    }
    const ids = await int32Column()
    const cameras = await int32Column()
    const identities = await int32Column()
    const timestamps = new Float64Array(count)
    await read(bytesOf(timestamps))
    const cols: FilterColumns = { size: count, ids, cameras, identities, timestamps }
    const panels: Panel[] = []
    for (let p = 0; p * P < count; p++) {
      const w = Math.min(P, count - p * P)
      const data = new Float32Array(dim * w)
      await read(bytesOf(data))
      panels.push({ data, capacity: w })
    }
    const trailer = new Uint8Array(TRAILER_BYTES)
    await readFully(file, trailer, position)
    const stored = new DataView(trailer.buffer).getUint32(0, true)
    if (expect.verify !== false && stored !== crc >>> 0)
      throw corrupt(`checksum mismatch: CRC-32 ${hex(crc)}, stored ${hex(stored)}`)
    const index = new VectorIndex(dim, { ...options, modelKey, panelColumns: P })
    index.adopt(panels, cols)
    return index
  } finally {
    await file.close()
  }
}

const hex = (n: number) => (n >>> 0).toString(16).padStart(8, '0')

/** The first w columns of a panel as a d×w block. */
function compactPanel(panel: Panel, d: number, w: number): Float32Array {
  const out = new Float32Array(d * w)
  for (let k = 0; k < d; k++) out.set(panel.data.subarray(k * panel.capacity, k * panel.capacity + w), k * w)
  return out
}

async function writeFully(file: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  for (let at = 0; at < bytes.length;) {
    const { bytesWritten } = await file.write(bytes, at, bytes.length - at, position + at)
    at += bytesWritten
  }
}

async function readFully(file: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  for (let at = 0; at < bytes.length;) {
    const { bytesRead } = await file.read(bytes, at, bytes.length - at, position + at)
    if (bytesRead === 0) throw new LineupError('io', `unexpected end of file at byte ${position + at}`)
    at += bytesRead
  }
}
