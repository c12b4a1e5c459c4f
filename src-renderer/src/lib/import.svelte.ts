import type { ImportLayout, ImportSummary, JobInfo, JobProgress } from '../../../src-shared/domain'
import type { LineupEvent } from '../../../src-shared/events'
import type { LineupClient } from './client'

/** How the last import ended, for the result line under the import panel. */
export interface ImportOutcome {
  jobId: number
  status: JobInfo['status']
  folder: string | null
  summary: ImportSummary | null
  error: string | null
}

/**
 * One import at a time: starting it, following its `job.progress` events, cancelling it, and the
 * outcome from `job.finished`. Events may overtake the `import.start` answer (they travel on another
 * channel), so a finish seen before the job id is known is kept and applied when it is.
 */
export class ImportState {
  folder = $state('')
  layout = $state<ImportLayout>('auto')
  /** The job being followed; null when idle. */
  jobId = $state<number | null>(null)
  starting = $state(false)
  cancelling = $state(false)
  progress = $state.raw<JobProgress | null>(null)
  outcome = $state.raw<ImportOutcome | null>(null)
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- bookkeeping only; nothing renders it
  readonly #early = new Map<number, Extract<LineupEvent, { type: 'job.finished' }>>()

  constructor(
    private readonly client: LineupClient,
    private readonly report: (err: unknown, context?: string) => void,
  ) {}

  get busy(): boolean {
    return this.starting || this.jobId !== null
  }

  /** Starts importing `folder` (default: the typed path) with the chosen layout. */
  async start(folder: string = this.folder): Promise<void> {
    const path = folder.trim()
    if (this.busy) return
    if (path === '') {
      this.report(new Error('type the path of a folder of crops first'), 'Import')
      return
    }
    this.starting = true
    this.outcome = null
    this.progress = null
    try {
      const job = await this.client.call('import.start', { folder: path, layout: this.layout })
      this.jobId = job.id
      const early = this.#early.get(job.id)
      if (early) this.#finish(early)
    } catch (err) {
      this.report(err, 'Import')
    } finally {
      this.starting = false
      this.#early.clear()
    }
  }

  /** Electron: asks the native dialog for a folder, then imports it. */
  async chooseAndStart(): Promise<void> {
    try {
      const folder = await this.client.call('dialog.chooseFolder', {})
      if (folder === null) return
      this.folder = folder
      await this.start(folder)
    } catch (err) {
      this.report(err, 'Choosing a folder')
    }
  }

  async cancel(): Promise<void> {
    if (this.jobId === null || this.cancelling) return
    this.cancelling = true
    try {
      await this.client.call('jobs.cancel', { id: this.jobId })
    } catch (err) {
      this.report(err, 'Cancelling the import')
    } finally {
      this.cancelling = false
    }
  }

  dismiss(): void {
    this.outcome = null
  }

  /** Follows an import that was already running when the view opened (e.g. after a reload). */
  async resume(): Promise<void> {
    try {
      const jobs = await this.client.call('jobs.list', { limit: 10 })
      const running = jobs.find((j) => j.status === 'running' && j.kind === 'import')
      if (running && this.jobId === null && !this.starting) {
        this.jobId = running.id
        this.folder = typeof running.params.folder === 'string' ? running.params.folder : this.folder
      }
    } catch (err) {
      this.report(err, 'Listing jobs')
    }
  }

  /** Feeds a pushed event; returns true when an import of ours finished (the caller reloads). */
  handle(event: LineupEvent): boolean {
    // Other kinds of job (embedding) have their own state.
    if (event.type === 'job.progress' && event.progress.kind !== 'import') return false
    if (event.type === 'job.finished' && event.job.kind !== 'import') return false
    if (event.type === 'job.progress') {
      if (this.jobId === null && !this.starting) this.jobId = event.progress.jobId
      if (event.progress.jobId === this.jobId || this.starting) this.progress = event.progress
      return false
    }
    if (event.type === 'job.finished') {
      if (this.starting && this.jobId === null) {
        this.#early.set(event.job.id, event)
        return true
      }
      if (event.job.id !== this.jobId) return true
      this.#finish(event)
      return true
    }
    return false
  }

  #finish(event: Extract<LineupEvent, { type: 'job.finished' }>): void {
    const { job } = event
    this.outcome = {
      jobId: job.id,
      status: job.status,
      folder: typeof job.params.folder === 'string' ? job.params.folder : null,
      // An import job's summary is an ImportSummary (the kind was checked in handle()).
      summary: (event.summary ?? job.summary) as ImportSummary | null,
      error: job.error,
    }
    this.jobId = null
    this.progress = null
    this.cancelling = false
  }
}
