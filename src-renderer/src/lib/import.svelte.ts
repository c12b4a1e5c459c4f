import type { ImportLayout, ImportSummary, JobInfo } from '../../../src-shared/domain'
import type { LineupClient } from './client'
import { JobFollower, type JobFinished } from './job-follower.svelte'

/** How the last import ended, for the result line under the import panel. */
export interface ImportOutcome {
  jobId: number
  status: JobInfo['status']
  folder: string | null
  summary: ImportSummary | null
  error: string | null
}

/** One import at a time (`import.start`), followed by {@link JobFollower}; the folder and layout typed. */
export class ImportState extends JobFollower<ImportOutcome> {
  folder = $state('')
  layout = $state<ImportLayout>('auto')

  constructor(client: LineupClient, report: (err: unknown, context?: string) => void) {
    super(client, report, 'import', 'the import')
  }

  /** Starts importing `folder` (default: the typed path) with the chosen layout. */
  async start(folder: string = this.folder): Promise<void> {
    const path = folder.trim()
    if (this.busy) return
    if (path === '') {
      this.report(new Error('type the path of a folder of crops first'), 'Import')
      return
    }
    await this.launch(
      () => this.client.call('import.start', { folder: path, layout: this.layout }),
      (err) => this.report(err, 'Import'),
    )
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

  /** Follows an import that was already running when the view opened (e.g. after a reload). */
  override async resume(): Promise<{ running: JobInfo | null; jobs: JobInfo[] }> {
    const r = await super.resume()
    if (r.running && r.running.id === this.jobId && typeof r.running.params.folder === 'string')
      this.folder = r.running.params.folder
    return r
  }

  protected outcomeOf(event: JobFinished): ImportOutcome {
    const { job } = event
    return {
      jobId: job.id,
      status: job.status,
      folder: typeof job.params.folder === 'string' ? job.params.folder : null,
      // An import job's summary is an ImportSummary (the kind was checked in handle()).
      summary: (event.summary ?? job.summary) as ImportSummary | null,
      error: job.error,
    }
  }
}
