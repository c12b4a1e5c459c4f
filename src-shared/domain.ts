/** Domain types shared by the engine and the UI. Plain data: they cross IPC and HTTP as JSON. */

/** What a file name says about a crop (Market-1501: `0000` distractor, `-1` junk). */
export type CropKind = 'labelled' | 'distractor' | 'junk' | 'unlabelled'

export const importLayouts = ['auto', 'market1501', 'generic'] as const
export type ImportLayout = (typeof importLayouts)[number]

export interface CropSummary {
  id: number
  camera: string | null
  identity: string | null
  kind: CropKind
  width: number
  height: number
}

export interface CropDetail extends CropSummary {
  /** Absolute path of the original file at import time. */
  path: string
  /** Path relative to the import root (the source). */
  relPath: string
  sourceRoot: string
  sha256: string
  bytes: number
  format: string
  sequence: number | null
  frame: number | null
  box: number | null
  /** ISO 8601 when the layout gives a time (crops.csv), else null. */
  timestamp: string | null
  importedAt: string
  jobId: number
}

export interface CameraFacet {
  name: string
  count: number
}

export interface LibrarySummary {
  crops: number
  identities: number
  cameras: CameraFacet[]
  /** Crops with no camera (generic layout, files at the root without crops.csv). */
  noCamera: number
  kinds: Record<CropKind, number>
  sources: { id: number; root: string; crops: number }[]
}

export interface CropPage {
  total: number
  offset: number
  items: CropSummary[]
}

export interface IdentityFacet {
  identity: string
  count: number
}

export interface SkippedFile {
  path: string
  reason: string
}

/** The `--json` summary line of `lineup import` and the result of an import job. */
export interface ImportSummary {
  imported: number
  duplicates: number
  skipped: SkippedFile[]
  /** Totals of the whole library after the import. */
  crops: number
  identities: number
  cameras: number
}

export type JobStatus = 'running' | 'done' | 'cancelled' | 'failed' | 'interrupted'
export type JobKind = 'import' | 'embed' | 'train'

/** How an ONNX backbone is fed (DESIGN.md §3); the built-in descriptor has no settings. */
export interface OnnxModelConfig {
  /** Graph input and output names (default: the model's first input and output). */
  input?: string
  output?: string
  /** Input height and width in pixels, e.g. [256, 128]. */
  inputSize: [number, number]
  /** Per-channel mean and standard deviation (RGB, on values scaled to [0, 1]). */
  mean: [number, number, number]
  std: [number, number, number]
}

/** How a fine-tuned model version was made (models of kind 'head'). */
export interface HeadModelConfig {
  baseKey: string
  loss: string
  seed: number
  runId: number | null
  inDim: number
}

export interface ModelInfo {
  id: number
  /**
   * What produced the vectors: the .onnx file's SHA-256, `builtin:<name>@<version>`, or for a
   * fine-tuned version `head:<SHA-256 of the head's weights>` (on top of its base model).
   */
  key: string
  kind: 'onnx' | 'builtin' | 'head'
  /** A fine-tuned version's base model (kind 'head' only). */
  baseModelId: number | null
  name: string
  dim: number
  config: OnnxModelConfig | HeadModelConfig | Record<string, never>
  active: boolean
  createdAt: string
  /** Bytes of the stored model file (ONNX only). */
  bytes: number | null
  /** Crops of the library that have a vector from this model. */
  embedded: number
}

/** Result of an embedding job. */
export interface EmbedSummary {
  modelKey: string
  embedded: number
  skipped: { cropId: number; path: string; reason: string }[]
  /** Crops of the library with a vector from this model, after the job. */
  total: number
  crops: number
}

export interface JobInfo {
  id: number
  kind: JobKind
  status: JobStatus
  params: Record<string, unknown>
  done: number
  total: number
  startedAt: string
  finishedAt: string | null
  error: string | null
  summary: ImportSummary | EmbedSummary | TrainSummary | null
}

export interface JobProgress {
  jobId: number
  kind: JobKind
  phase: 'scanning' | 'importing' | 'embedding' | 'training' | 'finishing'
  done: number
  total: number
  imported: number
  duplicates: number
  skipped: number
  /** Files per second over the run so far. */
  rate: number
  /** Seconds left at the current rate; null until it can be estimated. */
  etaSeconds: number | null
  /** A fine-tune's latest online metrics (paper Fig. 5): the step's, and at an epoch's end the epoch's. */
  train?: TrainPoint
}

/** One point of a fine-tune's charts. */
export interface TrainPoint {
  type: 'step' | 'epoch'
  step: number
  epoch: number
  loss: number | null
  batchMAP: number
  batchR1: number
  misranked: number
  /** Epoch points: retrieval mAP / R1 among the held-out persons (null when none are held out). */
  valMAP?: number | null
  valR1?: number | null
}

/** Before/after on the analyst's own labels: each held-out person's query against the library. */
export interface LabelComparison {
  /** True when the persons compared were held out of training; false when too few persons existed. */
  heldOut: boolean
  persons: {
    personId: number
    name: string
    before: { AP: number; R1: number }
    after: { AP: number; R1: number }
    /** Where each confirmed match ranked before and after (1 = first). */
    matches: { cropId: number; before: number; after: number }[]
  }[]
  before: { mAP: number; R1: number }
  after: { mAP: number; R1: number }
}

/** A fine-tune as recorded in the library (training_runs). */
export interface TrainRunInfo {
  id: number
  baseModelId: number
  resultModelId: number | null
  status: 'running' | 'finished' | 'failed' | 'cancelled'
  loss: string
  seed: number
  backend: string | null
  startedAt: string
  finishedAt: string | null
  steps: number
  trainSeconds: number | null
  error: string | null
}

/** Result of a fine-tune job. */
export interface TrainSummary {
  runId: number
  modelId: number
  modelName: string
  baseModelId: number
  steps: number
  trainSeconds: number
  backend: string
  embedded: number
  /**
   * Camera centering of the new version: the cameras with a mean of their own (others use the
   * library's mean); null when the run did not centre, absent from runs made before centering
   * existed (which did not centre either).
   */
  cameraCentering?: string[] | null
  comparison: LabelComparison
}

export interface AppInfo {
  version: string
  libraryPath: string
  host: 'electron' | 'browser'
  /** True where a native folder dialog exists (Electron); browser mode uses a path field. */
  canChooseFolder: boolean
}

export interface SearchHit {
  rank: number
  crop: CropSummary & { timestamp: string | null }
  /** Squared Euclidean distance between L2-normalised vectors (= 2 − 2·cosine), in [0, 4]. */
  distance: number
}

export interface SearchResult {
  /** The model that produced the vectors (its key: file SHA-256 or builtin name@version). */
  modelKey: string
  modelName: string
  queries: number[]
  /** Crops that passed the filters (the length of the full ranking). */
  total: number
  offset: number
  hits: SearchHit[]
  /** Query crops with no vector yet (embed the library first); they were left out of the query. */
  missing: number[]
  milliseconds: number
}

/** An analyst's verdict on one result for one person of interest. */
export const verdicts = ['same', 'different', 'unsure'] as const
export type Verdict = (typeof verdicts)[number]

/** One marking decision as stored (append-only); 'cleared' is an undo back to unmarked. */
export interface MarkInfo {
  id: number
  personId: number
  cropId: number
  verdict: Verdict | 'cleared'
  analyst: string
  markedAt: string
  modelId: number | null
  rank: number | null
  undoOf: number | null
}

export interface PersonInfo {
  id: number
  name: string
  notes: string
  queryCropId: number
  createdAt: string
  createdBy: string
  updatedAt: string
  /** Crops currently marked same (the query crop not included), different, unsure. */
  confirmed: number
  rejected: number
  unsure: number
}

/** One confirmed sighting of a person (the query crop or a crop marked same). */
export interface Sighting {
  crop: CropSummary & { timestamp: string | null; sequence: number | null; frame: number | null }
  /** The mark that confirmed it; null for the query crop. */
  mark: MarkInfo | null
}

export interface PersonDetail extends PersonInfo {
  /** Confirmed sightings ordered by time (timestamp, then sequence and frame, then crop id). */
  sightings: Sighting[]
  /** Current verdict per crop (crop id → verdict), for the marks shown on a ranking. */
  verdicts: Record<number, Verdict>
}
