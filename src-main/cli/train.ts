import { mkdirSync, rmSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import { createHash } from 'node:crypto'
import { LineupError } from '../../src-shared/errors'
import { openLibrary, type Db } from '../engine/db/open'
import { addModel } from '../engine/features/add-model'
import { cacheRoot } from '../engine/features/feature-cache'
import { resizeMethods } from '../engine/features/preprocess'
import { embedFromBase, finishRun, saveHeadModel, startRun, storeRunMetrics } from '../engine/library/heads'
import { activeModel, resolveModel, type StoredModel } from '../engine/library/models'
import { backendFromEnv, describeRuntime, loadTf } from '../engine/ml/tf/backend'
import { squaredEuclidean } from '../engine/ranking/distances'
import { evaluateProtocol } from '../engine/ranking/protocol'
import {
  defaultTrainConfig,
  trainLossNames,
  type TrainConfig,
  type TrainLossName,
} from '../engine/training/config'
import { applyHeadOnnx } from '../engine/ml/onnx/head-applier'
import {
  centerRows,
  fitCentering,
  hashCentering,
  MIN_CAMERA_CROPS,
  type CameraCentering,
} from '../engine/training/centering'
import { withCentering } from '../engine/training/head'
import { writeHeadFolder } from '../engine/training/head-folder'
import { libraryTrainingData } from '../engine/training/library-data'
import { cameraNames, libraryCentering } from '../engine/training/persons-data'
import {
  runFingerprint,
  trainHead,
  type TrainData,
  type TrainEvent,
  type TrainResult,
} from '../engine/training/trainer'
import { numberIn, oneOf, parse, parseSize, parseTriple, positiveInt, UsageError, wholeNumber } from './args'
import { onnxFlags, openBackbone, splitFeatures } from './backbone'
import { readSplit } from './eval-data'

export const trainUsage = `lineup train <dataset-root> (--model <file.onnx> | --builtin) [options]
lineup train --db <library-file> [--model <id|name|key-prefix>] [options]

Fine-tunes a projection head (FC to 256-d, L2-normalised) on cached backbone features with the
Rank-Triplet loss (or another, --loss), on the fastest TensorFlow.js backend this machine has.

On a dataset folder in the Market-1501 layout it trains on bounding_box_train/ (a share of the
identities held out for validation and early stopping), and evaluates query/ against
bounding_box_test/ before and after. With --db as well, the result is saved to that library as a
new model version of the backbone. On a library alone (--db, no folder) it trains on the library's
labelled crops with the vectors of --model (default: the active model), reports held-out
identities before and after, saves the version and computes its vectors for the whole library.

A run keeps a checkpoint (in --out, or in the cache folder): killed or interrupted, the same
command resumes it from the last completed epoch and ends with the same number of steps.

  --loss NAME        ${trainLossNames.join(', ')} (default rank-triplet)
  --epochs N         most epochs (default 80; early stopping on validation mAP usually ends sooner)
  --seed N           makes a run repeatable on the same backend (default 1)
  --lr X             Adam learning rate (default 0.0003; ×0.1 every --lr-step epochs, default 50)
  --lr-step N        epochs between learning-rate drops
  --weight-decay X   L2 weight decay (default 0.0005)
  --margin M         the loss's margin on squared distances of unit vectors (default per loss)
  --dim N            the head's output size (default 256, at most the backbone's)
  --patience N       epochs without a better validation mAP before stopping (default 15; 0 = never)
  --val-share X      share of identities held out for validation (default 0.15)
  --p N, --k N       identities per batch and images per identity (default 32 × 4)
  --camera-centering centre each crop on its camera's mean before the head (the means measured on the
                     training split, or on the library with --db; the UI's fine-tune does this by default)
  --out DIR          also save the head as a portable folder (manifest.json, head.bin, history.json;
                     centering.bin with --camera-centering)
  --fresh            discard this run's checkpoint and start again
  --no-cache         embed the images afresh instead of reading the feature cache
  --json             progress as JSON lines; the last line is
                     {"before":{"R1","mAP"},"after":{"R1","mAP"},"train_seconds","backend","steps",...}
ONNX options as for lineup eval: --input-size HxW --mean R,G,B --std R,G,B --input NAME --output NAME
--resize METHOD --batch N --threads N. Backend: LINEUP_TF_BACKEND=auto|tfjs-node-gpu|tfjs-node|wasm|cpu.`

type Figures = { R1: number; mAP: number }

/** `lineup train`: 0 when the model version is saved, 1 on an error, 130 when interrupted. */
export async function trainCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    model: { type: 'string' },
    builtin: { type: 'boolean', default: false },
    db: { type: 'string' },
    loss: { type: 'string' },
    epochs: { type: 'string' },
    seed: { type: 'string' },
    lr: { type: 'string' },
    'lr-step': { type: 'string' },
    'weight-decay': { type: 'string' },
    margin: { type: 'string' },
    dim: { type: 'string' },
    patience: { type: 'string' },
    'val-share': { type: 'string' },
    p: { type: 'string' },
    k: { type: 'string' },
    out: { type: 'string' },
    'camera-centering': { type: 'boolean', default: false },
    fresh: { type: 'boolean', default: false },
    'no-cache': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    ...onnxFlags,
  })
  if (positionals.length > 1)
    throw new UsageError(`give one dataset folder (got ${positionals.length} arguments)`)
  const root = positionals[0]
  if (!root && !values.db)
    throw new UsageError(
      'give a dataset folder (with bounding_box_train/), or --db <library-file> to train on its labels',
    )
  if (root && values.builtin && values.model)
    throw new UsageError('give either --model <file.onnx> or --builtin, not both')
  if (root && !values.builtin && !values.model)
    throw new UsageError('give the backbone: --model <file.onnx>, or --builtin')
  if (!root && values.builtin)
    throw new UsageError('--builtin applies to a dataset folder; with --db use --model <id|name>')
  if (root && values.db && values['camera-centering'])
    throw new UsageError(
      "--camera-centering with a dataset folder and --db would give the library the dataset's camera means: " +
        'train on the library alone (--db without a folder: the means come from the library), or leave out --db',
    )
  const onnxOnly = ['input-size', 'mean', 'std', 'input', 'output', 'resize', 'batch', 'threads'] as const
  const misplaced = onnxOnly.filter((f) => values[f] !== undefined)
  if ((values.builtin || !root) && misplaced.length > 0)
    throw new UsageError(
      `${misplaced.map((f) => `--${f}`).join(', ')} only apply to --model <file.onnx> on a dataset folder`,
    )
  const loss = oneOf('--loss', values.loss, trainLossNames, 'rank-triplet') as TrainLossName
  try {
    backendFromEnv() // a bad LINEUP_TF_BACKEND is reported before any work
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  const overrides: Partial<TrainConfig> = {
    epochs: positiveInt('--epochs', values.epochs),
    seed: wholeNumber('--seed', values.seed),
    lr: numberIn('--lr', values.lr, 1e-7, 0.5),
    lrStep: positiveInt('--lr-step', values['lr-step']),
    weightDecay: numberIn('--weight-decay', values['weight-decay'], 0, 0.5),
    margin: numberIn('--margin', values.margin, 0, 4),
    outDim: positiveInt('--dim', values.dim),
    patience: wholeNumber('--patience', values.patience),
    valShare: numberIn('--val-share', values['val-share'], 0, 0.8),
    p: positiveInt('--p', values.p),
    k: positiveInt('--k', values.k),
  }
  if (overrides.seed !== undefined && overrides.seed > 0xffffffff)
    throw new UsageError(`--seed must be at most 4294967295 (got ${values.seed})`)
  if (overrides.p !== undefined && overrides.p < 2)
    throw new UsageError('--p must be at least 2 identities per batch')
  if (overrides.k !== undefined && overrides.k < 2)
    throw new UsageError('--k must be at least 2 images per identity')
  const json = values.json === true
  const log = new TrainLog(json)

  const db = values.db ? openLibrary(values.db, { mustExist: true }) : null
  try {
    if (root) {
      return await trainOnFolder(root, values, loss, overrides, db, log)
    }
    return await trainOnLibrary(db!, values, loss, overrides, log)
  } finally {
    db?.close()
  }
}

function configFor(loss: TrainLossName, dim: number, overrides: Partial<TrainConfig>): TrainConfig {
  const config = defaultTrainConfig(loss, dim)
  for (const [k, v] of Object.entries(overrides))
    if (v !== undefined) (config as unknown as Record<string, unknown>)[k] = v
  if (config.outDim > dim)
    throw new UsageError(`--dim must be at most the backbone's ${dim} (got ${config.outDim})`)
  return config
}

interface TrainValues {
  model?: string
  out?: string
  'camera-centering'?: boolean
  fresh?: boolean
  'no-cache'?: boolean
  db?: string
  'input-size'?: string
  mean?: string
  std?: string
  input?: string
  output?: string
  resize?: string
  batch?: string
  threads?: string
}

async function trainOnFolder(
  root: string,
  values: TrainValues,
  loss: TrainLossName,
  overrides: Partial<TrainConfig>,
  db: Db | null,
  log: TrainLog,
): Promise<number> {
  const train = readSplit(root, 'bounding_box_train')
  const query = readSplit(root, 'query')
  const gallery = readSplit(root, 'bounding_box_test')
  const std = parseTriple('--std', values.std)
  if (std?.some((s) => s <= 0)) throw new UsageError(`--std values must be > 0 (got "${values.std}")`)
  log.note('checking the backbone…')
  const backbone = await openBackbone({
    model: values.model,
    input: values.input,
    output: values.output,
    inputSize: parseSize(values['input-size']),
    mean: parseTriple('--mean', values.mean),
    std,
    resize: oneOf('--resize', values.resize, resizeMethods, 'bilinear'),
    batchSize: positiveInt('--batch', values.batch),
    threads: positiveInt('--threads', values.threads),
  })
  const { extractor } = backbone
  const dim = extractor.dim
  const config = configFor(loss, dim, overrides)
  const cache = values['no-cache'] !== true
  const total = train.files.length + query.files.length + gallery.files.length
  let trainF, queryF, galleryF
  try {
    let done = 0
    const step = (n: number) => log.progress(`backbone features ${(done += n)}/${total}`)
    trainF = await splitFeatures(backbone, train.files, cache, step)
    queryF = await splitFeatures(backbone, query.files, cache, step)
    galleryF = await splitFeatures(backbone, gallery.files, cache, step)
  } finally {
    await extractor.close()
  }
  const evaluate = (q: Float32Array, g: Float32Array, d: number): Figures => {
    const r = evaluateProtocol(
      {
        distmat: squaredEuclidean(q, g, d),
        qPids: query.pids,
        gPids: gallery.pids,
        qCams: query.cams,
        gCams: gallery.cams,
      },
      { maxRank: 1 },
    )
    if (r.queries === 0)
      throw new LineupError(
        'invalid-input',
        `no query of ${root} has a valid match in the gallery: check the file names`,
      )
    return { R1: r.cmc[0]!, mAP: r.mAP }
  }
  const before = evaluate(queryF.features, galleryF.features, dim)
  log.line(
    `${backbone.described}\nbefore: ${fmt(before)} (${query.files.length} queries × ${gallery.files.length} gallery)`,
  )

  const n = train.files.length
  const centering = values['camera-centering']
    ? fitCentering(trainF.features, n, dim, train.cameras)
    : undefined
  let centredOnly: Figures | null = null
  if (centering) {
    centredOnly = evaluate(
      centerRows(centering, queryF.features, query.files.length, query.cameras),
      centerRows(centering, galleryF.features, gallery.files.length, gallery.cameras),
      dim,
    )
    log.line(`camera centering alone (${describeCentering(centering)}): ${fmt(centredOnly)}`)
  }
  const data: TrainData = {
    features: centering ? centerRows(centering, trainF.features, n, train.cameras) : trainF.features,
    dim,
    identities: train.pids,
    cams: train.cams,
  }
  const keyHash = createHash('sha256').update(`${extractor.key}\n${trainF.key}`)
  if (centering) hashCentering(keyHash, centering)
  const dataKey = keyHash.digest('hex')
  const checkpoint = checkpointFile(values.out, runFingerprint(config, dataKey))
  if (values.fresh) rmSync(checkpoint, { force: true })
  const trained = await runTraining(data, config, dataKey, checkpoint, log)
  if (trained === null) return 130
  const result = centred(trained, centering)

  const after = evaluate(
    await applyHeadOnnx(result.head, queryF.features, query.files.length, query.cameras),
    await applyHeadOnnx(result.head, galleryF.features, gallery.files.length, gallery.cameras),
    result.head.outDim,
  )
  log.line(`after:  ${fmt(after)}`)
  const training = { ...trainingRecord(config, result, basename(resolve(root))), centredOnly }
  if (values.out) {
    writeHeadFolder(
      values.out,
      result.head,
      {
        backbone: { kind: backbone.kind, key: extractor.key, dim, preprocess: backbone.preprocess },
        training,
        metrics: { before, after },
      },
      { steps: result.stepHistory, epochs: result.epochHistory, initialVal: result.initialVal },
    )
    log.line(`saved the head to ${values.out}`)
  }
  let saved: StoredModel | null = null
  if (db) {
    const pre = backbone.preprocess as {
      input: string
      output: string
      inputSize: [number, number]
      mean: [number, number, number]
      std: [number, number, number]
    }
    const base = await addModel(
      db,
      values.db!,
      values.model ? { path: values.model, activate: false, ...pre } : { path: 'builtin', activate: false },
    )
    // (--camera-centering is refused with a folder and --db: this run never centres.)
    const runId = startRun(db, base, config, config, result.backend)
    storeRunMetrics(db, runId, result.stepHistory, result.epochHistory)
    saved = saveVersion(db, base, runId, config, result, before, after, `seed ${config.seed}`)
    log.line(
      `saved to the library as model ${saved.id} (${saved.name}); lineup embed --db … --model ${saved.id} computes its vectors`,
    )
  }
  log.final({
    before,
    after,
    centredOnly,
    result,
    config,
    savedModel: saved?.id ?? null,
    out: values.out ?? null,
  })
  return 0
}

async function trainOnLibrary(
  db: Db,
  values: TrainValues,
  loss: TrainLossName,
  overrides: Partial<TrainConfig>,
  log: TrainLog,
): Promise<number> {
  const base = values.model ? resolveModel(db, values.model) : activeModel(db)
  if (!base)
    throw new LineupError(
      'invalid-input',
      'this library has no active model: give --model <id|name>, or add and embed one first',
    )
  const labelled = libraryTrainingData(db, base)
  const config = configFor(loss, base.dim, overrides)
  let centering: CameraCentering | undefined
  if (values['camera-centering']) {
    centering = libraryCentering(db, base)
    log.line(`camera centering: ${describeCentering(centering)}`)
  }
  const data = centering
    ? {
        ...labelled,
        features: centerRows(
          centering,
          labelled.features,
          labelled.cropIds.length,
          cameraNames(db, labelled.cropIds),
        ),
      }
    : labelled
  // The means depend on the whole library, not only its labelled crops: they are part of the key,
  // so a run is not resumed on vectors centred otherwise than its earlier epochs were.
  const keyHash = createHash('sha256').update(`${base.key}\n${data.key}`)
  if (centering) hashCentering(keyHash, centering)
  const dataKey = keyHash.digest('hex')
  const checkpoint = checkpointFile(values.out, runFingerprint(config, dataKey))
  if (values.fresh) rmSync(checkpoint, { force: true })
  const rt = await loadTf()
  const runId = startRun(
    db,
    base,
    config,
    { ...config, cameraCentering: centering ? centering.cameras : null },
    rt.backend,
  )
  let result: TrainResult | null
  try {
    result = await runTraining(data, config, dataKey, checkpoint, log)
    if (result) result = centred(result, centering)
  } catch (err) {
    finishRun(db, runId, { status: 'failed', error: (err as Error).message, steps: 0 })
    throw err
  }
  if (result === null) {
    finishRun(db, runId, { status: 'cancelled', error: 'interrupted', steps: 0 })
    return 130
  }
  storeRunMetrics(db, runId, result.stepHistory, result.epochHistory)
  const best = result.epochHistory.find((e) => e.epoch === result.bestEpoch)?.val ?? null
  const before = result.initialVal ? { R1: result.initialVal.R1, mAP: result.initialVal.mAP } : null
  const after = best ? { R1: best.R1, mAP: best.mAP } : null
  const saved = saveVersion(db, base, runId, config, result, before, after, `run ${runId}`)
  log.note('computing the new version’s vectors…')
  const added = await embedFromBase(db, saved)
  log.line(
    `held-out identities (${result.valIdentities}): before ${before ? fmt(before) : 'n/a'}${centering ? ' (the untrained head on camera-centred vectors)' : ''} · after ${after ? fmt(after) : 'n/a'}\n` +
      `saved as model ${saved.id} (${saved.name}); ${added} vectors computed. lineup model activate --db … ${saved.id} uses it`,
  )
  if (values.out) {
    writeHeadFolder(
      values.out,
      result.head,
      {
        backbone: {
          kind: base.kind === 'onnx' ? 'onnx' : 'builtin',
          key: base.key,
          dim: base.dim,
          preprocess: base.config as Record<string, unknown>,
        },
        training: trainingRecord(config, result, basename(values.db ?? 'library')),
        metrics: { before, after },
      },
      { steps: result.stepHistory, epochs: result.epochHistory, initialVal: result.initialVal },
    )
  }
  log.final({
    before,
    after,
    centredOnly: null,
    result,
    config,
    savedModel: saved.id,
    out: values.out ?? null,
  })
  return 0
}

/** Stores the trained head as a model version of `base` and closes its run. */
function saveVersion(
  db: Db,
  base: StoredModel,
  runId: number,
  config: TrainConfig,
  result: TrainResult,
  before: Figures | null,
  after: Figures | null,
  label: string,
): StoredModel {
  const saved = saveHeadModel(db, base, result.head, {
    name: `${base.name} + ${config.loss} head (${label})`,
    loss: config.loss,
    seed: config.seed,
    runId,
  }).model
  finishRun(db, runId, {
    status: 'finished',
    modelId: saved.id,
    steps: result.steps,
    trainSeconds: result.trainSeconds,
    summary: summaryOf(result, before, after),
  })
  return saved
}

/** The checkpoint of a run: in --out, or in the cache folder under the run's fingerprint. */
function checkpointFile(out: string | undefined, fingerprint: string): string {
  const dir = out ?? join(cacheRoot(), 'runs')
  try {
    mkdirSync(dir, { recursive: true })
  } catch (err) {
    throw new LineupError('io', `cannot create ${dir}: ${(err as Error).message}`)
  }
  return join(dir, out ? 'checkpoint.lck' : `${fingerprint.slice(0, 24)}.lck`)
}

/** Trains with Ctrl-C turned into a clean stop at the next step; null when interrupted. */
async function runTraining(
  data: TrainData,
  config: TrainConfig,
  dataKey: string,
  checkpoint: string,
  log: TrainLog,
): Promise<TrainResult | null> {
  const rt = await loadTf()
  log.note(`TensorFlow.js backend: ${describeRuntime(rt)}`)
  const abort = new AbortController()
  const onSigint = () => abort.abort()
  process.once('SIGINT', onSigint)
  try {
    return await trainHead(data, config, {
      runtime: rt,
      checkpoint,
      dataKey,
      signal: abort.signal,
      onEvent: (e) => log.event(e, config, rt.attempts),
    })
  } catch (err) {
    if (err instanceof LineupError && err.kind === 'cancelled') {
      log.interrupted(`interrupted: ${err.message}. Run the same command again to resume.`)
      return null
    }
    throw err
  } finally {
    process.removeListener('SIGINT', onSigint)
  }
}

/** The trained result with the run's camera centering attached to its head (part of the version). */
function centred(r: TrainResult, centering: CameraCentering | undefined): TrainResult {
  return centering ? { ...r, head: withCentering(r.head, centering) } : r
}

function describeCentering(c: CameraCentering): string {
  return c.cameras.length > 0
    ? `means of ${c.cameras.length} camera${c.cameras.length === 1 ? '' : 's'} (${c.cameras.join(', ')})`
    : `the library's mean (no camera has ${MIN_CAMERA_CROPS} crops)`
}

function trainingRecord(config: TrainConfig, r: TrainResult, dataset: string): Record<string, unknown> {
  return {
    dataset,
    loss: config.loss,
    seed: config.seed,
    config,
    backend: r.backend,
    steps: r.steps,
    epochs: r.epochs,
    bestEpoch: r.bestEpoch,
    stopReason: r.stopReason,
    trainSeconds: r.trainSeconds,
    trainIdentities: r.trainIdentities,
    valIdentities: r.valIdentities,
  }
}

function summaryOf(r: TrainResult, before: Figures | null, after: Figures | null) {
  return {
    before,
    after,
    trainIdentities: r.trainIdentities,
    valIdentities: r.valIdentities,
    bestEpoch: r.bestEpoch,
    stopReason: r.stopReason,
  }
}

const pct = (x: number) => `${(100 * x).toFixed(2)} %`
const fmt = (f: Figures) => `R1 ${pct(f.R1)} · mAP ${pct(f.mAP)}`

/** Human progress on stderr (a TTY line) and results on stdout; with --json, JSON lines on stdout. */
class TrainLog {
  constructor(private readonly json: boolean) {}

  note(text: string): void {
    if (!this.json) process.stderr.write(`${text}\n`)
  }

  progress(text: string): void {
    if (!this.json && process.stderr.isTTY) process.stderr.write(`\r${text}\x1b[K`)
  }

  line(text: string): void {
    if (!this.json) {
      if (process.stderr.isTTY) process.stderr.write('\r\x1b[K')
      process.stdout.write(`${text}\n`)
    }
  }

  /** Said in both modes: as text (stdout), and with --json as a JSON line on stdout plus the text on stderr. */
  interrupted(text: string): void {
    if (!this.json) return this.line(text)
    process.stderr.write(`${text}\n`)
    process.stdout.write(`${JSON.stringify({ event: 'interrupted', message: text })}\n`)
  }

  event(e: TrainEvent, config: TrainConfig, attempts: unknown): void {
    if (this.json) {
      if (e.type !== 'step') {
        const payload = e.type === 'start' ? { ...e, attempts } : e
        process.stdout.write(`${JSON.stringify({ event: e.type, ...payload, type: undefined })}\n`)
      }
      return
    }
    if (e.type === 'start') {
      this.line(
        `training a ${config.outDim}-d head with ${config.loss} on ${e.trainIdentities} identities (${e.trainImages} images), ` +
          `${e.valIdentities} held out (${e.valImages} images); batches ${e.p}×${e.k}; backend ${e.backend}` +
          (e.resumedFromStep > 0 ? `; resuming after step ${e.resumedFromStep}` : ''),
      )
    } else if (e.type === 'step') {
      this.progress(
        `epoch ${e.epoch}/${config.epochs} · step ${e.step} · loss ${e.loss.toFixed(4)} · batch mAP ${e.batchMAP.toFixed(3)}`,
      )
    } else if (e.type === 'epoch') {
      const val = e.val ? ` · val mAP ${pct(e.val.mAP)} R1 ${pct(e.val.R1)}` : ''
      this.progress(
        `epoch ${e.epoch}/${config.epochs} · step ${e.step} · loss ${e.loss.toFixed(4)}${val} · best epoch ${e.bestEpoch}`,
      )
    }
  }

  final(o: {
    before: Figures | null
    after: Figures | null
    centredOnly: Figures | null
    result: TrainResult
    config: TrainConfig
    savedModel: number | null
    out: string | null
  }): void {
    const { result: r } = o
    if (this.json) {
      process.stdout.write(
        `${JSON.stringify({
          before: o.before,
          after: o.after,
          ...(o.centredOnly ? { centred_only: o.centredOnly } : {}),
          train_seconds: r.trainSeconds,
          backend: r.backend,
          steps: r.steps,
          epochs: r.epochs,
          best_epoch: r.bestEpoch,
          stop: r.stopReason,
          loss: o.config.loss,
          seed: o.config.seed,
          resumed_from_step: r.resumedFromStep,
          model: o.savedModel,
          out: o.out,
        })}\n`,
      )
    } else {
      this.line(
        `${r.steps} steps in ${r.epochs} epochs (best epoch ${r.bestEpoch}, ${r.stopReason}); training ${r.trainSeconds.toFixed(1)} s on ${r.backend}`,
      )
    }
  }
}
