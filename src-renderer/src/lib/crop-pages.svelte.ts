import { untrack } from 'svelte'
import { SvelteMap } from 'svelte/reactivity'
import type { CropPage, CropSummary } from '../../../src-shared/domain'

/** The grid's filter: a camera name and/or an exact identity label (null = any). */
export interface CropFilter {
  camera: string | null
  identity: string | null
}

export type FetchPage = (filter: CropFilter, offset: number, limit: number) => Promise<CropPage>

interface Page {
  generation: number
  items: CropSummary[]
}

/**
 * The crops of the current filter, fetched lazily in pages of `pageSize` by offset/limit and cached.
 *
 * The grid says which index range it wants ({@link want}); at most `maxInFlight` page requests run at
 * once, and when one returns only pages still wanted are fetched, so a fast scroll through 10,000
 * crops does not queue every page it flew past. Each page is its own reactive entry, so a page
 * arriving re-renders only the cells that show it.
 */
export class CropPages {
  /** Crops matching the filter, as the last page answered. */
  total = $state(0)
  /** False until the first page of the current filter has answered. */
  ready = $state(false)
  filter = $state.raw<CropFilter>({ camera: null, identity: null })

  readonly #pages = new SvelteMap<number, Page>()
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- bookkeeping only; nothing renders it
  readonly #inFlight = new Set<number>()
  #generation = 0
  #want = { from: 0, to: 0 }

  constructor(
    private readonly fetchPage: FetchPage,
    private readonly onError: (err: unknown) => void,
    readonly pageSize = 200,
    private readonly maxInFlight = 2,
  ) {}

  /** The crop at `index` in the filtered order, or undefined while its page loads. */
  item(index: number): CropSummary | undefined {
    return this.#pages.get(Math.floor(index / this.pageSize))?.items[index % this.pageSize]
  }

  /** Declares the index range [from, to) the grid shows; fetches the pages it lacks. */
  want(from: number, to: number): void {
    this.#want = { from: Math.max(0, from), to: Math.max(from, to) }
    this.#pump()
  }

  /** A new filter: forgets every page (they belong to another result) and starts again. */
  setFilter(filter: CropFilter): void {
    this.filter = { ...filter }
    this.#generation += 1
    this.#pages.clear()
    this.#inFlight.clear()
    this.ready = false
    this.total = 0
    this.#want = { from: 0, to: this.pageSize }
    this.#pump()
  }

  /**
   * The library changed (an import finished): refetch what is wanted, but keep showing the old
   * pages until their replacements arrive so the grid does not blink.
   */
  refresh(): void {
    this.#generation += 1
    this.#inFlight.clear()
    this.#pump()
  }

  /** Starts loads for missing pages of the wanted range, up to `maxInFlight` at once. */
  #pump(): void {
    // The grid calls want() from an effect: what this reads must not become that effect's dependencies.
    untrack(() => {
      const generation = this.#generation
      const to = this.ready ? Math.min(this.#want.to, this.total) : Math.max(this.#want.to, 1)
      const firstPage = Math.floor(this.#want.from / this.pageSize)
      const lastPage = Math.max(firstPage, Math.ceil(to / this.pageSize) - 1)
      for (let p = firstPage; p <= lastPage && this.#inFlight.size < this.maxInFlight; p++) {
        if (this.#inFlight.has(p) || this.#pages.get(p)?.generation === generation) continue
        this.#inFlight.add(p)
        this.#load(p, generation)
      }
    })
  }

  #load(page: number, generation: number): void {
    this.fetchPage(this.filter, page * this.pageSize, this.pageSize).then(
      (result) => {
        if (generation !== this.#generation) return
        this.#inFlight.delete(page)
        this.#pages.set(page, { generation, items: result.items })
        this.total = result.total
        this.ready = true
        this.#pump()
      },
      (err: unknown) => {
        if (generation !== this.#generation) return
        this.#inFlight.delete(page)
        this.ready = true
        this.onError(err)
      },
    )
  }
}
