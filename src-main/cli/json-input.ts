import { readFileSync, statSync } from 'node:fs'
import { LineupError } from '../../src-shared/errors'

/**
 * Reading the JSON files of `lineup metrics` and `lineup loss`. Every problem is a LineupError
 * naming the file and the field (and row / column), never a stack trace.
 */

/** Reads and parses a JSON object from `path`. */
export function readJsonObject(path: string): Record<string, unknown> {
  let text: string
  try {
    if (!statSync(path).isFile()) throw new LineupError('invalid-input', `${path} is not a file`)
    text = readFileSync(path, 'utf8')
  } catch (err) {
    if (err instanceof LineupError) throw err
    throw new LineupError(
      'not-found',
      `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    )
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw new LineupError('invalid-input', `${path} is not valid JSON: ${(err as Error).message}`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new LineupError('invalid-input', `${path} must hold a JSON object with named fields`)
  }
  return value as Record<string, unknown>
}

function bad(field: string, message: string): LineupError {
  return new LineupError('invalid-input', `${field}: ${message}`)
}

/** A rectangular matrix of finite numbers (array of equal-length rows) as row-major Float32Array. */
export function matrixField(
  obj: Record<string, unknown>,
  field: string,
): { data: Float32Array; rows: number; cols: number } {
  const value = obj[field]
  if (value === undefined) throw bad(field, 'missing')
  if (!Array.isArray(value) || value.length === 0)
    throw bad(field, 'must be a non-empty array of rows (arrays of numbers)')
  const first = value[0]
  if (!Array.isArray(first) || first.length === 0)
    throw bad(`${field}[0]`, 'must be a non-empty array of numbers')
  const cols = first.length
  const data = new Float32Array(value.length * cols)
  for (let r = 0; r < value.length; r++) {
    const row = value[r] as unknown
    if (!Array.isArray(row)) throw bad(`${field}[${r}]`, 'must be an array of numbers')
    if (row.length !== cols)
      throw bad(`${field}[${r}]`, `has ${row.length} values but ${field}[0] has ${cols} (ragged rows)`)
    for (let c = 0; c < cols; c++) {
      const x = row[c] as unknown
      if (typeof x !== 'number' || !Number.isFinite(x))
        throw bad(`${field}[${r}][${c}]`, `must be a finite number (got ${JSON.stringify(x)})`)
      data[r * cols + c] = x
    }
  }
  return { data, rows: value.length, cols }
}

/** An array of integers of the given length. */
export function intArrayField(
  obj: Record<string, unknown>,
  field: string,
  length: number,
  lengthOf: string,
): Int32Array {
  const value = obj[field]
  if (value === undefined) throw bad(field, 'missing')
  if (!Array.isArray(value)) throw bad(field, 'must be an array of integers')
  if (value.length !== length) throw bad(field, `has ${value.length} entries but ${lengthOf} has ${length}`)
  const out = new Int32Array(length)
  value.forEach((x: unknown, i) => {
    if (typeof x !== 'number' || !Number.isInteger(x) || Math.abs(x) > 2 ** 31 - 1)
      throw bad(`${field}[${i}]`, `must be an integer (got ${JSON.stringify(x)})`)
    out[i] = x
  })
  return out
}

/** Identity labels (integers or strings) of the given length, mapped to dense integers. */
export function labelField(
  obj: Record<string, unknown>,
  field: string,
  length: number,
  lengthOf: string,
): Int32Array {
  const value = obj[field]
  if (value === undefined) throw bad(field, 'missing')
  if (!Array.isArray(value)) throw bad(field, 'must be an array of labels (integers or strings)')
  if (value.length !== length) throw bad(field, `has ${value.length} entries but ${lengthOf} has ${length}`)
  const ids = new Map<string, number>()
  const out = new Int32Array(length)
  value.forEach((x: unknown, i) => {
    if (!((typeof x === 'number' && Number.isInteger(x)) || (typeof x === 'string' && x !== ''))) {
      throw bad(`${field}[${i}]`, `must be an integer or a non-empty string (got ${JSON.stringify(x)})`)
    }
    const key = `${typeof x}:${x}`
    if (!ids.has(key)) ids.set(key, ids.size)
    out[i] = ids.get(key)!
  })
  return out
}
