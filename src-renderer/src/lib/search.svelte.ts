import type { SearchResult } from '../../../src-shared/domain'
import { ApiError, type LineupClient } from './client'
import type { CropDetails } from './crop-details.svelte'
import { defaultFilters, parseCropId, searchInput, type SearchFilters } from './search-params'

export type Fusion = 'mean' | 'max'

/**
 * The Search view's query: the query crops (several = multi-query fusion), the filters, the page,
 * and the last result. Every change re-runs `search.query` (it answers in milliseconds); an answer
 * that arrives after a newer request was sent is dropped, so the grid always shows the last query.
 */
export class SearchState {
  queries = $state.raw<number[]>([])
  fusion = $state<Fusion>('mean')
  filters = $state.raw<SearchFilters>({ ...defaultFilters })
  offset = $state(0)
  result = $state.raw<SearchResult | null>(null)
  loading = $state(false)
  /** Why the filters could not be sent (e.g. a time window that ends before it starts). */
  problem = $state<string | null>(null)
  /** Why a typed query crop id was not added. */
  queryProblem = $state<string | null>(null)
  #request = 0

  constructor(
    private readonly client: LineupClient,
    private readonly details: CropDetails,
    private readonly report: (err: unknown, context?: string) => void,
  ) {}

  get hasPrevious(): boolean {
    return this.result !== null && this.result.offset > 0
  }

  get hasNext(): boolean {
    return this.result !== null && this.result.offset + this.result.hits.length < this.result.total
  }

  /** Replaces the query with these crops and searches. */
  setQueries(ids: number[]): Promise<boolean> {
    this.queries = ids.filter((id, i) => ids.indexOf(id) === i)
    this.queryProblem = null
    this.details.ensure(this.queries, this.report)
    this.offset = 0
    return this.run()
  }

  /** Adds one more crop of the same person to the query (no-op when it is already there). */
  addQuery(id: number): Promise<boolean> {
    if (this.queries.includes(id)) return Promise.resolve(false)
    return this.setQueries([...this.queries, id])
  }

  removeQuery(id: number): Promise<boolean> {
    return this.setQueries(this.queries.filter((q) => q !== id))
  }

  /** Adds a crop by the id the analyst typed, after checking the library has it. */
  async addTyped(text: string): Promise<boolean> {
    const parsed = parseCropId(text)
    if (!parsed.ok) {
      this.queryProblem = parsed.message
      return false
    }
    try {
      await this.details.fetch(parsed.value)
    } catch (err) {
      if (err instanceof ApiError && err.kind === 'not-found') {
        this.queryProblem = `no crop ${parsed.value} in this library`
      } else {
        this.report(err, `Loading crop ${parsed.value}`)
      }
      return false
    }
    if (this.queries.includes(parsed.value)) {
      this.queryProblem = `crop ${parsed.value} is already in the query`
      return false
    }
    return this.addQuery(parsed.value)
  }

  setFusion(fusion: Fusion): Promise<boolean> {
    if (fusion === this.fusion) return Promise.resolve(false)
    this.fusion = fusion
    this.offset = 0
    return this.run()
  }

  /** Changes some filters; the ranking starts again at its first page. */
  update(patch: Partial<SearchFilters>): Promise<boolean> {
    this.filters = { ...this.filters, ...patch }
    this.offset = 0
    return this.run()
  }

  /** The next (+1) or previous (−1) page of `filters.k` results; false when there is none. */
  page(step: 1 | -1): Promise<boolean> {
    if (step === 1 && !this.hasNext) return Promise.resolve(false)
    if (step === -1 && !this.hasPrevious) return Promise.resolve(false)
    this.offset = Math.max(0, (this.result?.offset ?? 0) + step * this.filters.k)
    return this.run()
  }

  /** Sends the current query; resolves to true when its answer is the one now shown. */
  async run(): Promise<boolean> {
    const request = ++this.#request
    this.problem = null
    if (this.queries.length === 0) {
      this.result = null
      this.loading = false
      return false
    }
    const input = searchInput(this.queries, this.fusion, this.filters, this.offset)
    if (!input.ok) {
      this.problem = input.message
      this.result = null
      this.loading = false
      return false
    }
    this.loading = true
    try {
      const result = await this.client.call('search.query', input.value)
      if (request !== this.#request) return false
      this.result = result
      return true
    } catch (err) {
      if (request !== this.#request) return false
      this.result = null
      this.report(err, 'Search')
      return false
    } finally {
      if (request === this.#request) this.loading = false
    }
  }
}
