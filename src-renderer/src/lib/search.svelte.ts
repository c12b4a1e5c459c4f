import type { SearchResult } from '../../../src-shared/domain'
import { ApiError, type LineupClient } from './client'
import type { CropDetails } from './crop-details.svelte'
import { movements, noMoves, type Move } from './movement'
import { defaultFilters, parseCropId, searchInput, type SearchFilters } from './search-params'

export type Fusion = 'mean' | 'max'

/** The engine takes at most this many query crops (api.ts). */
const MAX_QUERY_CROPS = 100

/**
 * The marks of the person of interest whose query crop is `queryCropId` (relevance feedback,
 * issue #6): confirmed crops join the query, rejected ones push their look-alikes down. Applied
 * only while that crop is the first query crop, so a person's marks never leak into another query.
 */
export interface Feedback {
  queryCropId: number
  confirmed: number[]
  rejected: number[]
}

export interface RunOptions {
  /** A re-rank after a mark or an undo: each result's move against the page shown before. */
  rerank?: boolean
  /**
   * Where the focus ring goes once the answer is shown: the first unmarked result at or after
   * `from`, or the crop `cropId` if it is on the page. Default: the first result.
   */
  focus?: { from: number } | { cropId: number }
  /** Whether a crop already has a verdict (results with one are skipped by `focus.from`). */
  isMarked?: (cropId: number) => boolean
}

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
  feedback = $state.raw<Feedback | null>(null)
  /** What the last re-rank moved (crop id → move); empty after any other search. */
  movement = $state.raw<ReadonlyMap<number, Move>>(noMoves)
  /** Index of the focused result on the shown page (keyboard triage). */
  focus = $state(0)
  /** Counts the answers shown, so a view (or a test) can tell a new ranking from the old one. */
  generation = $state(0)
  /** Round trip of the last search as the UI saw it (request to answer), in milliseconds. */
  roundTripMs = $state<number | null>(null)
  #request = 0

  constructor(
    private readonly client: LineupClient,
    private readonly details: CropDetails,
    private readonly report: (err: unknown, context?: string) => void,
  ) {}

  /** The feedback that applies to the current query, if any. */
  get activeFeedback(): Feedback | null {
    const f = this.feedback
    return f !== null && f.queryCropId === this.queries[0] ? f : null
  }

  /** The crops sent as the query: the analyst's query crops, then the person's confirmed crops. */
  get queryCrops(): number[] {
    const f = this.activeFeedback
    if (!f) return this.queries
    return [...this.queries, ...f.confirmed.filter((id) => !this.queries.includes(id))].slice(
      0,
      MAX_QUERY_CROPS,
    )
  }

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

  /** Replaces the person's marks applied to the query and searches again. */
  setFeedback(feedback: Feedback | null, options: RunOptions = {}): Promise<boolean> {
    this.feedback = feedback
    return this.run(options)
  }

  /** Moves the focus ring to the result at `index` of the shown page (clamped). */
  setFocus(index: number): void {
    const count = this.result?.hits.length ?? 0
    this.focus = count === 0 ? 0 : Math.min(count - 1, Math.max(0, index))
  }

  /** Sends the current query; resolves to true when its answer is the one now shown. */
  async run(options: RunOptions = {}): Promise<boolean> {
    const request = ++this.#request
    this.problem = null
    if (this.queries.length === 0) {
      this.result = null
      this.movement = noMoves
      this.loading = false
      return false
    }
    const cropIds = this.queryCrops
    const input = searchInput(cropIds, this.fusion, this.filters, this.offset, this.activeFeedback?.rejected)
    if (!input.ok) {
      this.problem = input.message
      this.result = null
      this.movement = noMoves
      this.loading = false
      return false
    }
    this.loading = true
    const started = performance.now()
    try {
      const result = await this.client.call('search.query', input.value)
      if (request !== this.#request) return false
      const previous = this.result
      this.roundTripMs = performance.now() - started
      this.movement =
        options.rerank && previous !== null && previous.offset === result.offset
          ? movements(
              previous.hits.map((h) => h.crop.id),
              result.hits.map((h) => h.crop.id),
              cropIds,
            )
          : noMoves
      this.result = result
      this.focus = focusAfter(result, options)
      this.generation += 1
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

/** Where the focus ring goes on a newly shown page (see {@link RunOptions.focus}). */
function focusAfter(result: SearchResult, options: RunOptions): number {
  const hits = result.hits
  if (hits.length === 0 || !options.focus) return 0
  if ('cropId' in options.focus) {
    const { cropId } = options.focus
    return Math.max(
      0,
      hits.findIndex((h) => h.crop.id === cropId),
    )
  }
  const from = Math.min(options.focus.from, hits.length - 1)
  const marked = options.isMarked ?? (() => false)
  for (let i = from; i < hits.length; i++) if (!marked(hits[i]!.crop.id)) return i
  return from
}
