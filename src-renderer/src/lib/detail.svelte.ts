import type { CropDetail } from '../../../src-shared/domain'
import type { LineupClient } from './client'

/** The crop open in the detail panel; a slow answer for a crop no longer selected is dropped. */
export class DetailState {
  selectedId = $state<number | null>(null)
  crop = $state.raw<CropDetail | null>(null)
  loading = $state(false)

  constructor(
    private readonly client: LineupClient,
    private readonly report: (err: unknown, context?: string) => void,
  ) {}

  async select(id: number): Promise<void> {
    if (id === this.selectedId && this.crop?.id === id) return
    this.selectedId = id
    this.loading = true
    try {
      const crop = await this.client.call('library.crop', { id })
      if (this.selectedId === id) this.crop = crop
    } catch (err) {
      if (this.selectedId === id) this.close()
      this.report(err, `Opening crop ${id}`)
    } finally {
      if (this.selectedId === id || this.selectedId === null) this.loading = false
    }
  }

  close(): void {
    this.selectedId = null
    this.crop = null
    this.loading = false
  }
}
