import type { JobInfo, JobProgress, TrainPoint, TrainSummary } from '../../../src-shared/domain'
import type { LineupEvent } from '../../../src-shared/events'
import { ApiError, type LineupClient } from './client'

type Finished = Extract<LineupEvent, { type: 'job.finished' }>

/** The losses `train.start` knows (api.ts), Rank-Triplet first: the paper's, and the default. */
export const trainLosses = [
  'rank-triplet',
  'baseline',
  'contrastive',
  'triplet',
  'batch-hard',
  'quadruplet',
  'softmax',
] as const
export type TrainLoss = (typeof trainLosses)[number]

/** How the last fine-tune ended. */
export interface TrainOutcome {
  jobId: number
  status: JobInfo['status']
  /**
   * Ended by the analyst's Cancel: the job's status is 'cancelled' (older engines recorded
   * 'failed' with "training cancelled at step N…", so a Cancel that was asked for counts too).
   */
  cancelled: boolean
  summary: TrainSummary | null
  error: string | null
}

/**
 * One fine-tune at a time (`train.start`, issue #6): the refusal when the labels are too few,
 * progress and the charts' points from `job.progress` (paper Fig. 5), cancel, the summary with its
 * before/after comparison from `job.finished`, and the analyst's decision on the new version.
 */
export class TrainState {
  loss = $state<TrainLoss>('rank-triplet')
  epochs = $state(60)
  jobId = $state<number | null>(null)
  starting = $state(false)
  cancelling = $state(false)
  /** Why the engine would not start (too few labels, a run already going): shown in the panel. */
  refusal = $state<string | null>(null)
  progress = $state.raw<JobProgress | null>(null)
  /** The run's chart points in arrival order (steps sampled by the engine, every epoch's mean). */
  points = $state.raw<TrainPoint[]>([])
  outcome = $state.raw<TrainOutcome | null>(null)
  /** What the analyst did with the new version. */
  decision = $state<'activated' | 'kept' | null>(null)
  deciding = $state(false)
  /** Whether the run's dialog (charts, before/after) is shown. */
  open = $state(false)
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- bookkeeping only; nothing renders it
  readonly #early = new Map<number, Finished>()

  constructor(
    private readonly client: LineupClient,
    private readonly report: (err: unknown, context?: string) => void,
  ) {}

  get busy(): boolean {
    return this.starting || this.jobId !== null
  }

  /** The new version, once a run has finished with one. */
  get summary(): TrainSummary | null {
    return this.outcome?.status === 'done' ? this.outcome.summary : null
  }

  async start(): Promise<void> {
    if (this.busy) return
    this.starting = true
    this.refusal = null
    this.outcome = null
    this.progress = null
    this.points = []
    this.decision = null
    try {
      const epochs = Math.round(this.epochs)
      const job = await this.client.call('train.start', {
        loss: this.loss,
        ...(Number.isFinite(epochs) && epochs >= 1 ? { epochs: Math.min(1000, epochs) } : {}),
      })
      this.jobId = job.id
      this.open = true
      const early = this.#early.get(job.id)
      if (early) this.#finish(early)
    } catch (err) {
      // The engine says what is missing ("fine-tuning needs at least 2 persons…"): show it here.
      if (err instanceof ApiError) this.refusal = err.message
      else this.report(err, 'Fine-tuning')
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
      this.report(err, 'Cancelling the fine-tune')
    }
  }

  /**
   * Activates the new version through `activate` (the app's, which re-runs the search); the
   * decision is recorded only when it succeeded.
   */
  async activate(activate: (id: number) => Promise<boolean>): Promise<void> {
    const summary = this.summary
    if (!summary || this.deciding) return
    this.deciding = true
    try {
      if (await activate(summary.modelId)) this.decision = 'activated'
    } finally {
      this.deciding = false
    }
  }

  /** Keeps the current model; the new version stays in the Models panel for later. */
  keep(): void {
    if (this.summary) this.decision = 'kept'
  }

  /** Follows a fine-tune already running when the app opened (e.g. after a reload). */
  async resume(): Promise<void> {
    try {
      const jobs = await this.client.call('jobs.list', { limit: 10 })
      const running = jobs.find((j) => j.status === 'running' && j.kind === 'train')
      if (running && this.jobId === null && !this.starting) {
        this.jobId = running.id
        return
      }
      // After a reload: the last finished fine-tune's charts and before/after, from the library.
      const last = jobs.find((j) => j.kind === 'train' && j.status === 'done' && j.summary)
      if (!last) return
      const summary = last.summary as TrainSummary
      const { points } = await this.client.call('train.history', { runId: summary.runId })
      if (this.busy || this.outcome) return
      this.points = points
      this.outcome = { jobId: last.id, status: 'done', cancelled: false, summary, error: null }
    } catch (err) {
      this.report(err, 'Listing jobs')
    }
  }

  /** Feeds a pushed event; returns true when a fine-tune finished (a new model version may exist). */
  handle(event: LineupEvent): boolean {
    if (event.type === 'job.progress') {
      const p = event.progress
      if (p.kind !== 'train') return false
      if (this.jobId === null && !this.starting) this.jobId = p.jobId
      if (p.jobId === this.jobId || this.starting) {
        this.progress = p
        if (p.train) this.points = [...this.points, p.train]
      }
      return false
    }
    if (event.type === 'job.finished') {
      if (event.job.kind !== 'train') return false
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
      cancelled: job.status === 'cancelled' || (this.cancelling && job.status === 'failed'),
      // A train job's summary is a TrainSummary (the kind was checked in handle()).
      summary: (event.summary ?? job.summary) as TrainSummary | null,
      error: job.error,
    }
    this.jobId = null
    this.progress = null
    this.cancelling = false
  }
}
