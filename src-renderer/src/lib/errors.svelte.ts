import { ApiError } from './client'

/** How every failure reaches the analyst: one banner, one handler (STYLE.md §10). */
export interface ShownError {
  kind: string
  message: string
  /** What was being done, e.g. "Import" — shown before the message. */
  context: string | null
  /** How many times this same message was reported while shown. */
  repeats: number
}

export class ErrorState {
  current = $state<ShownError | null>(null)

  /** The one error handler: pass it (bound) wherever async work can fail. */
  report = (err: unknown, context: string | null = null): void => {
    const kind = err instanceof ApiError ? err.kind : 'internal'
    const message = err instanceof Error ? err.message : String(err)
    const now = this.current
    if (now && now.message === message && now.context === context) {
      now.repeats += 1
      return
    }
    this.current = { kind, message, context, repeats: 1 }
  }

  dismiss = (): void => {
    this.current = null
  }
}
