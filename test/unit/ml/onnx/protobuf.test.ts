import { describe, expect, it } from 'vitest'
import {
  concat,
  fieldBytes,
  fieldString,
  fieldVarint,
  ProtoError,
  readFields,
  readVarint,
  utf8,
  varintBytes,
} from '../../../../src-main/engine/ml/onnx/protobuf'

describe('protobuf varints', () => {
  it('encodes the examples of the protobuf encoding guide', () => {
    expect([...varintBytes(1)]).toEqual([0x01])
    expect([...varintBytes(150)]).toEqual([0x96, 0x01])
    expect([...varintBytes(300)]).toEqual([0xac, 0x02])
    // int64 −1: ten bytes, two's complement.
    expect([...varintBytes(-1)]).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])
  })

  it('round-trips small, large and negative int64 values exactly', () => {
    for (const n of [
      0,
      1,
      127,
      128,
      16383,
      16384,
      2 ** 31,
      2 ** 49 - 1,
      2 ** 49,
      2 ** 53 - 1,
      -1,
      -2,
      -(2 ** 40),
    ]) {
      const bytes = varintBytes(n)
      expect(readVarint(bytes, 0)).toEqual({ value: n, next: bytes.length })
    }
  })

  it('refuses a varint that is cut short or longer than ten bytes', () => {
    expect(() => readVarint(Uint8Array.of(0x96), 0)).toThrow(ProtoError)
    expect(() => readVarint(new Uint8Array(11).fill(0x80), 0)).toThrow(/longer than 10 bytes/)
  })
})

describe('protobuf fields', () => {
  it('reads back what the writer wrote, in order, with nested messages as views', () => {
    const inner = concat([fieldVarint(1, 7), fieldString(2, 'çà')])
    const msg = concat([fieldVarint(1, 150), fieldBytes(7, inner), fieldString(2, 'pytorch')])
    const fields = [...readFields(msg)]
    expect(fields.map((f) => [f.field, f.wire])).toEqual([
      [1, 0],
      [7, 2],
      [2, 2],
    ])
    expect(fields[0]).toMatchObject({ value: 150 })
    const nested = fields[1]!
    if (nested.wire !== 2) throw new Error('expected a LEN field')
    const sub = [...readFields(nested.bytes, nested.offset)]
    expect(sub[0]).toMatchObject({ field: 1, value: 7 })
    expect(sub[1]!.wire === 2 && utf8(sub[1]!.bytes)).toBe('çà')
  })

  it('skips fixed-width fields (wire types 1 and 5)', () => {
    const msg = concat([
      Uint8Array.of(0x09, 1, 2, 3, 4, 5, 6, 7, 8),
      Uint8Array.of(0x15, 1, 2, 3, 4),
      fieldVarint(3, 9),
    ])
    expect([...readFields(msg)].map((f) => f.field)).toEqual([1, 2, 3])
  })

  it('reports a length-delimited field running past the end as truncated, with the size it needs', () => {
    const msg = fieldBytes(7, new Uint8Array(100)).subarray(0, 50)
    let error: unknown
    try {
      Array.from(readFields(msg))
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(ProtoError)
    expect((error as ProtoError).truncated).toBe(true)
    expect((error as ProtoError).needs).toBe(102)
  })

  it('refuses groups (wire types 3 and 4) and field number 0, which no ONNX file contains', () => {
    expect(() => [...readFields(Uint8Array.of(0x0b))]).toThrow(/wire type 3/)
    expect(() => [...readFields(Uint8Array.of(0x00, 0x01))]).toThrow(/field number 0/)
    expect(() => [...readFields(new TextEncoder().encode('hello'))]).toThrow(ProtoError)
  })
})
