/**
 * Checkpoint files of a training run: one file, replaced atomically (written to a temporary file,
 * fsynced, renamed over the old one, directory fsynced), so a run killed at any instant leaves
 * either the previous checkpoint or the new one, never a torn file. A SHA-256 trailer catches
 * anything else (a truncated copy, a flipped bit): such a file is refused, not half-read.
 *
 * Layout: "LINEUPCK" · u32 format version · u32 header length · header JSON (UTF-8) · the float32
 * arrays named in the header, in order (little-endian) · SHA-256 of everything before it.
 */
import { createHash } from 'node:crypto'
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import { LineupError } from '../../../src-shared/errors'

const MAGIC = 'LINEUPCK'
const FORMAT = 1

export interface CheckpointContent<H> {
  header: H
  arrays: Record<string, Float32Array>
}

export function writeCheckpoint<H>(file: string, content: CheckpointContent<H>): void {
  const names = Object.keys(content.arrays)
  const headerJson = Buffer.from(
    JSON.stringify({ header: content.header, arrays: names.map((n) => [n, content.arrays[n]!.length]) }),
    'utf8',
  )
  const prefix = Buffer.alloc(16)
  prefix.write(MAGIC, 0, 'latin1')
  prefix.writeUInt32LE(FORMAT, 8)
  prefix.writeUInt32LE(headerJson.length, 12)
  const parts: Uint8Array[] = [prefix, headerJson]
  for (const n of names) {
    const a = content.arrays[n]!
    parts.push(new Uint8Array(a.buffer, a.byteOffset, a.byteLength))
  }
  const hash = createHash('sha256')
  for (const p of parts) hash.update(p)
  parts.push(hash.digest())
  writeFileAtomic(file, parts)
}

/**
 * Reads a checkpoint; null when there is none.
 *
 * @throws LineupError 'invalid-input' when the file is not a whole, intact checkpoint
 */
export function readCheckpoint<H>(file: string): CheckpointContent<H> | null {
  let buf: Buffer
  try {
    buf = readFileSync(file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw new LineupError('io', `cannot read the checkpoint ${file}: ${(err as Error).message}`)
  }
  const bad = (why: string) =>
    new LineupError(
      'invalid-input',
      `${file} is not a usable checkpoint (${why}); delete it to start the run afresh`,
    )
  if (buf.length < 16 + 32 || buf.toString('latin1', 0, 8) !== MAGIC) throw bad('not a Lineup checkpoint')
  if (buf.readUInt32LE(8) !== FORMAT) throw bad(`format ${buf.readUInt32LE(8)}, this build reads ${FORMAT}`)
  const digest = createHash('sha256')
    .update(buf.subarray(0, buf.length - 32))
    .digest()
  if (!digest.equals(buf.subarray(buf.length - 32)))
    throw bad('its checksum does not match: truncated or damaged')
  const hlen = buf.readUInt32LE(12)
  const parsed = JSON.parse(buf.toString('utf8', 16, 16 + hlen)) as { header: H; arrays: [string, number][] }
  let off = 16 + hlen
  const arrays: Record<string, Float32Array> = {}
  for (const [name, len] of parsed.arrays) {
    const bytes = buf.subarray(off, off + len * 4)
    const a = new Float32Array(len)
    new Uint8Array(a.buffer).set(bytes)
    arrays[name] = a
    off += len * 4
  }
  if (off !== buf.length - 32) throw bad('its arrays do not fill the file')
  return { header: parsed.header, arrays }
}

/** Writes `parts` to `file` atomically and durably (temporary file, fsync, rename, fsync of the folder). */
export function writeFileAtomic(file: string, parts: readonly Uint8Array[] | string): void {
  const tmp = `${file}.tmp-${process.pid}`
  const fd = openSync(tmp, 'w')
  try {
    if (typeof parts === 'string') writeSync(fd, parts)
    else for (const p of parts) writeSync(fd, p)
    fsyncSync(fd)
  } catch (err) {
    closeSync(fd)
    rmSync(tmp, { force: true })
    throw err
  }
  closeSync(fd)
  try {
    renameSync(tmp, file)
  } catch (err) {
    rmSync(tmp, { force: true })
    throw err
  }
  try {
    const dfd = openSync(dirname(file), 'r')
    try {
      fsyncSync(dfd)
    } finally {
      closeSync(dfd)
    }
  } catch {
    // Some filesystems cannot fsync a directory; the rename itself is still atomic.
  }
}
