/**
 * Errors that cross a process boundary travel in an envelope, because Electron IPC keeps only
 * an error's message (STYLE.md §3). `kind` tells the UI what sort of problem it is; `message`
 * tells the analyst what to do.
 */
export const errorKinds = [
  'invalid-input', // a call's arguments failed validation
  'not-found', // a crop, job, file or folder that does not exist
  'conflict', // e.g. an import already running on this library
  'unsupported', // a call the current host cannot serve (e.g. a folder dialog in browser mode)
  'unauthorized', // browser mode: missing or wrong session token
  'io', // a file could not be read or written
  'database', // the library file is unusable (newer version, corrupt)
  'cancelled', // the user cancelled
  'internal', // a bug: the message says so
] as const
export type ErrorKind = (typeof errorKinds)[number]

export interface ErrorBody {
  kind: ErrorKind
  message: string
}

export type Envelope<T> = { ok: true; value: T } | { ok: false; error: ErrorBody }

/** An error the analyst can act on. Thrown by the engine, carried as an envelope, re-thrown by the client. */
export class LineupError extends Error {
  readonly kind: ErrorKind
  constructor(kind: ErrorKind, message: string) {
    super(message)
    this.name = 'LineupError'
    this.kind = kind
  }
}

/** Turns anything thrown into an envelope body; unknown errors are reported as internal, with their message. */
export function toErrorBody(err: unknown): ErrorBody {
  if (err instanceof LineupError) return { kind: err.kind, message: err.message }
  if (err instanceof Error) return { kind: 'internal', message: `internal error: ${err.message}` }
  return { kind: 'internal', message: `internal error: ${String(err)}` }
}

export function isEnvelope(x: unknown): x is Envelope<unknown> {
  return typeof x === 'object' && x !== null && 'ok' in x && typeof (x as { ok: unknown }).ok === 'boolean'
}
