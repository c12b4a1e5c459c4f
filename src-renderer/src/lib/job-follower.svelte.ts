import type { JobInfo, JobKind, JobProgress } from '../../../src-shared/domain'
import type { LineupEvent } from '../../../src-shared/events'
import type { LineupClient } from './client'

export type JobFinished = Extract<LineupEvent, { type: 'job.finished' }>

/**
 * One job of a kind at a time (import, embed, fine-tune): starting it, following its
 * `job.progress` events, cancelling it, and the outcome from `job.finished`. Events may overtake
 * the start answer (they travel on another channel), so a finish seen before the job id is known
 * is kept and applied when it is. Subclasses say how a start is asked for and what an outcome is.
 */
export abstract class JobFollower<O> {
  /** The job being followed; null when idle. */
  jobId = $state<number | null>(null)
  starting = $state(false)
  cancelling = $state(false)
  progress = $state.raw<JobProgress | null>(null)
  outcome = $state.raw<O | null>(null)
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- bookkeeping only; nothing renders it
  readonly #early = new Map<number, JobFinished>()

  constructor(
    protected readonly client: LineupClient,
    protected readonly report: (err: unknown, context?: string) => void,
    private readonly kind: JobKind,
    /** How the job is named in messages ("the import"). */
    private readonly noun: string,
  ) {}

  get busy(): boolean {
    return this.starting || this.jobId !== null
  }

  /** The outcome of a finished job of ours. */
  protected abstract outcomeOf(event: JobFinished): O

  /** A progress event of ours (the fine-tune also keeps its chart points). */
  protected onProgress(p: JobProgress): void {
    this.progress = p
  }

  /**
   * Starts a job with `call` (the `<kind>.start` request) and follows it. `onError` gets a refused
   * start. Returns the job, or null when it did not start.
   */
  protected async launch(
    call: () => Promise<JobInfo>,
    onError: (err: unknown) => void,
  ): Promise<JobInfo | null> {
    if (this.busy) return null
    this.starting = true
    this.outcome = null
    this.progress = null
    try {
      const job = await call()
      this.jobId = job.id
      const early = this.#early.get(job.id)
      if (early) this.#finish(early)
      return job
    } catch (err) {
      onError(err)
      return null
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
      this.report(err, `Cancelling ${this.noun}`)
    }
  }

  dismiss(): void {
    this.outcome = null
  }

  /** Follows a job of this kind already running when the view opened (e.g. after a reload); returns it. */
  async resume(): Promise<{ running: JobInfo | null; jobs: JobInfo[] }> {
    try {
      const jobs = await this.client.call('jobs.list', { limit: 10 })
      const running = jobs.find((j) => j.status === 'running' && j.kind === this.kind) ?? null
      if (running && this.jobId === null && !this.starting) this.jobId = running.id
      return { running, jobs }
    } catch (err) {
      this.report(err, 'Listing jobs')
      return { running: null, jobs: [] }
    }
  }

  /** Feeds a pushed event; returns true when a job of this kind finished (the caller reloads). */
  handle(event: LineupEvent): boolean {
    if (event.type === 'job.progress') {
      const p = event.progress
      if (p.kind !== this.kind) return false
      if (this.jobId === null && !this.starting) this.jobId = p.jobId
      if (p.jobId === this.jobId || this.starting) this.onProgress(p)
      return false
    }
    if (event.type === 'job.finished') {
      if (event.job.kind !== this.kind) return false
      if (this.starting && this.jobId === null) this.#early.set(event.job.id, event)
      else if (event.job.id === this.jobId) this.#finish(event)
      return true
    }
    return false
  }

  #finish(event: JobFinished): void {
    this.outcome = this.outcomeOf(event)
    this.jobId = null
    this.progress = null
    this.cancelling = false
  }
}
