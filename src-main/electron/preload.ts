/**
 * Sandboxed preload (bundled to CommonJS): exposes the typed API as `window.lineup` through
 * contextBridge. Only contract method names are forwarded; everything else is refused here.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron'
import { methods } from '../../src-shared/api'
import { EVENT_CHANNEL } from '../../src-shared/channels'
import type { Envelope } from '../../src-shared/errors'
import type { LineupEvent } from '../../src-shared/events'

const known = new Set<string>(methods)

contextBridge.exposeInMainWorld('lineup', {
  invoke(method: string, input: unknown): Promise<Envelope<unknown>> {
    if (!known.has(method)) {
      return Promise.resolve({
        ok: false,
        error: { kind: 'invalid-input', message: `unknown method "${method}"` },
      })
    }
    return ipcRenderer.invoke(method, input) as Promise<Envelope<unknown>>
  },
  onEvent(listener: (event: LineupEvent) => void): () => void {
    const forward = (_e: IpcRendererEvent, event: LineupEvent): void => listener(event)
    ipcRenderer.on(EVENT_CHANNEL, forward)
    return () => ipcRenderer.removeListener(EVENT_CHANNEL, forward)
  },
})
