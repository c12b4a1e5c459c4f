import type { Envelope } from '../../../src-shared/errors'
import type { LineupEvent } from '../../../src-shared/events'

/**
 * What the Electron preload exposes as `window.lineup` (contextBridge). The preload forwards
 * `invoke` to the one IPC handler that runs `dispatch`, so it always resolves to an envelope and
 * never rejects with an engine error. `onEvent` returns its unsubscribe function.
 */
export interface LineupBridge {
  invoke(method: string, input: unknown): Promise<Envelope<unknown>>
  onEvent(cb: (e: LineupEvent) => void): () => void
}

declare global {
  interface Window {
    /** Present only inside the Electron app; browser mode talks HTTP instead. */
    lineup?: LineupBridge
  }
}
