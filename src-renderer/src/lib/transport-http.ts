import type { Envelope } from '../../../src-shared/errors'
import { isEnvelope } from '../../../src-shared/errors'
import type { EventListener, LineupEvent } from '../../../src-shared/events'
import type { Transport } from './client'

const UNREACHABLE =
  'cannot reach the Lineup server: is `lineup serve` still running? Restart it and open the URL it prints'

/**
 * Browser mode: `POST /api/<method>` with the session cookie, events over one shared
 * EventSource at `/api/events`, images under `/img/`.
 */
export function httpTransport(): Transport {
  const listeners = new Set<EventListener>()
  let source: EventSource | null = null

  const open = (): void => {
    source = new EventSource('/api/events')
    source.onmessage = (message: MessageEvent<string>) => {
      let event: LineupEvent
      try {
        event = JSON.parse(message.data) as LineupEvent
      } catch {
        return
      }
      for (const l of [...listeners]) l(event)
    }
  }

  return {
    host: 'browser',
    async invoke(method, input): Promise<Envelope<unknown>> {
      let response: Response
      try {
        response = await fetch(`/api/${encodeURIComponent(method)}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          credentials: 'same-origin',
          body: JSON.stringify(input ?? {}),
        })
      } catch {
        return { ok: false, error: { kind: 'io', message: UNREACHABLE } }
      }
      let body: unknown = null
      try {
        body = await response.json()
      } catch {
        // not JSON: described below by status
      }
      if (isEnvelope(body)) return body
      if (response.status === 401)
        return {
          ok: false,
          error: { kind: 'unauthorized', message: 'no session: open the URL that `lineup serve` printed' },
        }
      return {
        ok: false,
        error: { kind: 'internal', message: `internal error: ${method} answered HTTP ${response.status}` },
      }
    },
    onEvent(listener) {
      listeners.add(listener)
      if (!source) open()
      return () => {
        listeners.delete(listener)
        if (listeners.size === 0 && source) {
          source.close()
          source = null
        }
      }
    },
    imageUrl: (kind, id) => `/img/${kind}/${id}`,
  }
}
