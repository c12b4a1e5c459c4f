import type { JobInfo, JobProgress, TrainPoint, TrainSummary } from '../../../src-shared/domain'
import { ApiError, type LineupClient } from './client'
import { JobFollower, type JobFinished } from './job-follower.svelte'

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
  summary: TrainSummary | null
  error: string | null
}

/**
 * One fine-tune at a time (`train.start`, issue #6), followed by {@link JobFollower}: the refusal
 * when the labels are too few, the charts' points from `job.progress` (paper Fig. 5), the summary
 * with its before/after comparison from `job.finished`, and the analyst's decision on the new
 * version. After a reload, the last finished run's charts and comparison come back from the library.
 */
export class TrainState extends JobFollower<TrainOutcome> {
  loss = $state<TrainLoss>('rank-triplet')
  epochs = $state(60)
  /** Camera centering (the engine's default: on). */
  cameraCentering = $state(true)
  /** Why the engine would not start (too few labels, a run already going): shown in the panel. */
  refusal = $state<string | null>(null)
  /** The run's chart points in arrival order (steps sampled by the engine, every epoch's mean). */
  points = $state.raw<TrainPoint[]>([])
  /** What the analyst did with the new version. */
  decision = $state<'activated' | 'kept' | null>(null)
  deciding = $state(false)
  /** Whether the run's dialog (charts, before/after) is shown. */
  open = $state(false)

  constructor(client: LineupClient, report: (err: unknown, context?: string) => void) {
    super(client, report, 'train', 'the fine-tune')
  }

  /** The new version, once a run has finished with one. */
  get summary(): TrainSummary | null {
    return this.outcome?.status === 'done' ? this.outcome.summary : null
  }

  async start(): Promise<void> {
    if (this.busy) return
    this.refusal = null
    this.points = []
    this.decision = null
    const epochs = Math.round(this.epochs)
    const job = await this.launch(
      () =>
        this.client.call('train.start', {
          loss: this.loss,
          cameraCentering: this.cameraCentering,
          ...(Number.isFinite(epochs) && epochs >= 1 ? { epochs: Math.min(1000, epochs) } : {}),
        }),
      (err) => {
        // The engine says what is missing ("fine-tuning needs at least 2 persons…"): show it here.
        if (err instanceof ApiError) this.refusal = err.message
        else this.report(err, 'Fine-tuning')
      },
    )
    if (job) this.open = true
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

  /** Follows a running fine-tune, or shows the last finished one's charts and before/after again. */
  override async resume(): Promise<{ running: JobInfo | null; jobs: JobInfo[] }> {
    const r = await super.resume()
    if (r.running) return r
    const last = r.jobs.find((j) => j.kind === 'train' && j.status === 'done' && j.summary)
    if (!last) return r
    try {
      const summary = last.summary as TrainSummary
      const { points } = await this.client.call('train.history', { runId: summary.runId })
      if (this.busy || this.outcome) return r
      this.points = points
      this.outcome = { jobId: last.id, status: 'done', summary, error: null }
    } catch (err) {
      this.report(err, 'Loading the last fine-tune')
    }
    return r
  }

  protected override onProgress(p: JobProgress): void {
    this.progress = p
    if (p.train) this.points = [...this.points, p.train]
  }

  protected outcomeOf(event: JobFinished): TrainOutcome {
    const { job } = event
    return {
      jobId: job.id,
      status: job.status,
      // A train job's summary is a TrainSummary (the kind was checked in handle()).
      summary: (event.summary ?? job.summary) as TrainSummary | null,
      error: job.error,
    }
  }
}
