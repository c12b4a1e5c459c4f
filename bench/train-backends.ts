/**
 * Training speed per TensorFlow.js backend (issue #5): the time of one head training step
 * (TfHeadKernel.step: forward, distance matrix, the ranking core's Rank-Triplet loss and its
 * coefficient matrix, the hand-written backward pass, Adam) on a 32 × 4 batch, for a 512 → 256
 * head (OSNet x0.25's features) and a 2048 → 256 one (ResNet-50-sized features); and the wall time
 * of a full default `lineup train` Rank-Triplet fine-tune on Market-1501 (151 training identities)
 * with OSNet features.
 *
 *   node --import tsx bench/train-backends.ts [--steps 40] [--warmup 5] [--out .tmp/bench/train-backends.md]
 *
 * One process holds one TensorFlow.js backend, so each backend runs in its own child process
 * (LINEUP_TF_BACKEND=wasm|cpu forces it); the native backends (tfjs-node, tfjs-node-gpu) are only
 * probed, and loadTf's reasons for them are reported. Step timings use synthetic batches (32
 * identity centres plus noise, L2-normalised, 4 rotating batches) and a random head; ms/step is
 * the median over --steps steps after --warmup warm-up steps, with the CPU time of the process per
 * step alongside (steadier than wall time on a shared machine). The full fine-tune runs on wasm;
 * on cpu it runs too when steps × ms/step predicts under 3 minutes, else it is extrapolated.
 *
 * The machine may be shared: each measurement records the load average before and after; when the
 * 1-minute load is above 1.5 it waits a minute first, and a measurement that started above 1.5 is
 * retried once (both attempts are reported; the table shows the one that started on the quieter
 * machine). Features are cached in $LINEUP_CACHE_DIR = .tmp/bench-cache.
 */
import { spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, platform, release, totalmem } from 'node:os'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { z } from 'zod'
import { backendFromEnv, loadTf, type TfRuntime } from '../src-main/engine/ml/tf/backend'
import { TfHeadKernel } from '../src-main/engine/ml/tf/head-kernel'
import { getLoss } from '../src-main/engine/ranking/registry'
import { defaultTrainConfig } from '../src-main/engine/training/config'

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const self = fileURLToPath(import.meta.url)
const DATA = '/work/shared/data/market1501'
const MODEL = '/work/shared/models/osnet_x0_25_msmt17/osnet_x0_25_msmt17.onnx'
const CACHE = '.tmp/bench-cache'
const P = 32
const K = 4
const OUT_DIM = 256
const IN_DIMS = [512, 2048]
const LOAD_LIMIT = 1.5
const FULL_RUN_LIMIT_S = 180

const { values } = parseArgs({
  options: {
    child: { type: 'string' },
    steps: { type: 'string', default: '40' },
    warmup: { type: 'string', default: '5' },
    out: { type: 'string', default: '.tmp/bench/train-backends.md' },
  },
})
const steps = Number(values.steps)
const warmup = Number(values.warmup)
if (!Number.isInteger(steps) || steps < 30)
  throw new Error(`--steps must be a whole number ≥ 30 (got ${values.steps})`)
if (!Number.isInteger(warmup) || warmup < 0)
  throw new Error(`--warmup must be a whole number (got ${values.warmup})`)

// --- what the children print (their last stdout line) ---

const attempt = z.object({ name: z.string(), ok: z.boolean(), reason: z.string().optional() })
const probeResult = z.object({
  kind: z.literal('probe'),
  ok: z.boolean(),
  backend: z.string().nullable(),
  attempts: z.array(attempt),
  error: z.string().nullable(),
})
const dimTiming = z.object({
  inDim: z.number(),
  steps: z.number(),
  warmup: z.number(),
  medianMs: z.number(),
  p10Ms: z.number(),
  p90Ms: z.number(),
  meanMs: z.number(),
  cpuMsPerStep: z.number(),
  lossMedianMs: z.number(),
  leakedTensors: z.number(),
})
const stepsResult = z.object({
  kind: z.literal('steps'),
  backend: z.string(),
  attempts: z.array(attempt),
  dims: z.array(dimTiming),
})
const figures = z.object({ R1: z.number(), mAP: z.number() })
const trainFinal = z.object({
  before: figures,
  after: figures,
  train_seconds: z.number(),
  backend: z.string(),
  steps: z.number(),
  epochs: z.number(),
  best_epoch: z.number(),
  stop: z.string(),
})
type StepsResult = z.infer<typeof stepsResult>
type TrainFinal = z.infer<typeof trainFinal>
type ProbeResult = z.infer<typeof probeResult>

// --- child: time TfHeadKernel.step on one backend ---

function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = Math.imul(a ^ (a >>> 15), a | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function gaussian(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand())
}

/** A P×K batch: P identity centres plus noise, each row L2-normalised (as backbone features are). */
function syntheticBatch(inDim: number, rand: () => number): Float32Array {
  const x = new Float32Array(P * K * inDim)
  for (let p = 0; p < P; p++) {
    const centre = Float64Array.from({ length: inDim }, () => gaussian(rand))
    for (let k = 0; k < K; k++) {
      const row = (p * K + k) * inDim
      let s = 0
      for (let e = 0; e < inDim; e++) {
        const v = centre[e]! + 0.8 * gaussian(rand)
        x[row + e] = v
        s += v * v
      }
      const inv = 1 / Math.sqrt(s)
      for (let e = 0; e < inDim; e++) x[row + e]! *= inv
    }
  }
  return x
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))]!
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length

function timeSteps(rt: TfRuntime, inDim: number): z.infer<typeof dimTiming> {
  const rand = mulberry32(inDim)
  const batches = Array.from({ length: 4 }, () => syntheticBatch(inDim, rand))
  const labels = Int32Array.from({ length: P * K }, (_, i) => Math.floor(i / K))
  const scale = 1 / Math.sqrt(inDim)
  const W = Float32Array.from({ length: inDim * OUT_DIM }, () => gaussian(rand) * scale)
  const kernel = new TfHeadKernel(rt, {
    head: { inDim, outDim: OUT_DIM, W, b: new Float32Array(OUT_DIM) },
    classifier: null,
    classes: P,
    adamT: 0,
    adamM: [],
    adamV: [],
  })
  const config = defaultTrainConfig('rank-triplet', inDim)
  const loss = getLoss('rank-triplet')
  const lossOpts = { margin: config.margin, margin2: config.margin2, ap: config.ap }
  const wall: number[] = []
  const lossMs: number[] = []
  let cpuMicros = 0
  try {
    const tensorsBefore = { n: 0 }
    for (let i = 0; i < warmup + steps; i++) {
      if (i === warmup) tensorsBefore.n = kernel.numTensors()
      let lt = 0
      const cpu0 = process.cpuUsage()
      const t0 = performance.now()
      const r = kernel.step({
        x: batches[i % batches.length]!,
        labels,
        metricLoss: (D, l) => {
          const l0 = performance.now()
          const res = loss(D, l, lossOpts)
          lt = performance.now() - l0
          return res
        },
        softmax: false,
        lr: config.lr,
        weightDecay: config.weightDecay,
      })
      const t1 = performance.now()
      const cpu = process.cpuUsage(cpu0)
      if (!r.finite) throw new Error(`step ${i + 1} on ${rt.backend} (${inDim}-d) was not finite`)
      if (i >= warmup) {
        wall.push(t1 - t0)
        lossMs.push(lt)
        cpuMicros += cpu.user + cpu.system
      }
    }
    return {
      inDim,
      steps,
      warmup,
      medianMs: median(wall),
      p10Ms: quantile(wall, 0.1),
      p90Ms: quantile(wall, 0.9),
      meanMs: mean(wall),
      cpuMsPerStep: cpuMicros / 1000 / steps,
      lossMedianMs: median(lossMs),
      leakedTensors: kernel.numTensors() - tensorsBefore.n,
    }
  } finally {
    kernel.dispose()
  }
}

async function child(mode: string): Promise<void> {
  if (mode === 'probe') {
    let out: ProbeResult
    try {
      const rt = await loadTf(backendFromEnv())
      out = { kind: 'probe', ok: true, backend: rt.backend, attempts: rt.attempts, error: null }
    } catch (err) {
      out = { kind: 'probe', ok: false, backend: null, attempts: [], error: (err as Error).message }
    }
    process.stdout.write(`${JSON.stringify(out)}\n`)
    return
  }
  if (mode !== 'steps') throw new Error(`unknown --child mode "${mode}"`)
  const rt = await loadTf(backendFromEnv())
  const dims = IN_DIMS.map((d) => timeSteps(rt, d))
  const out: StepsResult = { kind: 'steps', backend: rt.backend, attempts: rt.attempts, dims }
  process.stdout.write(`${JSON.stringify(out)}\n`)
}

// --- parent ---

interface Proc {
  code: number | null
  stdout: string
  stderr: string
  wallSeconds: number
  loadBefore: number[]
  loadAfter: number[]
}

function run(args: string[], env: Record<string, string>): Promise<Proc> {
  const loadBefore = loadavg()
  const t0 = performance.now()
  return new Promise((done) => {
    const p = spawn(process.execPath, args, {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const finish = (code: number | null, extra = '') =>
      done({
        code,
        stdout,
        stderr: stderr + extra,
        wallSeconds: (performance.now() - t0) / 1000,
        loadBefore,
        loadAfter: loadavg(),
      })
    p.on('error', (err) => finish(null, `\ncannot start: ${err.message}`))
    p.on('close', (code) => finish(code))
  })
}

const lastLine = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .pop()
    ?.trim() ?? ''

function parseLast<T>(proc: Proc, schema: z.ZodType<T>, what: string): T {
  const line = lastLine(proc.stdout)
  let json: unknown
  try {
    json = JSON.parse(line)
  } catch {
    throw new Error(
      `${what}: exit ${proc.code}; no JSON result (stderr: ${lastLine(proc.stderr) || 'none'}; stdout: ${line.slice(0, 200)})`,
    )
  }
  const r = schema.safeParse(json)
  if (!r.success || proc.code !== 0)
    throw new Error(`${what}: exit ${proc.code}; unexpected result ${line.slice(0, 200)}`)
  return r.data
}

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms))
const load3 = (l: number[]) => l.map((x) => x.toFixed(2)).join(' / ')
const log = (s: string) => process.stderr.write(`${s}\n`)

/** Waits a minute when the machine is busy (1-minute load above the limit); returns the load it starts on. */
async function quiet(label: string): Promise<number[]> {
  const l = loadavg()
  if (l[0]! > LOAD_LIMIT) {
    log(`${label}: load ${load3(l)} > ${LOAD_LIMIT}; waiting 60 s`)
    await sleep(60_000)
  }
  return loadavg()
}

interface Measured<T> {
  value: T
  proc: Proc
}

/** A measurement, retried once (after a wait) when it started above the load limit; the quieter attempt first. */
async function measure<T>(label: string, once: () => Promise<Measured<T>>): Promise<Measured<T>[]> {
  await quiet(label)
  const first = await once()
  log(`${label}: done (load ${load3(first.proc.loadBefore)} → ${load3(first.proc.loadAfter)})`)
  if (first.proc.loadBefore[0]! <= LOAD_LIMIT) return [first]
  log(`${label}: started above load ${LOAD_LIMIT}; retrying once`)
  await quiet(label)
  const second = await once()
  log(`${label}: retry done (load ${load3(second.proc.loadBefore)} → ${load3(second.proc.loadAfter)})`)
  return [first, second].sort((a, b) => a.proc.loadBefore[0]! - b.proc.loadBefore[0]!)
}

const trainArgs = [
  'train',
  DATA,
  '--model',
  MODEL,
  '--loss',
  'rank-triplet',
  '--seed',
  '1',
  '--json',
  '--fresh',
]
const trainCommand = (backend: string) =>
  `LINEUP_TF_BACKEND=${backend} LINEUP_CACHE_DIR=${CACHE} node src-main/cli/lineup.js ${trainArgs.join(' ')}`

async function fullRun(backend: string): Promise<Measured<TrainFinal>> {
  const proc = await run([resolve(repoRoot, 'src-main/cli/lineup.js'), ...trainArgs], {
    LINEUP_TF_BACKEND: backend,
    LINEUP_CACHE_DIR: resolve(repoRoot, CACHE),
  })
  const value = parseLast(proc, trainFinal, `full fine-tune on ${backend}`)
  if (value.backend !== backend) throw new Error(`the ${backend} fine-tune ran on ${value.backend}`)
  return { value, proc }
}

async function stepsRun(backend: string): Promise<Measured<StepsResult>> {
  const proc = await run(
    ['--import', 'tsx', self, '--child', 'steps', '--steps', String(steps), '--warmup', String(warmup)],
    { LINEUP_TF_BACKEND: backend },
  )
  const value = parseLast(proc, stepsResult, `step timing on ${backend}`)
  if (value.backend !== backend) throw new Error(`the ${backend} step timing ran on ${value.backend}`)
  return { value, proc }
}

async function probe(backend: string): Promise<ProbeResult> {
  const proc = await run(['--import', 'tsx', self, '--child', 'probe'], { LINEUP_TF_BACKEND: backend })
  return parseLast(proc, probeResult, `probe of ${backend}`)
}

async function parent(): Promise<void> {
  const started = new Date()
  const loadAtStart = loadavg()
  const outMd = resolve(values.out)
  mkdirSync(dirname(outMd), { recursive: true })
  mkdirSync(resolve(repoRoot, CACHE), { recursive: true })
  const notes: string[] = []

  // Native backends: what loadTf says about them (auto order, and each one forced).
  const auto = await probe('auto')
  const forced = new Map<string, ProbeResult>()
  for (const b of ['tfjs-node-gpu', 'tfjs-node']) forced.set(b, await probe(b))
  log(`auto picks ${auto.backend}`)

  const stepTimings = new Map<string, Measured<StepsResult>[]>()
  for (const b of ['wasm', 'cpu']) {
    try {
      stepTimings.set(b, await measure(`steps on ${b}`, () => stepsRun(b)))
    } catch (err) {
      notes.push(`step timing on ${b} failed: ${(err as Error).message}`)
    }
  }
  const ms512 = (b: string) => stepTimings.get(b)?.[0]?.value.dims.find((d) => d.inDim === 512)?.medianMs

  const full = new Map<string, Measured<TrainFinal>[]>()
  try {
    full.set('wasm', await measure('full fine-tune on wasm', () => fullRun('wasm')))
  } catch (err) {
    notes.push(`full fine-tune on wasm failed: ${(err as Error).message}`)
  }
  const wasmSteps = full.get('wasm')?.[0]?.value.steps
  const cpuMs = ms512('cpu')
  const cpuEstimate = wasmSteps !== undefined && cpuMs !== undefined ? (wasmSteps * cpuMs) / 1000 : undefined
  if (cpuEstimate !== undefined && cpuEstimate < FULL_RUN_LIMIT_S) {
    try {
      full.set('cpu', await measure('full fine-tune on cpu', () => fullRun('cpu')))
    } catch (err) {
      notes.push(`full fine-tune on cpu failed: ${(err as Error).message}`)
    }
  }
  const loadAtEnd = loadavg()

  // --- markdown ---
  const cpuList = cpus()
  const f1 = (x: number) => x.toFixed(1)
  const f2 = (x: number) => x.toFixed(2)
  const pct = (x: number) => (100 * x).toFixed(2)
  const md: string[] = [
    '# `lineup train`: speed per TensorFlow.js backend',
    '',
    `- Date: ${started.toISOString()}`,
    `- Machine: ${cpuList[0]?.model ?? 'unknown CPU'} × ${cpuList.length} logical CPUs, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, ${platform()} ${release()}; Node ${process.version}; no GPU`,
    `- Load average (1 / 5 / 15 min): ${load3(loadAtStart)} at start, ${load3(loadAtEnd)} at end; per measurement below (before → after). The machine is shared with other jobs.`,
    `- Reproduce: \`node --import tsx bench/train-backends.ts --steps ${steps} --warmup ${warmup}\``,
    '',
    '## Backends loadTf can use here',
    '',
    `auto (LINEUP_TF_BACKEND unset) picks **${auto.backend ?? 'none'}**; attempts: ` +
      auto.attempts.map((a) => `${a.name}: ${a.ok ? 'ok' : a.reason}`).join('; '),
    '',
    '| backend | forced with LINEUP_TF_BACKEND | result |',
    '|---|---|---|',
    ...[...forced].map(
      ([b, r]) =>
        `| ${b} | \`LINEUP_TF_BACKEND=${b}\` | ${r.ok ? `runs (${r.backend})` : `cannot run: ${r.error}`} |`,
    ),
    '',
    `## Time per training step (TfHeadKernel.step, Rank-Triplet, batch ${P}×${K})`,
    '',
    `Median wall ms over ${steps} steps after ${warmup} warm-up steps (p10–p90), the process's CPU ms per step, and the ` +
      `ranking core's share (the loss and coefficient matrix, on the CPU, median). Synthetic clustered features, random head ${'→'} ${OUT_DIM}.`,
    '',
    '| backend | head | ms/step (median) | p10–p90 | CPU ms/step | of which loss (ms) | load before → after | attempt |',
    '|---|---|---|---|---|---|---|---|',
  ]
  for (const [b, attempts] of stepTimings) {
    attempts.forEach((m, i) => {
      for (const d of m.value.dims) {
        if (d.leakedTensors !== 0)
          notes.push(`${b} ${d.inDim}-d: ${d.leakedTensors} tensors leaked per run of steps`)
        md.push(
          `| ${b} | ${d.inDim} → ${OUT_DIM} | ${i === 0 ? '**' : ''}${f2(d.medianMs)}${i === 0 ? '**' : ''} | ` +
            `${f2(d.p10Ms)}–${f2(d.p90Ms)} | ${f2(d.cpuMsPerStep)} | ${f2(d.lossMedianMs)} | ` +
            `${load3(m.proc.loadBefore)} → ${load3(m.proc.loadAfter)} | ${i === 0 ? (attempts.length > 1 ? 'quieter of 2' : 'only') : 'other (busier start)'} |`,
        )
      }
    })
  }
  const s512 = { wasm: ms512('wasm'), cpu: ms512('cpu') }
  if (s512.wasm !== undefined && s512.cpu !== undefined)
    md.push('', `cpu / wasm step time at 512 → ${OUT_DIM}: ×${f1(s512.cpu / s512.wasm)}.`)

  md.push(
    '',
    `## Full default fine-tune (Rank-Triplet, seed 1, OSNet x0.25 features of Market-1501's 151 training identities)`,
    '',
    'Wall = the whole `lineup train` process (ONNX model check, cached features, before/after evaluation); ' +
      'train s = its train_seconds (the steps plus per-epoch validation and checkpoints).',
    '',
    '| backend | how | wall s | train s | steps (epochs, best) | train ms/step | mAP before → after | load before → after | command |',
    '|---|---|---|---|---|---|---|---|---|',
  )
  for (const [b, attempts] of full) {
    attempts.forEach((m, i) => {
      const v = m.value
      md.push(
        `| ${b} | measured${attempts.length > 1 ? (i === 0 ? ' (quieter of 2)' : ' (busier start)') : ''} | ` +
          `${i === 0 ? '**' : ''}${f1(m.proc.wallSeconds)}${i === 0 ? '**' : ''} | ${f1(v.train_seconds)} | ` +
          `${v.steps} (${v.epochs}, ${v.best_epoch}) | ${f2((1000 * v.train_seconds) / v.steps)} | ` +
          `${pct(v.before.mAP)} → ${pct(v.after.mAP)} | ${load3(m.proc.loadBefore)} → ${load3(m.proc.loadAfter)} | \`${trainCommand(b)}\` |`,
      )
    })
  }
  if (cpuEstimate !== undefined && wasmSteps !== undefined && cpuMs !== undefined) {
    md.push(
      `| cpu | **extrapolation** (${wasmSteps} steps of the wasm run × ${f2(cpuMs)} ms/step, steps only) | — | ${f1(cpuEstimate)} | ${wasmSteps} | ${f2(cpuMs)} | — | — | ${cpuEstimate < FULL_RUN_LIMIT_S ? 'under 3 min: also measured above' : 'over 3 min: not run'} |`,
    )
  }
  const wasmRun = full.get('wasm')?.[0]?.value
  const cpuRun = full.get('cpu')?.[0]?.value
  if (wasmRun && cpuRun && wasmRun.steps !== cpuRun.steps)
    notes.push(
      `the cpu fine-tune took ${cpuRun.steps} steps and the wasm one ${wasmRun.steps}: the backends round differently, so early stopping can end at another epoch`,
    )
  if (notes.length > 0) md.push('', '## Notes', '', ...notes.map((n) => `- ${n}`))
  md.push('')
  const text = md.join('\n')
  writeFileSync(outMd, text)
  process.stdout.write(text)
  log(`wrote ${outMd}`)
}

if (values.child) await child(values.child)
else await parent()
