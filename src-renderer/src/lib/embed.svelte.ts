import type { EmbedSummary, JobInfo } from '../../../src-shared/domain'
import type { LineupClient } from './client'
import { JobFollower, type JobFinished } from './job-follower.svelte'

/** How the last embedding job ended, for the result line under the Models panel. */
export interface EmbedOutcome {
  jobId: number
  status: JobInfo['status']
  summary: EmbedSummary | null
  error: string | null
}

/** One embedding job at a time (`embed.start`), followed by {@link JobFollower}. */
export class EmbedState extends JobFollower<EmbedOutcome> {
  constructor(client: LineupClient, report: (err: unknown, context?: string) => void) {
    super(client, report, 'embed', 'the embedding')
  }

  /** Embeds every crop that has no vector from the model yet (default: the active model). */
  async start(modelId?: number): Promise<void> {
    await this.launch(
      () => this.client.call('embed.start', modelId !== undefined ? { modelId } : {}),
      (err) => this.report(err, 'Embedding the library'),
    )
  }

  protected outcomeOf(event: JobFinished): EmbedOutcome {
    const { job } = event
    return {
      jobId: job.id,
      status: job.status,
      // An embedding job's summary is an EmbedSummary (the kind was checked in handle()).
      summary: (event.summary ?? job.summary) as EmbedSummary | null,
      error: job.error,
    }
  }
}
