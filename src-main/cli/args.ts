import { parseArgs, type ParseArgsConfig } from 'node:util'
import { LineupError } from '../../src-shared/errors'

/** Thrown for a bad command line: printed with the command's usage, exit code 2. */
export class UsageError extends LineupError {
  constructor(message: string) {
    super('invalid-input', message)
  }
}

/** parseArgs with strict options, turning its errors into a UsageError that names the flag. */
export function parse<T extends NonNullable<ParseArgsConfig['options']>>(
  argv: string[],
  options: T,
  allowPositionals = true,
) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true })
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ''))
  }
}

export function oneOf<const T extends readonly string[]>(
  flag: string,
  value: string | undefined,
  allowed: T,
  fallback: T[number],
): T[number] {
  if (value === undefined) return fallback
  if ((allowed as readonly string[]).includes(value)) return value as T[number]
  throw new UsageError(`${flag} must be one of ${allowed.join(', ')} (got "${value}")`)
}

export function positiveInt(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!Number.isInteger(n) || n <= 0)
    throw new UsageError(`${flag} must be a positive whole number (got "${value}")`)
  return n
}

/** --input-size HxW. */
export function parseSize(value: string | undefined): [number, number] | undefined {
  if (value === undefined) return undefined
  const m = /^(\d+)x(\d+)$/i.exec(value.trim())
  const h = Number(m?.[1])
  const w = Number(m?.[2])
  if (!m || h < 1 || w < 1 || h > 4096 || w > 4096) {
    throw new UsageError(`--input-size must be HEIGHTxWIDTH in pixels, e.g. 256x128 (got "${value}")`)
  }
  return [h, w]
}

/** --mean / --std R,G,B. */
export function parseTriple(flag: string, value: string | undefined): [number, number, number] | undefined {
  if (value === undefined) return undefined
  const parts = value.split(',').map((s) => s.trim())
  const nums = parts.map(Number)
  if (parts.length !== 3 || parts.some((p) => p === '') || nums.some((n) => !Number.isFinite(n))) {
    throw new UsageError(
      `${flag} must be three numbers R,G,B on the [0, 1] scale, e.g. 0.485,0.456,0.406 (got "${value}")`,
    )
  }
  return nums as [number, number, number]
}

/** A number flag within [min, max]. */
export function numberIn(
  flag: string,
  value: string | undefined,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max)
    throw new UsageError(`${flag} must be a number from ${min} to ${max} (got "${value}")`)
  return n
}

/** A whole-number flag ≥ 0. */
export function wholeNumber(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (value.trim() === '' || !Number.isInteger(n) || n < 0)
    throw new UsageError(`${flag} must be a whole number ≥ 0 (got "${value}")`)
  return n
}
