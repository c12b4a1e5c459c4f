import type { Input, Method, Results } from '../../../src-shared/api'
import type { Envelope, ErrorKind } from '../../../src-shared/errors'
import type { EventListener } from '../../../src-shared/events'
import { electronTransport } from './transport-electron'
import { httpTransport } from './transport-http'

/** A failed call, re-thrown on this side of the boundary with the engine's kind and message. */
export class ApiError extends Error {
  readonly kind: ErrorKind
  constructor(kind: ErrorKind, message: string) {
    super(message)
    this.name = 'ApiError'
    this.kind = kind
  }
}

/** How calls, events and image URLs travel: Electron IPC or HTTP. Transports never throw on calls. */
export interface Transport {
  readonly host: 'electron' | 'browser'
  /** Resolves to the envelope; transport failures (network, IPC) are turned into `{ok:false}`. */
  invoke(method: Method, input: unknown): Promise<Envelope<unknown>>
  onEvent(listener: EventListener): () => void
  imageUrl(kind: 'thumb' | 'original', id: number): string
}

/** The one client the UI uses, whichever host it runs in. */
export interface LineupClient {
  readonly host: 'electron' | 'browser'
  /** Calls a contract method; resolves to its result or throws {@link ApiError}. */
  call<M extends Method>(method: M, input: Input<M>): Promise<Results[M]>
  /** Subscribes to pushed events; returns the unsubscribe function. */
  onEvent(listener: EventListener): () => void
  /** URL of a crop's stored thumbnail (WebP, at most 96×192). */
  thumbUrl(id: number): string
  /** URL of a crop's original file as imported. */
  originalUrl(id: number): string
}

export function createClient(transport: Transport): LineupClient {
  return {
    host: transport.host,
    async call<M extends Method>(method: M, input: Input<M>): Promise<Results[M]> {
      const envelope = await transport.invoke(method, input)
      if (!envelope.ok) throw new ApiError(envelope.error.kind, envelope.error.message)
      return envelope.value as Results[M]
    },
    onEvent: (listener) => transport.onEvent(listener),
    thumbUrl: (id) => transport.imageUrl('thumb', id),
    originalUrl: (id) => transport.imageUrl('original', id),
  }
}

/** Electron when the preload exposed `window.lineup`, otherwise the HTTP server of `lineup serve`. */
export function detectClient(): LineupClient {
  const bridge = window.lineup
  return createClient(bridge ? electronTransport(bridge) : httpTransport())
}
