import type { PersonDetail, PersonInfo } from '../../../src-shared/domain'
import type { LineupClient } from './client'
import { offerDownload } from './download'

/** The last exported case report of the open person: its file name, seal and a download link. */
export interface ExportedReport {
  personId: number
  fileName: string
  seal: string
  url: string
}

/**
 * The persons of interest (issue #6): the list (`persons.list`), the one open on the Persons page
 * with its sightings (`persons.get`), renaming and notes (`persons.update`), and the case report
 * (`report.export`) offered as a download.
 */
export class PersonsState {
  list = $state.raw<PersonInfo[]>([])
  loaded = $state(false)
  /** The person open on the Persons page. */
  openId = $state<number | null>(null)
  detail = $state.raw<PersonDetail | null>(null)
  exporting = $state(false)
  exported = $state.raw<ExportedReport | null>(null)
  #loading: Promise<void> | null = null

  constructor(
    private readonly client: LineupClient,
    private readonly report: (err: unknown, context?: string) => void,
  ) {}

  /** Loads the list (concurrent callers share one request). */
  load(): Promise<void> {
    this.#loading ??= this.client
      .call('persons.list', {})
      .then((list) => {
        this.list = list
        this.loaded = true
      })
      .catch((err: unknown) => this.report(err, 'Listing persons of interest'))
      .finally(() => (this.#loading = null))
    return this.#loading
  }

  /** The latest person whose query is `cropId`, once the list is loaded. */
  async forQuery(cropId: number): Promise<PersonInfo | null> {
    if (!this.loaded) await this.load()
    return this.list.findLast((p) => p.queryCropId === cropId) ?? null
  }

  /** Opens a person on the Persons page (and reloads their sightings when already open). */
  async open(id: number): Promise<void> {
    if (this.openId !== id) this.#dropExport()
    this.openId = id
    try {
      const detail = await this.client.call('persons.get', { id })
      if (this.openId === id) this.detail = detail
    } catch (err) {
      this.report(err, 'Opening the person')
    }
  }

  /** Reloads the list and the open person (after marks, renames, a new person). */
  async refresh(): Promise<void> {
    await this.load()
    if (this.openId !== null) await this.open(this.openId)
  }

  /** Renames or re-notes a person; resolves to the stored person, or null when refused. */
  async update(id: number, patch: { name?: string; notes?: string }): Promise<PersonInfo | null> {
    try {
      const person = await this.client.call('persons.update', { id, ...patch })
      this.list = this.list.map((p) => (p.id === id ? person : p))
      if (this.detail?.id === id) this.detail = { ...this.detail, ...person }
      return person
    } catch (err) {
      this.report(err, patch.name !== undefined ? 'Renaming the person' : 'Saving the notes')
      return null
    }
  }

  /** Exports the person's case report and offers it as a download. */
  async exportReport(id: number): Promise<void> {
    if (this.exporting) return
    this.exporting = true
    try {
      const r = await this.client.call('report.export', { personId: id })
      this.#dropExport()
      const url = offerDownload(r.html, r.fileName)
      this.exported = { personId: id, fileName: r.fileName, seal: r.seal, url }
    } catch (err) {
      this.report(err, 'Exporting the report')
    } finally {
      this.exporting = false
    }
  }

  #dropExport(): void {
    if (this.exported) URL.revokeObjectURL(this.exported.url)
    this.exported = null
  }
}
