import type { AppInfo, LibrarySummary } from '../../../src-shared/domain'
import type { LineupClient } from './client'
import { CropPages } from './crop-pages.svelte'

/**
 * What the library view shows: the host, the facet counts, the active filter and the grid's pages.
 * Changing the camera or identity refilters the grid; {@link refresh} reloads after an import.
 */
export class LibraryState {
  info = $state.raw<AppInfo | null>(null)
  summary = $state.raw<LibrarySummary | null>(null)
  camera = $state<string | null>(null)
  identity = $state<string | null>(null)
  readonly crops: CropPages
  #refreshTimer: ReturnType<typeof setTimeout> | null = null

  constructor(
    private readonly client: LineupClient,
    private readonly report: (err: unknown, context?: string) => void,
  ) {
    this.crops = new CropPages(
      (filter, offset, limit) => client.call('library.crops', { ...filter, offset, limit }),
      (err) => report(err, 'Loading crops'),
    )
  }

  /** First load: host facts and facets (the grid asks for its own pages once it has a size). */
  async load(): Promise<void> {
    try {
      const [info, summary] = await Promise.all([
        this.client.call('app.info', {}),
        this.client.call('library.summary', {}),
      ])
      this.info = info
      this.summary = summary
    } catch (err) {
      this.report(err, 'Opening the library')
    }
  }

  setCamera(camera: string | null): void {
    if (camera === this.camera) return
    this.camera = camera
    this.crops.setFilter({ camera, identity: this.identity })
  }

  setIdentity(identity: string | null): void {
    if (identity === this.identity) return
    this.identity = identity
    this.crops.setFilter({ camera: this.camera, identity })
  }

  /** Reloads facets and grid soon; bursts of change events (finished + changed) make one reload. */
  refresh(): void {
    if (this.#refreshTimer !== null) return
    this.#refreshTimer = setTimeout(() => {
      this.#refreshTimer = null
      void this.#reload()
    }, 50)
  }

  async #reload(): Promise<void> {
    this.crops.refresh()
    try {
      this.summary = await this.client.call('library.summary', {})
    } catch (err) {
      this.report(err, 'Reloading the library')
    }
  }
}
