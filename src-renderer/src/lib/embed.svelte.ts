import type { EmbedSummary, JobInfo, JobProgress } from '../../../src-shared/domain'
import type { LineupEvent } from '../../../src-shared/events'
import type { LineupClient } from './client'

type Finished = Extract<LineupEvent, { type: 'job.finished' }>

/** How the last embedding job ended, for the result line under the Models panel. */
export interface EmbedOutcome {
  jobId: number
  status: JobInfo['status']
  summary: EmbedSummary | null
  error: string | null
}

/**
 * One embedding job at a time (`embed.start`): its `job.progress` events of kind 'embed', cancel,
 * and the outcome from `job.finished`. As with imports, events may overtake the start answer, so a
 * finish seen before the job id is known is kept until it is.
 */
export class EmbedState {
  jobId = $state<number | null>(null)
  starting = $state(false)
  cancelling = $state(false)
  progress = $state.raw<JobProgress | null>(null)
  outcome = $state.raw<EmbedOutcome | null>(null)
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- bookkeeping only; nothing renders it
  readonly #early = new Map<number, Finished>()

  constructor(
    private readonly client: LineupClient,
    private readonly report: (err: unknown, context?: string) => void,
  ) {}

  get busy(): boolean {
    return this.starting || this.jobId !== null
  }

  /** Embeds every crop that has no vector from the model yet (default: the active model). */
  async start(modelId?: number): Promise<void> {
    if (this.busy) return
    this.starting = true
    this.outcome = null
    this.progress = null
    try {
      const job = await this.client.call('embed.start', modelId !== undefined ? { modelId } : {})
      this.jobId = job.id
      const early = this.#early.get(job.id)
      if (early) this.#finish(early)
    } catch (err) {
      this.report(err, 'Embedding the library')
    } finally {
      this.starting = false
      this.#early.clear()
    }
  }

  async cancel(): Promise<void> {
    if (this.jobId === null || this.cancelling) return
    this.cancelling = true
    try {
      await this.client.call('jobs.cancel', { id: this.jobId })
    } catch (err) {
      this.cancelling = false
      this.report(err, 'Cancelling the embedding')
    }
  }

  dismiss(): void {
    this.outcome = null
  }

  /** Follows an embedding job already running when the view opened (e.g. after a reload). */
  async resume(): Promise<void> {
    try {
      const jobs = await this.client.call('jobs.list', { limit: 10 })
      const running = jobs.find((j) => j.status === 'running' && j.kind === 'embed')
      if (running && this.jobId === null && !this.starting) this.jobId = running.id
    } catch (err) {
      this.report(err, 'Listing jobs')
    }
  }

  /** Feeds a pushed event; returns true when an embedding job finished (vectors changed). */
  handle(event: LineupEvent): boolean {
    if (event.type === 'job.progress') {
      if (event.progress.kind !== 'embed') return false
      if (this.jobId === null && !this.starting) this.jobId = event.progress.jobId
      if (event.progress.jobId === this.jobId || this.starting) this.progress = event.progress
      return false
    }
    if (event.type === 'job.finished') {
      if (event.job.kind !== 'embed') return false
      if (this.starting && this.jobId === null) this.#early.set(event.job.id, event)
      else if (event.job.id === this.jobId) this.#finish(event)
      return true
    }
    return false
  }

  #finish(event: Finished): void {
    const { job } = event
    this.outcome = {
      jobId: job.id,
      status: job.status,
      // An embedding job's summary is an EmbedSummary (the kind was checked in handle()).
      summary: (event.summary ?? job.summary) as EmbedSummary | null,
      error: job.error,
    }
    this.jobId = null
    this.progress = null
    this.cancelling = false
  }
}
