import { LineupError } from '../../src-shared/errors'
import { OnnxExtractor } from '../engine/features/onnx-extractor'
import { resizeMethods } from '../engine/features/preprocess'
import { squaredEuclidean } from '../engine/ranking/distances'
import { evaluateProtocol, protocolApVariants, type ProtocolResult } from '../engine/ranking/protocol'
import { kReciprocalRerankFeatures } from '../engine/ranking/rerank'
import { applyHeadOnnx } from '../engine/ml/onnx/head-applier'
import { readHeadFolder } from '../engine/training/head-folder'
import { oneOf, parse, parseSize, parseTriple, positiveInt, UsageError } from './args'
import { onnxFlags, openBackbone } from './backbone'
import { embedFiles, readImage, readSplit } from './eval-data'

export const evalUsage = `lineup eval <dataset-root> (--model <file.onnx> [options] | --builtin) [--head DIR] [--rerank] [--json]

Evaluates a re-ID model on a dataset folder in the Market-1501 layout (<root>/query and
<root>/bounding_box_test, file names like 0002_c1s1_000451_03.jpg; DukeMTMC-reID and CUHK03-NP
names work too) with the standard protocol: per query, gallery images of the same identity and
camera and junk (-1) are removed, distractors (0000) stay as negatives; squared Euclidean distances
between L2-normalised embeddings. The model is inspected and test-run in a child process first.

  --model FILE       the ONNX model ([batch, 3, H, W] float32 in, [batch, dim] out)
  --builtin          the built-in descriptor instead (no model file; the options below are ONNX-only)
  --input-size HxW   input height x width (default: the model's own, e.g. 256x128)
  --mean R,G,B       per-channel mean on the [0, 1] scale (default ImageNet 0.485,0.456,0.406)
  --std R,G,B        per-channel std (default ImageNet 0.229,0.224,0.225)
  --input NAME       the model's image input (default: its only input)
  --output NAME      the embedding output (default: its first output)
  --resize METHOD    bilinear (default; PIL/torchvision's) or sharp-linear (libvips), to compare
  --batch N          images per inference batch (default 32)
  --threads N        onnxruntime threads (default: the number of cores)
  --head DIR         evaluate through a fine-tuned head saved by lineup train --out DIR (its
                     backbone must be this model: the manifest's SHA-256 is checked)
  --rerank           also report k-reciprocal re-ranking (k1 20, k2 6, lambda 0.3)
  --ap VARIANT       standard (mean precision at each hit; default) or trapezoid (official MATLAB)
  --json             one JSON line: {"R1","R5","R10","mAP" (fractions),"queries","skipped",
                     "gallery","dim","model" (SHA-256 of the file, or the built-in's key), "head" (its SHA-256),
                     "timings" (seconds: probe, read, decode, inference, features, distances,
                     evaluation, rerank, total; decode and inference overlap within features),
                     and with --rerank "rerank":{"R1","R5","R10","mAP"}}`

/** `lineup eval`: exit 0 with the figures, 1 on an error. */
export async function evalCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    model: { type: 'string' },
    builtin: { type: 'boolean', default: false },
    ...onnxFlags,
    rerank: { type: 'boolean', default: false },
    head: { type: 'string' },
    ap: { type: 'string' },
    json: { type: 'boolean', default: false },
  })
  if (positionals.length !== 1)
    throw new UsageError('give one dataset folder (with query/ and bounding_box_test/)')
  if (values.builtin && values.model)
    throw new UsageError('give either --model <file.onnx> or --builtin, not both')
  if (!values.builtin && !values.model)
    throw new UsageError('give the model to evaluate: --model <file.onnx>, or --builtin')
  const onnxOnly = ['input-size', 'mean', 'std', 'input', 'output', 'resize', 'batch', 'threads'] as const
  const misplaced = onnxOnly.filter((f) => values[f] !== undefined)
  if (values.builtin && misplaced.length > 0)
    throw new UsageError(`${misplaced.map((f) => `--${f}`).join(', ')} only apply to --model`)
  const ap = oneOf('--ap', values.ap, protocolApVariants, 'standard')
  const resize = oneOf('--resize', values.resize, resizeMethods, 'bilinear')
  const inputSize = parseSize(values['input-size'])
  const mean = parseTriple('--mean', values.mean)
  const std = parseTriple('--std', values.std)
  if (std?.some((s) => s <= 0)) throw new UsageError(`--std values must be > 0 (got "${values.std}")`)
  const batchSize = positiveInt('--batch', values.batch)
  const threads = positiveInt('--threads', values.threads)
  const json = values.json === true

  const root = positionals[0]!
  const saved = values.head === undefined ? null : readHeadFolder(values.head)
  const query = readSplit(root, 'query')
  const gallery = readSplit(root, 'bounding_box_test')
  const progress = new Progress(json ? null : process.stderr, query.files.length + gallery.files.length)

  const t0 = performance.now()
  progress.note('checking the model…')
  const backbone = await openBackbone({
    model: values.model,
    input: values.input,
    output: values.output,
    inputSize,
    mean,
    std,
    resize,
    batchSize,
    threads,
  })
  const { extractor } = backbone
  let described = backbone.described
  if (saved && saved.manifest.backbone.key !== extractor.key) {
    const want = saved.manifest.backbone.key
    await extractor.close()
    throw new LineupError(
      'invalid-input',
      `the head in ${values.head} was trained on backbone ${want.slice(0, 16)}…, not on ${extractor.key.slice(0, 16)}…: evaluate it with that model`,
    )
  }
  const stats = extractor instanceof OnnxExtractor ? extractor.stats : null
  const timings: Record<string, number> = { probe: seconds(t0) }
  let q: Float32Array
  let g: Float32Array
  let readMs = 0
  const tExtract = performance.now()
  progress.start()
  try {
    // Synchronous reads: a few µs per small crop, and they keep libuv's threads for sharp's decoding.
    const read = (files: readonly string[]): Uint8Array[] => {
      const t = performance.now()
      const bytes = files.map(readImage)
      readMs += performance.now() - t
      return bytes
    }
    const step = (n: number): void => progress.add(n)
    q = await embedFiles(extractor, query.files, read, step)
    g = await embedFiles(extractor, gallery.files, read, step)
  } finally {
    await extractor.close()
    progress.end()
  }
  let dim = extractor.dim
  if (saved) {
    q = await applyHeadOnnx(saved.head, q, query.files.length, query.cameras)
    g = await applyHeadOnnx(saved.head, g, gallery.files.length, gallery.cameras)
    dim = saved.head.outDim
    described += ` · head ${saved.manifest.head.sha256.slice(0, 16)} (${saved.manifest.training.loss as string}, ${dim}-d)`
  }
  const crops = query.files.length + gallery.files.length
  timings.read = readMs / 1000
  if (stats) {
    timings.decode = stats.decodeMs / 1000
    timings.inference = stats.inferenceMs / 1000
  }
  timings.features = seconds(tExtract)

  let t = performance.now()
  const distmat = squaredEuclidean(q, g, dim)
  timings.distances = seconds(t)
  t = performance.now()
  const input = { qPids: query.pids, gPids: gallery.pids, qCams: query.cams, gCams: gallery.cams }
  const result = evaluateProtocol({ distmat, ...input }, { ap, maxRank: 10 })
  timings.evaluation = seconds(t)
  if (result.queries === 0) {
    throw new LineupError(
      'invalid-input',
      `no query of ${root} has a valid match in the gallery (all ${result.skipped} skipped): check the file names (identity_cCAMERA…)`,
    )
  }
  let reranked: ProtocolResult | null = null
  if (values.rerank) {
    progress.note('k-reciprocal re-ranking…')
    t = performance.now()
    reranked = evaluateProtocol(
      { distmat: kReciprocalRerankFeatures(q, g, dim), ...input },
      { ap, maxRank: 10 },
    )
    timings.rerank = seconds(t)
    progress.end()
  }
  timings.total = seconds(t0)

  const figures = (r: ProtocolResult) => ({ R1: r.cmc[0]!, R5: r.cmc[4]!, R10: r.cmc[9]!, mAP: r.mAP })
  if (json) {
    const line = {
      ...figures(result),
      queries: result.queries,
      skipped: result.skipped,
      gallery: gallery.files.length,
      dim,
      model: extractor.key,
      ...(saved ? { head: saved.manifest.head.sha256 } : {}),
      timings,
      ...(reranked ? { rerank: figures(reranked) } : {}),
    }
    process.stdout.write(`${JSON.stringify(line)}\n`)
    return 0
  }
  const pct = (x: number) => `${(100 * x).toFixed(2)} %`
  const line = (r: ProtocolResult) =>
    `R1 ${pct(r.cmc[0]!)} · R5 ${pct(r.cmc[4]!)} · R10 ${pct(r.cmc[9]!)} · mAP ${pct(r.mAP)}`
  const ignored = query.ignored + gallery.ignored
  const s = (x: number | undefined) => `${(x ?? 0).toFixed(2)} s`
  process.stdout.write(
    [
      described,
      `${query.files.length} queries × ${gallery.files.length} gallery images${ignored ? ` (${ignored} files without a re-ID name ignored)` : ''}`,
      `${line(result)}  (${ap} AP; ${result.queries} queries evaluated, ${result.skipped} skipped: no valid match)`,
      ...(reranked ? [`${line(reranked)}  after k-reciprocal re-ranking (k1 20, k2 6, λ 0.3)`] : []),
      `timings: probe ${s(timings.probe)} · features ${s(timings.features)} (${(crops / timings.features!).toFixed(0)} crops/s; ` +
        `read ${s(timings.read)}` +
        (stats
          ? `, decode+preprocess ${s(timings.decode)}, inference ${s(timings.inference)}, overlapping`
          : '') +
        ') · ' +
        `distances ${s(timings.distances)} · evaluation ${s(timings.evaluation)}` +
        (reranked ? ` · re-ranking ${s(timings.rerank)}` : '') +
        ` · total ${s(timings.total)}`,
      '',
    ].join('\n'),
  )
  return 0
}

const seconds = (since: number): number => (performance.now() - since) / 1000

/** A one-line counter on a TTY; silent otherwise. */
class Progress {
  private done = 0
  private started = performance.now()
  constructor(
    private readonly stream: NodeJS.WriteStream | null,
    private readonly total: number,
  ) {}
  add(n: number): void {
    this.done += n
    const rate = this.done / ((performance.now() - this.started) / 1000)
    this.write(`extracting features ${this.done}/${this.total} · ${rate.toFixed(0)} crops/s`)
  }
  /** Restarts the clock of the rate. */
  start(): void {
    this.started = performance.now()
  }
  note(text: string): void {
    this.write(text)
  }
  end(): void {
    if (this.stream?.isTTY) this.stream.write('\r\x1b[K')
  }
  private write(text: string): void {
    if (this.stream?.isTTY) this.stream.write(`\r${text.slice(0, (this.stream.columns ?? 100) - 1)}\x1b[K`)
  }
}
