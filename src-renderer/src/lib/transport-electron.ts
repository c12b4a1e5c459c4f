import { isEnvelope } from '../../../src-shared/errors'
import type { LineupBridge } from './bridge'
import type { Transport } from './client'

/** IPC through the preload; images through the `lineup://` protocol the main process registers. */
export function electronTransport(bridge: LineupBridge): Transport {
  return {
    host: 'electron',
    async invoke(method, input) {
      try {
        const envelope: unknown = await bridge.invoke(method, input)
        if (isEnvelope(envelope)) return envelope
        return {
          ok: false,
          error: { kind: 'internal', message: `internal error: ${method} gave no envelope` },
        }
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err)
        return { ok: false, error: { kind: 'internal', message: `internal error: IPC failed: ${message}` } }
      }
    },
    onEvent: (listener) => bridge.onEvent(listener),
    imageUrl: (kind, id) => `lineup://${kind}/${id}`,
  }
}
