import type { IdentityFacet } from '../../../src-shared/domain'
import type { LineupClient } from './client'

/**
 * The identity filter's text box: suggestions from `library.identities` as the analyst types, and
 * validation that a typed label exists (in the current camera) before the grid is filtered by it.
 */
export class IdentitySearch {
  text = $state('')
  suggestions = $state.raw<IdentityFacet[]>([])
  /** Why the typed label was not applied, shown under the field; null when fine. */
  problem = $state<string | null>(null)
  #timer: ReturnType<typeof setTimeout> | null = null
  #request = 0

  constructor(
    private readonly client: LineupClient,
    private readonly report: (err: unknown, context?: string) => void,
    readonly limit = 50,
  ) {}

  /** Updates the text and, after a short pause in typing, the suggestions for it. */
  type(text: string, camera: string | null): void {
    this.text = text
    this.problem = null
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = setTimeout(() => void this.#suggest(camera), 120)
  }

  async #suggest(camera: string | null): Promise<void> {
    const request = ++this.#request
    try {
      const found = await this.client.call('library.identities', {
        prefix: this.text.trim(),
        camera,
        limit: this.limit,
      })
      if (request === this.#request) this.suggestions = found
    } catch (err) {
      this.report(err, 'Looking up identities')
    }
  }

  /**
   * Checks the typed label exists; resolves to it (or null for an empty box), or to undefined when
   * it does not exist, with {@link problem} saying so.
   */
  async validate(camera: string | null): Promise<string | null | undefined> {
    const label = this.text.trim()
    if (label === '') return null
    try {
      // Results are ordered by label from the prefix on, so an exact match comes first.
      const [first] = await this.client.call('library.identities', { prefix: label, camera, limit: 1 })
      if (first?.identity === label) return label
      this.problem = camera
        ? `no crop of camera ${camera} is labelled “${label}”`
        : `no crop is labelled “${label}”`
      return undefined
    } catch (err) {
      this.report(err, 'Checking the identity')
      return undefined
    }
  }

  clear(): void {
    this.text = ''
    this.problem = null
  }
}
