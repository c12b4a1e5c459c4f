/**
 * A cache of backbone features for image files outside a library (`lineup train` and `lineup eval`
 * on a dataset folder): the feature matrix of a list of files, keyed by the model, its
 * preprocessing, and each file's path, size and modification time, so a changed or replaced image
 * misses the cache instead of reusing a stale vector. Files are written atomically with a checksum;
 * a damaged one is ignored and rebuilt.
 *
 * Where: $LINEUP_CACHE_DIR, else $XDG_CACHE_HOME/lineup, else ~/.cache/lineup; subfolder features/.
 */
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, statSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { writeFileAtomic } from '../training/checkpoint'

const MAGIC = 'LUFEAT01'

export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LINEUP_CACHE_DIR) return env.LINEUP_CACHE_DIR
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'lineup')
  return join(homedir(), '.cache', 'lineup')
}

/** The cache key of `files` embedded by the model `modelKey` with preprocessing `variant`. */
export function featureKey(modelKey: string, variant: string, files: readonly string[]): string {
  const h = createHash('sha256')
  h.update(`${modelKey}\n${variant}\n`)
  for (const f of files) {
    const st = statSync(f)
    h.update(`${f}\t${st.size}\t${st.mtimeMs}\n`)
  }
  return h.digest('hex')
}

/** The cached matrix (rows × dim), or null when absent or unusable. */
export function readFeatures(dir: string, key: string, rows: number, dim: number): Float32Array | null {
  let buf: Buffer
  try {
    buf = readFileSync(join(dir, 'features', `${key}.f32`))
  } catch {
    return null
  }
  const body = 16 + rows * dim * 4
  if (buf.length !== body + 32 || buf.toString('latin1', 0, 8) !== MAGIC) return null
  if (buf.readUInt32LE(8) !== rows || buf.readUInt32LE(12) !== dim) return null
  if (!createHash('sha256').update(buf.subarray(0, body)).digest().equals(buf.subarray(body))) return null
  const out = new Float32Array(rows * dim)
  new Uint8Array(out.buffer).set(buf.subarray(16, body))
  return out
}

export function writeFeatures(dir: string, key: string, rows: number, dim: number, x: Float32Array): void {
  mkdirSync(join(dir, 'features'), { recursive: true })
  const head = Buffer.alloc(16)
  head.write(MAGIC, 0, 'latin1')
  head.writeUInt32LE(rows, 8)
  head.writeUInt32LE(dim, 12)
  const bytes = new Uint8Array(x.buffer, x.byteOffset, rows * dim * 4)
  const sum = createHash('sha256').update(head).update(bytes).digest()
  writeFileAtomic(join(dir, 'features', `${key}.f32`), [head, bytes, sum])
}
