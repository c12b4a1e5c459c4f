import type { EmbedSummary, ImportSummary, JobInfo, JobProgress, TrainSummary } from './domain'

/** Events pushed from the main process to the UI (IPC channel `lineup:event`, or SSE at /api/events). */
export type LineupEvent =
  | { type: 'job.progress'; progress: JobProgress }
  | { type: 'job.finished'; job: JobInfo; summary: ImportSummary | EmbedSummary | TrainSummary | null }
  | { type: 'library.changed' }

export type EventListener = (event: LineupEvent) => void
