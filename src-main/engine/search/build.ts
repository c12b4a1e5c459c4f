/**
 * Builds a vector index from embedding rows as SQLite returns them (better-sqlite3 `iterate()`:
 * one Buffer of little-endian float32 per row), in batches, without keeping the rows.
 */
import { LineupError } from '../../../src-shared/errors'
import { VectorIndex, type VectorIndexOptions } from './index'

/** One stored embedding and the metadata the filters use. */
export interface EmbeddingRow {
  cropId: number
  /** dim float32 values, little-endian (a BLOB; any byte alignment). */
  vector: Uint8Array
  camera?: number | null
  identity?: number | null
  /** ms since the epoch. */
  timestamp?: number | null
}

/** Rows copied per append (at d = 512: 16 MiB of vectors). */
const BATCH_ROWS = 8192

/**
 * A new index of `dim`-d vectors holding `rows` in iteration order; give `expectedRows` (the
 * row count, when known) to allocate each panel once and exactly (VectorIndex.reserve). Throws a LineupError naming
 * the crop whose BLOB has the wrong length or is not a unit vector.
 */
export function buildIndex(
  rows: Iterable<EmbeddingRow>,
  dim: number,
  options: VectorIndexOptions & { expectedRows?: number } = {},
): VectorIndex {
  const index = new VectorIndex(dim, options)
  if (options.expectedRows !== undefined) index.reserve(options.expectedRows)
  const bytesPerRow = 4 * dim
  const vectors = new Float32Array(BATCH_ROWS * dim)
  const vectorBytes = new Uint8Array(vectors.buffer)
  const ids = new Int32Array(BATCH_ROWS)
  const cameras = new Int32Array(BATCH_ROWS)
  const identities = new Int32Array(BATCH_ROWS)
  const timestamps = new Float64Array(BATCH_ROWS)
  let n = 0
  const flush = () => {
    index.append(ids.subarray(0, n), vectors.subarray(0, n * dim), {
      cameras: cameras.subarray(0, n),
      identities: identities.subarray(0, n),
      timestamps: timestamps.subarray(0, n),
    })
    n = 0
  }
  for (const row of rows) {
    if (row.vector.byteLength !== bytesPerRow) {
      throw new LineupError(
        'database',
        `the vector of crop ${row.cropId} has ${row.vector.byteLength} bytes, expected ${bytesPerRow} (${dim} float32): re-embed the library with this model`,
      )
    }
    vectorBytes.set(row.vector, n * bytesPerRow)
    ids[n] = row.cropId
    cameras[n] = row.camera ?? -1
    identities[n] = row.identity ?? -1
    timestamps[n] = row.timestamp ?? NaN
    if (++n === BATCH_ROWS) flush()
  }
  if (n > 0) flush()
  return index
}
