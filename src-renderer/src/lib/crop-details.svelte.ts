import { SvelteMap } from 'svelte/reactivity'
import type { CropDetail } from '../../../src-shared/domain'
import type { LineupClient } from './client'

/**
 * Crop metadata the Search view shows beside images (query chips, the comparison), fetched once per
 * crop with `library.crop` and kept: a crop's imported facts never change.
 */
export class CropDetails {
  readonly #crops = new SvelteMap<number, CropDetail>()
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- bookkeeping only; nothing renders it
  readonly #pending = new Map<number, Promise<CropDetail>>()

  constructor(private readonly client: LineupClient) {}

  /** The crop if already loaded (reactive: reading it re-renders when it arrives). */
  get(id: number): CropDetail | undefined {
    return this.#crops.get(id)
  }

  /** Loads the crop (once, however many callers ask at the same time); rejects like the client. */
  fetch(id: number): Promise<CropDetail> {
    const known = this.#crops.get(id)
    if (known) return Promise.resolve(known)
    let pending = this.#pending.get(id)
    if (!pending) {
      pending = this.client
        .call('library.crop', { id })
        .then((crop) => {
          this.#crops.set(id, crop)
          return crop
        })
        .finally(() => this.#pending.delete(id))
      this.#pending.set(id, pending)
    }
    return pending
  }

  /** Loads the crops in the background; failures go to `report`. */
  ensure(ids: number[], report: (err: unknown, context?: string) => void): void {
    for (const id of ids) {
      if (this.#crops.has(id)) continue
      this.fetch(id).catch((err: unknown) => report(err, `Loading crop ${id}`))
    }
  }
}
