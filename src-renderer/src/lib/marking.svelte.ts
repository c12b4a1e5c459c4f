import type { PersonDetail, Verdict } from '../../../src-shared/domain'
import type { LineupClient } from './client'
import type { PersonsState } from './persons.svelte'
import type { Feedback, SearchState } from './search.svelte'

const VERDICT_WORDS: Record<Verdict, string> = {
  same: 'the same person',
  different: 'not this person',
  unsure: 'unsure',
}

/**
 * Marking results for the person of interest of the current query (issue #6): the person is the
 * latest one whose query crop is the first query crop, created on the first mark. A mark shows at
 * once (kept locally), is sent with `marks.set`, and re-ranks the list in the same moment:
 * confirmed crops join the query, rejected ones push their look-alikes down. Marks and undos go
 * to the engine one after another, in the order the analyst made them.
 */
export class MarkingState {
  /** The person of interest of the current query; null until the first mark creates one. */
  person = $state.raw<PersonDetail | null>(null)
  /** Current verdict per crop (local first, then confirmed by the engine). */
  verdicts = $state.raw<Record<number, Verdict>>({})
  /** The last thing done, for the status line (read out by screen readers). */
  status = $state<string | null>(null)
  /** Marks and undos sent but not answered yet. */
  pending = $state(0)
  #queue: Promise<unknown> = Promise.resolve()
  /** The query crop the state belongs to (the person's, or the one whose person is not created yet). */
  #query: number | null = null
  #creating: Promise<PersonDetail> | null = null

  constructor(
    private readonly client: LineupClient,
    private readonly search: SearchState,
    private readonly persons: PersonsState,
    /** The library's id of the model with this key (marks record the ranking's model). */
    private readonly modelId: (key: string) => number | undefined,
    private readonly report: (err: unknown, context?: string) => void,
  ) {}

  /** Crops confirmed for the person (by crop id; the query crop not included). */
  get confirmed(): number[] {
    return this.#with('same')
  }

  get rejected(): number[] {
    return this.#with('different')
  }

  get unsure(): number[] {
    return this.#with('unsure')
  }

  /**
   * Follows the Search view's first query crop: shows that crop's person (their marks re-rank the
   * list) or none until the first mark. Called whenever the first query crop may have changed.
   */
  async follow(queryCropId: number | undefined): Promise<void> {
    if (queryCropId === this.#query) return
    this.#query = queryCropId ?? null
    this.#creating = null
    this.person = null
    this.verdicts = {}
    this.status = null
    if (queryCropId === undefined) return
    const found = await this.persons.forQuery(queryCropId)
    if (!found || this.#query !== queryCropId) return
    await this.#load(found.id, queryCropId)
  }

  /** Shows a person's ranking in the Search view (from the Persons page): their query and marks. */
  async openRanking(personId: number): Promise<void> {
    try {
      const detail = await this.client.call('persons.get', { id: personId })
      this.#query = detail.queryCropId
      this.#creating = null
      this.status = null
      this.#adopt(detail)
      this.search.feedback = this.#feedback()
      await this.search.setQueries([detail.queryCropId])
    } catch (err) {
      this.report(err, 'Opening the ranking')
    }
  }

  /**
   * Marks the result at `index` of the shown page. Shown and re-ranked at once; the person is
   * created first if the query has none yet. Resolves when the engine has stored the mark.
   */
  mark(index: number, verdict: Verdict): Promise<void> {
    const hit = this.search.result?.hits[index]
    if (!hit) return Promise.resolve()
    if (this.verdicts[hit.crop.id] === verdict) {
      this.search.setFocus(index + 1)
      return Promise.resolve()
    }
    return this.markCrop(hit.crop.id, verdict, { rank: hit.rank, focusFrom: index })
  }

  /**
   * Marks a crop for the current query's person (a result, or a confirmed sighting taken back).
   * `rank` is its rank in the shown ranking, if it is on it.
   */
  markCrop(cropId: number, verdict: Verdict, at: { rank?: number; focusFrom?: number } = {}): Promise<void> {
    const query = this.search.queries[0]
    if (query === undefined || query !== this.#query || cropId === query) return Promise.resolve()
    const before = this.verdicts[cropId]
    if (before === verdict) return Promise.resolve()
    this.verdicts = { ...this.verdicts, [cropId]: verdict }
    this.status = `Crop ${cropId}${at.rank ? ` (rank ${at.rank})` : ''} marked ${VERDICT_WORDS[verdict]}`
    const result = this.search.result
    const modelId = result ? this.modelId(result.modelKey) : undefined
    // Re-rank now: the ranking depends only on the marks, not on the engine having stored them.
    void this.search.setFeedback(this.#feedback(), {
      rerank: true,
      focus: { from: at.focusFrom ?? this.search.focus },
      isMarked: (id) => this.verdicts[id] !== undefined,
    })
    return this.#enqueue(async () => {
      try {
        const person = await this.#ensurePerson(query)
        await this.client.call('marks.set', {
          personId: person.id,
          cropId,
          verdict,
          ...(at.rank !== undefined ? { rank: at.rank } : {}),
          ...(modelId !== undefined ? { modelId } : {}),
        })
      } catch (err) {
        if (this.#query === query) {
          const { [cropId]: _dropped, ...rest } = this.verdicts
          this.verdicts = before === undefined ? rest : { ...rest, [cropId]: before }
          this.status = `Crop ${cropId} was not marked`
          void this.search.setFeedback(this.#feedback(), { rerank: true, focus: { cropId } })
        }
        this.report(err, 'Marking')
      }
    })
  }

  /** Undoes the person's latest mark (the engine restores the verdict before it). */
  undo(): Promise<void> {
    const query = this.#query
    return this.#enqueue(async () => {
      const person = this.person
      if (!person || person.queryCropId !== query) {
        this.status = 'Nothing to undo'
        return
      }
      try {
        const m = await this.client.call('marks.undo', { personId: person.id })
        if (this.#query !== query) return
        if (!m) {
          this.status = 'Nothing to undo'
          return
        }
        const { [m.cropId]: _undone, ...rest } = this.verdicts
        this.verdicts = m.verdict === 'cleared' ? rest : { ...rest, [m.cropId]: m.verdict }
        this.status =
          m.verdict === 'cleared'
            ? `Undone: crop ${m.cropId} is unmarked again`
            : `Undone: crop ${m.cropId} is back to ${VERDICT_WORDS[m.verdict]}`
        await this.search.setFeedback(this.#feedback(), { rerank: true, focus: { cropId: m.cropId } })
      } catch (err) {
        this.report(err, 'Undoing the mark')
      }
    })
  }

  /** Renames the person or saves their notes (the Search view's person bar). */
  async update(patch: { name?: string; notes?: string }): Promise<boolean> {
    const person = this.person
    if (!person) return false
    const stored = await this.persons.update(person.id, patch)
    if (stored && this.person?.id === person.id) this.person = { ...this.person, ...stored }
    return stored !== null
  }

  #with(verdict: Verdict): number[] {
    const query = this.#query
    return Object.entries(this.verdicts)
      .filter(([id, v]) => v === verdict && Number(id) !== query)
      .map(([id]) => Number(id))
  }

  #feedback(): Feedback | null {
    if (this.#query === null) return null
    return { queryCropId: this.#query, confirmed: this.confirmed, rejected: this.rejected }
  }

  async #load(personId: number, query: number): Promise<void> {
    try {
      const detail = await this.client.call('persons.get', { id: personId })
      if (this.#query !== query) return
      this.#adopt(detail)
      await this.search.setFeedback(this.#feedback())
    } catch (err) {
      this.report(err, 'Loading the person of interest')
    }
  }

  #adopt(detail: PersonDetail): void {
    this.person = detail
    this.verdicts = { ...detail.verdicts }
  }

  /** The query's person, created on the first mark (once, however many marks wait for it). */
  #ensurePerson(query: number): Promise<PersonDetail> {
    if (this.person && this.person.queryCropId === query) return Promise.resolve(this.person)
    this.#creating ??= this.client
      .call('persons.create', { queryCropId: query })
      .then((info) => this.client.call('persons.get', { id: info.id }))
      .then((detail) => {
        if (this.#query === query) this.person = { ...detail, verdicts: this.verdicts }
        return detail
      })
      .finally(() => (this.#creating = null))
    return this.#creating
  }

  /** Runs `task` after every earlier mark and undo; when the queue empties, reloads the person. */
  #enqueue(task: () => Promise<void>): Promise<void> {
    this.pending += 1
    const run = this.#queue.then(task).finally(() => {
      this.pending -= 1
      if (this.pending === 0) void this.#settle()
    })
    // Tasks report their own failures; the queue must go on whatever happened.
    this.#queue = run.catch(() => undefined)
    return run
  }

  /** Reloads the person (sightings in time order, counts) once every mark is stored. */
  async #settle(): Promise<void> {
    const person = this.person
    void this.persons.refresh()
    if (!person) return
    try {
      const detail = await this.client.call('persons.get', { id: person.id })
      if (this.pending === 0 && this.person?.id === person.id) this.#adopt(detail)
    } catch (err) {
      this.report(err, 'Loading the person of interest')
    }
  }
}
