import { describe, expect, it } from 'vitest'
import { storedVector } from '../../../src-main/engine/library/vectors'

describe('storedVector', () => {
  const model = { name: 'OSNet', dim: 3 }

  it('copies a BLOB into an aligned Float32Array of its own, whatever its offset', () => {
    const v = Float32Array.from([0.5, -1, 2])
    const pool = Buffer.alloc(1 + 12)
    Buffer.from(v.buffer).copy(pool, 1) // odd offset: no Float32Array view possible
    const blob = pool.subarray(1)
    const got = storedVector(model, 7, blob)
    expect(Array.from(got)).toEqual([0.5, -1, 2])
    blob[0] = 0xff
    expect(got[0]).toBe(0.5)
  })

  it('refuses a BLOB of another size, naming the model and the crop', () => {
    expect(() => storedVector(model, 7, Buffer.alloc(8))).toThrow(
      expect.objectContaining({
        kind: 'database',
        message: 'the OSNet vector of crop 7 has 8 bytes, not 12',
      }),
    )
  })
})
