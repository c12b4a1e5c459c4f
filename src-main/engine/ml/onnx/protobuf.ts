/**
 * The protobuf wire format, just enough to read and write ONNX `ModelProto` files without a
 * protobuf library (https://protobuf.dev/programming-guides/encoding/).
 *
 * A message is a sequence of fields, each a varint key `(field number << 3) | wire type` followed
 * by its value: wire type 0 a varint, 1 eight bytes, 2 a varint length then that many bytes
 * (strings, bytes, sub-messages, packed repeated scalars), 5 four bytes. Types 3 and 4 (groups)
 * are obsolete and never used by ONNX, so they are refused here, which also helps tell a random
 * file from a model.
 */

/** The bytes do not form a valid protobuf message. `truncated` means a field runs past the end. */
export class ProtoError extends Error {
  constructor(
    message: string,
    readonly truncated: boolean,
    /** For a truncated LEN field: the file size it needs at least (absolute end of the field). */
    readonly needs?: number,
  ) {
    super(message)
    this.name = 'ProtoError'
  }
}

export const WIRE_VARINT = 0
export const WIRE_I64 = 1
export const WIRE_LEN = 2
export const WIRE_I32 = 5

/** One field of a message: varint values as numbers (int64 beyond 2^53 loses precision), LEN values as views. */
export type ProtoField =
  | { field: number; wire: typeof WIRE_VARINT; value: number }
  | { field: number; wire: typeof WIRE_LEN; bytes: Uint8Array; offset: number }
  | { field: number; wire: typeof WIRE_I64 | typeof WIRE_I32; offset: number }

/**
 * Reads the fields of one message, in file order. Sub-messages are returned as byte views (no
 * copy); parse them with another call. `base` is the absolute offset of `buf[0]` in the file, used
 * only in error messages.
 *
 * @throws ProtoError on a malformed key, an unknown wire type, or a value past the end
 */
export function* readFields(buf: Uint8Array, base = 0): Generator<ProtoField> {
  let pos = 0
  const end = buf.length
  while (pos < end) {
    const keyAt = pos
    const key = readVarint(buf, pos, base)
    pos = key.next
    const field = Math.floor(key.value / 8)
    const wire = key.value % 8
    if (field === 0) throw new ProtoError(`field number 0 at byte ${base + keyAt}`, false)
    switch (wire) {
      case WIRE_VARINT: {
        const v = readVarint(buf, pos, base)
        pos = v.next
        yield { field, wire, value: v.value }
        break
      }
      case WIRE_LEN: {
        const len = readVarint(buf, pos, base)
        const start = len.next
        if (len.value > end - start) {
          throw new ProtoError(
            `field ${field} at byte ${base + keyAt} needs ${len.value} bytes, only ${end - start} remain`,
            true,
            base + start + len.value,
          )
        }
        pos = start + len.value
        yield { field, wire, bytes: buf.subarray(start, pos), offset: base + start }
        break
      }
      case WIRE_I64:
      case WIRE_I32: {
        const size = wire === WIRE_I64 ? 8 : 4
        if (pos + size > end)
          throw new ProtoError(`field ${field} at byte ${base + keyAt} is cut short`, true)
        yield { field, wire, offset: base + pos }
        pos += size
        break
      }
      default:
        throw new ProtoError(
          `unsupported wire type ${wire} for field ${field} at byte ${base + keyAt}`,
          false,
        )
    }
  }
}

/**
 * Decodes a varint at `pos`. Ten-byte encodings of negative int64 values come back negative.
 *
 * @throws ProtoError when the buffer ends inside the varint or it is longer than ten bytes
 */
export function readVarint(buf: Uint8Array, pos: number, base = 0): { value: number; next: number } {
  let value = 0
  let scale = 1
  for (let i = 0; i < 10; i++) {
    if (pos + i >= buf.length) throw new ProtoError(`varint at byte ${base + pos} is cut short`, true)
    const b = buf[pos + i]!
    value += (b & 0x7f) * scale
    scale *= 128
    if (b < 0x80) {
      // Up to 7 bytes (49 bits) is exact in a double; longer ones are redone in BigInt so that
      // two's complement int64 (ten bytes for a negative value) comes back negative and exact.
      return { value: i < 7 ? value : bigVarint(buf, pos, i + 1), next: pos + i + 1 }
    }
  }
  throw new ProtoError(`varint at byte ${base + pos} is longer than 10 bytes`, false)
}

function bigVarint(buf: Uint8Array, pos: number, size: number): number {
  let v = 0n
  for (let i = size - 1; i >= 0; i--) v = (v << 7n) | BigInt(buf[pos + i]! & 0x7f)
  v &= (1n << 64n) - 1n
  return Number(v >= 1n << 63n ? v - (1n << 64n) : v)
}

/** Decodes a UTF-8 string field. */
export function utf8(bytes: Uint8Array): string {
  return decoder.decode(bytes)
}

const decoder = new TextDecoder('utf-8')
const encoder = new TextEncoder()

// Writer: messages are built bottom-up as byte arrays and concatenated.

/** Encodes a non-negative integer (or a negative int64, as ten bytes) as a varint. */
export function varintBytes(n: number): Uint8Array {
  if (!Number.isInteger(n)) throw new RangeError(`varint must be an integer, got ${n}`)
  let v = n < 0 ? BigInt(n) + (1n << 64n) : BigInt(n)
  const out: number[] = []
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80)
    v >>= 7n
  }
  out.push(Number(v))
  return Uint8Array.from(out)
}

/** Concatenates byte arrays. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let size = 0
  for (const p of parts) size += p.length
  const out = new Uint8Array(size)
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/** A varint field (int32, int64, enum, bool). */
export function fieldVarint(field: number, value: number): Uint8Array {
  return concat([varintBytes(field * 8 + WIRE_VARINT), varintBytes(value)])
}

/** A length-delimited field (bytes, a sub-message, a packed repeated scalar). */
export function fieldBytes(field: number, bytes: Uint8Array): Uint8Array {
  return concat([varintBytes(field * 8 + WIRE_LEN), varintBytes(bytes.length), bytes])
}

/** A string field, UTF-8. */
export function fieldString(field: number, value: string): Uint8Array {
  return fieldBytes(field, encoder.encode(value))
}

/** A sub-message built from its fields. */
export function fieldMessage(field: number, parts: readonly Uint8Array[]): Uint8Array {
  return fieldBytes(field, concat(parts))
}
