import type { SearchHit } from '../../../src-shared/domain'
import type { CropDetails } from './crop-details.svelte'
import type { SearchState } from './search.svelte'

/**
 * The side-by-side comparison of one result with the query: which hit of the shown page is open,
 * which query crop it is set against (when there are several), and stepping through the ranking,
 * across page boundaries.
 */
export class CompareState {
  /** Index of the open hit in the current page; null when closed. */
  index = $state<number | null>(null)
  /** Index into the query crops of the one shown on the left. */
  queryIndex = $state(0)
  stepping = $state(false)

  constructor(
    private readonly search: SearchState,
    private readonly details: CropDetails,
    private readonly report: (err: unknown, context?: string) => void,
  ) {}

  /** The open hit, or null when closed or when the page it was on has been replaced. */
  get hit(): SearchHit | null {
    const hits = this.search.result?.hits
    return this.index !== null && hits ? (hits[this.index] ?? null) : null
  }

  /** The query crop shown on the left. */
  get queryId(): number | null {
    const queries = this.search.queries
    return queries[Math.min(this.queryIndex, queries.length - 1)] ?? null
  }

  open(index: number): void {
    const hit = this.search.result?.hits[index]
    if (!hit) return
    this.index = index
    this.details.ensure([hit.crop.id, ...this.search.queries], this.report)
  }

  close(): void {
    this.index = null
  }

  showQuery(index: number): void {
    this.queryIndex = index
  }

  /** The next (+1) or previous (−1) result; loads the neighbouring page at either end of this one. */
  async step(delta: 1 | -1): Promise<void> {
    if (this.index === null || this.stepping) return
    const next = this.index + delta
    const count = this.search.result?.hits.length ?? 0
    if (next >= 0 && next < count) {
      this.open(next)
      return
    }
    this.stepping = true
    try {
      if (await this.search.page(delta)) {
        const hits = this.search.result?.hits.length ?? 0
        if (hits > 0) this.open(delta === 1 ? 0 : hits - 1)
        else this.close()
      }
    } finally {
      this.stepping = false
    }
  }
}
