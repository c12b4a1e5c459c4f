import { LineupError } from '../../../src-shared/errors'

/**
 * A stored embedding (a float32 little-endian BLOB of the embeddings table) as a Float32Array of
 * its own, aligned whatever the BLOB's offset.
 *
 * @throws LineupError 'database' when the BLOB is not `model.dim` floats, naming the crop
 */
export function storedVector(
  model: { name: string; dim: number },
  cropId: number,
  blob: Uint8Array,
): Float32Array {
  if (blob.byteLength !== model.dim * 4)
    throw new LineupError(
      'database',
      `the ${model.name} vector of crop ${cropId} has ${blob.byteLength} bytes, not ${model.dim * 4}`,
    )
  return new Float32Array(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength))
}
