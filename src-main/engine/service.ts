import { userInfo } from 'node:os'
import { readFileSync } from 'node:fs'
import type { LineupApi, Parsed } from '../../src-shared/api'
import type { AppInfo, JobProgress } from '../../src-shared/domain'
import { LineupError } from '../../src-shared/errors'
import type { EventListener, LineupEvent } from '../../src-shared/events'
import { openLibrary, type Db } from './db/open'
import { addModel } from './features/add-model'
import { startEmbed } from './jobs/embed-job'
import { startImport } from './jobs/import-job'
import { getJob, listJobs } from './jobs/jobs'
import { activateModel, activeModel, listModels } from './library/models'
import { getCrop, getThumb, librarySummary, listCrops, listIdentities } from './library/queries'
import { appendAudit } from './audit/log'
import { startTrain } from './jobs/train-job'
import { listRuns, runHistory } from './library/heads'
import { exportReport } from './report/case-report'
import { createPerson, getPerson, listPersons, markCrop, undoLastMark, updatePerson } from './library/persons'
import { LibrarySearch } from './search/library-search'

export interface ServiceOptions {
  dbPath: string
  host: AppInfo['host']
  /** Embed new crops with the active model after each import (the UI hosts: true). */
  autoEmbed?: boolean
  /** The native folder dialog (Electron only). */
  chooseFolder?: () => Promise<string | null>
  /** Who is marking (default: the OS user name). */
  analyst?: string
}

/** The app version, read once from package.json (two levels above src-main/engine or out/main). */
export function appVersion(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: string
        version?: string
      }
      if (pkg.name === 'lineup' && pkg.version) return pkg.version
    } catch {
      // try the next candidate
    }
  }
  return '0.0.0'
}

/**
 * The engine behind every host (Electron IPC, the HTTP server, tests): implements the typed
 * contract once. Inputs arrive validated by `dispatch`; this class trusts them.
 */
export class LineupService implements LineupApi {
  readonly db: Db
  private readonly listeners = new Set<EventListener>()
  private readonly running = new Map<number, { cancel(): void; finished: Promise<unknown> }>()
  readonly search: LibrarySearch

  /** Who marks, recorded with every mark and audit entry (the OS user unless the host names one). */
  readonly analyst: string

  constructor(private readonly options: ServiceOptions) {
    this.analyst = options.analyst ?? osUser()
    this.db = openLibrary(options.dbPath)
    this.search = new LibrarySearch(this.db)
  }

  /** Follows a started job: events while it runs, `job.finished` and `library.changed` at the end. */
  private follow(jobId: number, handle: { cancel(): void; finished: Promise<unknown> }): void {
    this.running.set(jobId, handle)
    const settle = (): void => {
      this.running.delete(jobId)
      const job = getJob(this.db, jobId)
      this.emit({ type: 'job.finished', job, summary: job.summary })
      this.emit({ type: 'library.changed' })
      if (job.kind === 'import' && job.status === 'done') this.embedNewCrops()
    }
    handle.finished.then(settle, settle)
  }

  /**
   * New imports are embedded incrementally: after an import, when a model is active and no
   * embedding job runs, one starts for the crops that have no vector yet. Best effort: if it cannot
   * start (e.g. another process is embedding), the analyst's Embed button still can.
   */
  private embedNewCrops(): void {
    if (!this.options.autoEmbed) return
    try {
      const model = activeModel(this.db)
      if (!model) return
      const pending = this.db
        .prepare(
          'SELECT count(*) FROM crops WHERE NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.model_id = ? AND e.crop_id = crops.id)',
        )
        .pluck()
        .get(model.id) as number
      if (pending === 0) return
      const handle = startEmbed(this.db, this.options.dbPath, model.id, this.progress)
      this.follow(handle.job.id, handle)
    } catch {
      // Another embedding job is running, or the model cannot be loaded: nothing to do here.
    }
  }

  private progress = (progress: JobProgress): void => this.emit({ type: 'job.progress', progress })

  /** Subscribes to progress and change events; returns the unsubscribe function. */
  onEvent(listener: EventListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private emit(event: LineupEvent): void {
    for (const l of this.listeners) l(event)
  }

  async 'app.info'(): Promise<AppInfo> {
    return {
      version: appVersion(),
      libraryPath: this.db.name,
      host: this.options.host,
      canChooseFolder: this.options.chooseFolder !== undefined,
    }
  }

  async 'library.summary'() {
    return librarySummary(this.db)
  }

  async 'library.crops'(input: Parsed<'library.crops'>) {
    return listCrops(this.db, input)
  }

  async 'library.crop'(input: Parsed<'library.crop'>) {
    return getCrop(this.db, input.id)
  }

  async 'library.identities'(input: Parsed<'library.identities'>) {
    return listIdentities(this.db, input.prefix, input.camera, input.limit)
  }

  async 'import.start'(input: Parsed<'import.start'>) {
    const handle = startImport(this.db, this.options.dbPath, input, this.progress)
    this.follow(handle.job.id, handle)
    return handle.job
  }

  async 'models.list'() {
    return listModels(this.db).map(({ file: _file, ...info }) => info)
  }

  async 'models.add'(input: Parsed<'models.add'>) {
    const { file: _file, ...info } = await addModel(this.db, this.options.dbPath, input)
    return info
  }

  async 'models.activate'(input: Parsed<'models.activate'>) {
    const { file: _file, ...info } = activateModel(this.db, input.id)
    appendAudit(this.db, this.analyst, 'model.activate', { model: info.key, name: info.name })
    return info
  }

  async 'embed.start'(input: Parsed<'embed.start'>) {
    const handle = startEmbed(this.db, this.options.dbPath, input.modelId, this.progress)
    this.follow(handle.job.id, handle)
    return handle.job
  }

  async 'search.query'(input: Parsed<'search.query'>) {
    const result = await this.search.query(input)
    // Every new search is logged (its later pages are the same search).
    if (input.offset === 0) {
      appendAudit(this.db, this.analyst, 'search', {
        queries: result.queries,
        rejected: input.rejectIds ?? [],
        model: result.modelKey,
        k: input.k,
        total: result.total,
        top: result.hits.slice(0, 10).map((h) => h.crop.id),
      })
    }
    return result
  }

  async 'persons.list'() {
    return listPersons(this.db)
  }

  async 'persons.get'(input: Parsed<'persons.get'>) {
    return getPerson(this.db, input.id)
  }

  async 'persons.create'(input: Parsed<'persons.create'>) {
    const person = createPerson(this.db, input, this.analyst)
    this.emit({ type: 'library.changed' })
    return person
  }

  async 'persons.update'(input: Parsed<'persons.update'>) {
    return updatePerson(this.db, input.id, input, this.analyst)
  }

  async 'marks.set'(input: Parsed<'marks.set'>) {
    return markCrop(this.db, input, this.analyst)
  }

  async 'marks.undo'(input: Parsed<'marks.undo'>) {
    return undoLastMark(this.db, input.personId, this.analyst)
  }

  async 'report.export'(input: Parsed<'report.export'>) {
    const r = exportReport(this.db, input.personId, this.analyst, input.modelId)
    const slug = r.evidence.person.name.replace(/[^\p{L}\p{N}]+/gu, '-').replace(/^-|-$/g, '') || 'person'
    return { html: r.html, seal: r.seal, fileName: `lineup-report-${slug}-${r.seal.slice(0, 8)}.html` }
  }

  async 'train.runs'() {
    return listRuns(this.db)
  }

  async 'train.history'(input: Parsed<'train.history'>) {
    return runHistory(this.db, input.runId)
  }

  async 'train.start'(input: Parsed<'train.start'>) {
    const handle = startTrain(this.db, this.options.dbPath, input, this.progress)
    this.follow(handle.job.id, handle)
    return handle.job
  }

  async 'jobs.list'(input: Parsed<'jobs.list'>) {
    return listJobs(this.db, input.limit)
  }

  async 'jobs.get'(input: Parsed<'jobs.get'>) {
    return getJob(this.db, input.id)
  }

  async 'jobs.cancel'(input: Parsed<'jobs.cancel'>) {
    const handle = this.running.get(input.id)
    if (!handle) {
      const job = getJob(this.db, input.id)
      throw new LineupError('conflict', `job ${input.id} is not running here (status: ${job.status})`)
    }
    handle.cancel()
    return getJob(this.db, input.id)
  }

  async 'dialog.chooseFolder'() {
    if (!this.options.chooseFolder) {
      throw new LineupError('unsupported', 'no folder dialog in browser mode: type the folder path instead')
    }
    return this.options.chooseFolder()
  }

  /** Thumbnail bytes for the image route / protocol (not part of the JSON contract). */
  thumb(id: number) {
    return getThumb(this.db, id)
  }

  /** Absolute path of a crop's original, for the image route / protocol. */
  originalPath(id: number): string {
    return getCrop(this.db, id).path
  }

  /** Waits for running jobs to end (cancelling them), then closes the library. */
  async close(): Promise<void> {
    const pending = [...this.running.values()]
    for (const h of pending) h.cancel()
    await Promise.allSettled(pending.map((h) => h.finished))
    this.db.close()
  }
}

function osUser(): string {
  try {
    return userInfo().username || 'analyst'
  } catch {
    return 'analyst'
  }
}
