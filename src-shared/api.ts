/**
 * The one typed contract between the UI and the main process (STYLE.md §2).
 *
 * Every method is declared once here: its name (which is also the IPC channel and the HTTP route
 * `/api/<name>`), the zod schema of its input, and its result type. The engine implements
 * {@link LineupApi}; the preload, the HTTP server and the renderer's client are all derived from
 * {@link methods} and {@link dispatch}, so a method cannot exist on one side only.
 */
import { z } from 'zod'
import type {
  AppInfo,
  CropDetail,
  CropPage,
  IdentityFacet,
  ImportSummary,
  JobInfo,
  LibrarySummary,
  MarkInfo,
  ModelInfo,
  PersonDetail,
  PersonInfo,
  SearchResult,
  TrainPoint,
  TrainRunInfo,
} from './domain'
import { importLayouts, verdicts } from './domain'
import { LineupError, toErrorBody, type Envelope } from './errors'

const id = z.number().int().positive()
const none = z.object({}).strict()

export const schemas = {
  'app.info': none,
  'library.summary': none,
  'library.crops': z
    .object({
      camera: z.string().min(1).max(200).nullable().optional(),
      identity: z.string().min(1).max(200).nullable().optional(),
      offset: z.number().int().min(0).default(0),
      limit: z.number().int().min(1).max(2000).default(200),
    })
    .strict(),
  'library.crop': z.object({ id }).strict(),
  'library.identities': z
    .object({
      prefix: z.string().max(200).default(''),
      camera: z.string().min(1).max(200).nullable().optional(),
      limit: z.number().int().min(1).max(5000).default(500),
    })
    .strict(),
  'import.start': z
    .object({
      folder: z.string().min(1, 'folder is required: give the path of a folder of crops'),
      layout: z.enum(importLayouts).default('auto'),
    })
    .strict(),
  'jobs.list': z.object({ limit: z.number().int().min(1).max(500).default(50) }).strict(),
  'jobs.get': z.object({ id }).strict(),
  'jobs.cancel': z.object({ id }).strict(),
  'dialog.chooseFolder': none,
  'models.list': none,
  'models.add': z
    .object({
      /** Path of an .onnx file on the analyst's machine, or 'builtin' for the built-in descriptor. */
      path: z.string().min(1, 'path is required: the .onnx file to import, or "builtin"'),
      name: z.string().min(1).max(200).optional(),
      inputSize: z.tuple([z.number().int().min(8).max(4096), z.number().int().min(8).max(4096)]).optional(),
      mean: z.tuple([z.number(), z.number(), z.number()]).optional(),
      std: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]).optional(),
      input: z.string().min(1).optional(),
      output: z.string().min(1).optional(),
      activate: z.boolean().default(true),
    })
    .strict(),
  'models.activate': z.object({ id }).strict(),
  'embed.start': z.object({ modelId: id.optional() }).strict(),
  'search.query': z
    .object({
      /** One crop, or several confirmed crops of the same person (multi-query fusion). */
      cropIds: z.array(id).min(1, 'give at least one query crop').max(100),
      k: z.number().int().min(1).max(10_000).default(100),
      offset: z.number().int().min(0).default(0),
      fusion: z.enum(['mean', 'max']).default('mean'),
      cameras: z.array(z.string().min(1).max(200)).max(1000).optional(),
      excludeQueryCameras: z.boolean().default(false),
      identity: z.string().min(1).max(200).optional(),
      /** ISO 8601 bounds on crops' timestamps (crops without a time are excluded when set). */
      from: z.iso.datetime({ offset: true }).optional(),
      to: z.iso.datetime({ offset: true }).optional(),
      excludeQueries: z.boolean().default(true),
      /**
       * Crops the analyst rejected for this query: with any, the ranking uses relevance feedback
       * (the query crops' mean minus a share of the rejected ones', then look-alikes of rejected
       * crops pushed down; engine/search/feedback.ts).
       */
      rejectIds: z.array(id).max(10_000).optional(),
      modelId: id.optional(),
    })
    .strict(),
  'persons.list': none,
  'persons.get': z.object({ id }).strict(),
  /** A person of interest, created from a query crop (their first sighting). */
  'persons.create': z
    .object({
      queryCropId: id,
      name: z.string().trim().min(1).max(200).optional(),
      notes: z.string().max(20_000).optional(),
    })
    .strict(),
  'persons.update': z
    .object({
      id,
      name: z.string().trim().min(1, 'a person needs a name').max(200).optional(),
      notes: z.string().max(20_000).optional(),
    })
    .strict(),
  /** Marks one result for a person: stored at once, with its audit entry. */
  'marks.set': z
    .object({
      personId: id,
      cropId: id,
      verdict: z.enum(verdicts),
      /** The model whose ranking the mark was made on, and the crop's rank there. */
      modelId: id.optional(),
      rank: z.number().int().min(1).optional(),
    })
    .strict(),
  /**
   * Fine-tunes a head on the library's persons of interest (their rejections as extra negatives),
   * on a worker: progress events carry the charts' points; the job's summary has the new model
   * version and the before/after comparison on held-out persons.
   */
  'train.start': z
    .object({
      modelId: id.optional(),
      loss: z
        .enum(['rank-triplet', 'baseline', 'contrastive', 'triplet', 'batch-hard', 'quadruplet', 'softmax'])
        .default('rank-triplet'),
      epochs: z.number().int().min(1).max(1000).default(60),
      seed: z.number().int().min(0).max(0xffffffff).default(1),
      /** Centre each crop on its camera's mean, measured on this library, before the head (default on). */
      cameraCentering: z.boolean().optional(),
    })
    .strict(),
  /**
   * A person's case report: one self-contained HTML file (the UI offers it as a download); the
   * export is logged. `modelId` = the version the matches were made with (default: the active one).
   */
  'report.export': z.object({ personId: id, modelId: id.optional() }).strict(),
  /** The library's fine-tunes, newest first. */
  'train.runs': none,
  /** A fine-tune's stored online metrics, as the chart points the live run streamed. */
  'train.history': z.object({ runId: id }).strict(),
  /** Undoes the person's latest mark (restores the verdict before it); null when nothing is left to undo. */
  'marks.undo': z.object({ personId: id }).strict(),
} as const

export type Method = keyof typeof schemas
export const methods = Object.keys(schemas) as Method[]

/** What each method resolves to. */
export interface Results {
  'app.info': AppInfo
  'library.summary': LibrarySummary
  'library.crops': CropPage
  'library.crop': CropDetail
  'library.identities': IdentityFacet[]
  'import.start': JobInfo
  'jobs.list': JobInfo[]
  'jobs.get': JobInfo
  'jobs.cancel': JobInfo
  /** The chosen folder, or null when the analyst closed the dialog. */
  'dialog.chooseFolder': string | null
  'models.list': ModelInfo[]
  'models.add': ModelInfo
  'models.activate': ModelInfo
  'embed.start': JobInfo
  'search.query': SearchResult
  'persons.list': PersonInfo[]
  'persons.get': PersonDetail
  'persons.create': PersonInfo
  'persons.update': PersonInfo
  'marks.set': MarkInfo
  'marks.undo': MarkInfo | null
  'train.start': JobInfo
  'train.runs': TrainRunInfo[]
  'train.history': { run: TrainRunInfo; points: TrainPoint[] }
  'report.export': { html: string; seal: string; fileName: string }
}

/** Input as a caller writes it (defaults optional). */
export type Input<M extends Method> = z.input<(typeof schemas)[M]>
/** Input as the engine receives it (validated, defaults filled in). */
export type Parsed<M extends Method> = z.output<(typeof schemas)[M]>

/** The service every host implements once. */
export type LineupApi = { [M in Method]: (input: Parsed<M>) => Promise<Results[M]> }

/** Narrows an untrusted method name, or throws an `invalid-input` error listing the known ones. */
export function asMethod(name: unknown): Method {
  if (typeof name === 'string' && Object.hasOwn(schemas, name)) return name as Method
  throw new LineupError(
    'invalid-input',
    `unknown method ${JSON.stringify(name)}; known: ${methods.join(', ')}`,
  )
}

/** Formats zod issues as one readable sentence naming each field. */
export function describeIssues(method: string, error: z.ZodError): string {
  const parts = error.issues.map((issue) => {
    const where = issue.path.length > 0 ? issue.path.join('.') : 'input'
    return `${where}: ${issue.message}`
  })
  return `invalid input for ${method}: ${parts.join('; ')}`
}

/** Validates `raw` against the method's schema; throws `invalid-input` naming the bad fields. */
export function parseInput<M extends Method>(method: M, raw: unknown): Parsed<M> {
  const result = schemas[method].safeParse(raw ?? {})
  if (!result.success) throw new LineupError('invalid-input', describeIssues(method, result.error))
  return result.data as Parsed<M>
}

/**
 * The single entry point both transports use: validate at the edge, call the service,
 * and wrap whatever happens in an envelope. Never throws.
 */
export async function dispatch(api: LineupApi, name: unknown, raw: unknown): Promise<Envelope<unknown>> {
  try {
    const method = asMethod(name)
    const input = parseInput(method, raw)
    const handler = api[method] as (input: unknown) => Promise<unknown>
    const value = await handler.call(api, input)
    return { ok: true, value: value === undefined ? null : value }
  } catch (err) {
    return { ok: false, error: toErrorBody(err) }
  }
}

export type { ImportSummary }
