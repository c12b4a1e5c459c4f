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
