import type { ModelInfo } from '../../../src-shared/domain'
import type { LineupClient } from './client'
import { parseInputSize } from './search-params'

/**
 * The library's embedding models: the list (`models.list`), adding an .onnx file or the built-in
 * descriptor (`models.add`, which loads and probes the file in a child process and may take
 * seconds), and switching the active one. Search and embedding use the active model.
 */
export class ModelsState {
  list = $state.raw<ModelInfo[]>([])
  loaded = $state(false)
  /** The add form: path of the .onnx file, optional "256x128" input size and display name. */
  path = $state('')
  inputSize = $state('')
  name = $state('')
  /** Why the form was not sent (a field the engine would refuse anyway); null when fine. */
  problem = $state<string | null>(null)
  adding = $state(false)
  activating = $state<number | null>(null)

  constructor(
    private readonly client: LineupClient,
    private readonly report: (err: unknown, context?: string) => void,
  ) {}

  get active(): ModelInfo | null {
    return this.list.find((m) => m.active) ?? null
  }

  async load(): Promise<void> {
    try {
      this.list = await this.client.call('models.list', {})
      this.loaded = true
    } catch (err) {
      this.report(err, 'Listing models')
    }
  }

  /** Adds the .onnx file typed in the form (and makes it active); true when it was added. */
  async addFile(): Promise<boolean> {
    const path = this.path.trim()
    if (path === '') {
      this.problem = 'type the path of an .onnx file on this computer'
      return false
    }
    const size = parseInputSize(this.inputSize)
    if (!size.ok) {
      this.problem = size.message
      return false
    }
    const name = this.name.trim()
    const added = await this.#add({
      path,
      ...(size.value ? { inputSize: size.value } : {}),
      ...(name !== '' ? { name } : {}),
    })
    if (added) {
      this.path = ''
      this.inputSize = ''
      this.name = ''
    }
    return added
  }

  /** Adds the built-in colour-and-texture descriptor (needs no file) and makes it active. */
  addBuiltin(): Promise<boolean> {
    return this.#add({ path: 'builtin' })
  }

  async activate(id: number): Promise<boolean> {
    if (this.activating !== null) return false
    this.activating = id
    try {
      await this.client.call('models.activate', { id })
      await this.load()
      return true
    } catch (err) {
      this.report(err, 'Activating the model')
      return false
    } finally {
      this.activating = null
    }
  }

  async #add(input: { path: string; inputSize?: [number, number]; name?: string }): Promise<boolean> {
    if (this.adding) return false
    this.adding = true
    this.problem = null
    try {
      await this.client.call('models.add', { ...input, activate: true })
      await this.load()
      return true
    } catch (err) {
      this.report(err, input.path === 'builtin' ? 'Adding the built-in descriptor' : 'Adding the model')
      return false
    } finally {
      this.adding = false
    }
  }
}
