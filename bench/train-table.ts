/**
 * Loss table of `lineup train` on Market-1501: for each backbone (OSNet x0.25 ONNX, the built-in
 * descriptor), each training loss and each seed, runs exactly the CLI
 *
 *   node src-main/cli/lineup.js train <root> (--model <onnx> | --builtin) --loss L --seed S --json --fresh
 *
 * (default hyper-parameters), reads its last JSON line and aggregates R1 / mAP (mean ± sample std
 * over the seeds), train seconds and steps per loss, next to the backbone alone ("no head": the
 * before figures, which every run must report identically).
 *
 *   node --import tsx bench/train-table.ts [--backbone osnet|builtin|both] [--seeds 1,2,3] [--out FILE]
 *
 * Writes the markdown to --out (default .tmp/bench/train-table.md) and one JSON line per run to the
 * same name with .jsonl. Features are cached in $LINEUP_CACHE_DIR = .tmp/bench-cache (shared by
 * all runs; the first run per backbone embeds the ~13.4k images). Runs are sequential (timings).
 * Exit code 1 when a run failed or the before figures differ between runs.
 */
import { spawn } from 'node:child_process'
import { execFileSync } from 'node:child_process'
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, platform, release, totalmem } from 'node:os'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { z } from 'zod'

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const LOSSES = ['rank-triplet', 'baseline', 'batch-hard', 'triplet', 'contrastive', 'quadruplet', 'softmax']
const BACKBONES = ['osnet', 'builtin'] as const
type BackboneName = (typeof BACKBONES)[number]

const defaults = {
  data: '/work/shared/data/market1501',
  model: '/work/shared/models/osnet_x0_25_msmt17/osnet_x0_25_msmt17.onnx',
  'cache-dir': '.tmp/bench-cache',
  timeout: '30',
}
const { values } = parseArgs({
  options: {
    backbone: { type: 'string', default: 'both' },
    seeds: { type: 'string', default: '1,2,3' },
    out: { type: 'string', default: '.tmp/bench/train-table.md' },
    losses: { type: 'string', default: LOSSES.join(',') },
    data: { type: 'string', default: defaults.data },
    model: { type: 'string', default: defaults.model },
    'cache-dir': { type: 'string', default: defaults['cache-dir'] },
    /** Per-run limit in minutes (a hung run is killed and reported as failed). */
    timeout: { type: 'string', default: defaults.timeout },
  },
})

function fail(msg: string): never {
  console.error(`train-table: ${msg}`)
  process.exit(2)
}

const backbones: BackboneName[] =
  values.backbone === 'both'
    ? [...BACKBONES]
    : (BACKBONES as readonly string[]).includes(values.backbone)
      ? [values.backbone as BackboneName]
      : fail(`--backbone must be osnet, builtin or both (got "${values.backbone}")`)
const seeds = values.seeds.split(',').map((s) => {
  const n = Number(s.trim())
  if (!Number.isInteger(n) || n < 0) fail(`--seeds must be whole numbers separated by commas (got "${s}")`)
  return n
})
const losses = values.losses.split(',').map((s) => s.trim())
const outMd = resolve(values.out)
const outJsonl = outMd.replace(/\.md$/i, '') + '.jsonl'
const cacheDir = resolve(repoRoot, values['cache-dir'])
const timeoutMs = Number(values.timeout) * 60_000
if (!(timeoutMs > 0)) fail(`--timeout must be a positive number of minutes (got "${values.timeout}")`)
const cli = resolve(repoRoot, 'src-main/cli/lineup.js')

/** The CLI's last --json line (src-main/cli/train.ts, TrainLog.final). */
const figures = z.object({ R1: z.number(), mAP: z.number() })
const finalLine = z.object({
  before: figures,
  after: figures,
  train_seconds: z.number(),
  backend: z.string(),
  steps: z.number(),
  epochs: z.number(),
  best_epoch: z.number(),
  stop: z.string(),
  loss: z.string(),
  seed: z.number(),
  resumed_from_step: z.number().optional(),
})

interface RunRecord {
  backbone: BackboneName
  loss: string
  seed: number
  command: string
  exit_code: number | null
  signal: string | null
  wall_seconds: number
  load_start: number[]
  load_end: number[]
  ok: boolean
  /** Why the run counts as failed (null when ok). */
  error: string | null
  /** The last line of the run's stderr, when it wrote any. */
  stderr_last: string | null
  /** The CLI's last stdout line, parsed (null when there was none or it was not JSON). */
  result: unknown
}

const backboneArgs = (b: BackboneName) => (b === 'osnet' ? ['--model', values.model] : ['--builtin'])
const trainArgs = (b: BackboneName, loss: string, seed: number | string) => [
  'train',
  values.data,
  ...backboneArgs(b),
  '--loss',
  loss,
  '--seed',
  String(seed),
  '--json',
  '--fresh',
]
const shellQuote = (a: string) => (/^[\w@%+=:,./{}-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)
const commandLine = (args: string[]) =>
  `LINEUP_CACHE_DIR=${shellQuote(values['cache-dir'])} node src-main/cli/lineup.js ${args.map(shellQuote).join(' ')}`

function lastLine(text: string): string | null {
  const lines = text.split('\n').filter((l) => l.trim() !== '')
  return lines.length > 0 ? lines[lines.length - 1]!.trim() : null
}

function runOnce(b: BackboneName, loss: string, seed: number): Promise<RunRecord> {
  const args = trainArgs(b, loss, seed)
  const loadStart = loadavg()
  const t0 = performance.now()
  return new Promise((done) => {
    const child = spawn(process.execPath, [cli, ...args], {
      cwd: repoRoot,
      env: { ...process.env, LINEUP_CACHE_DIR: cacheDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    let timedOut = false
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGTERM')
    }, timeoutMs)
    const finish = (code: number | null, signal: string | null, spawnError: string | null) => {
      clearTimeout(timer)
      const stderrLast = lastLine(stderr)
      const out = lastLine(stdout)
      let result: unknown = null
      let error: string | null = spawnError
      if (out !== null) {
        try {
          result = JSON.parse(out)
        } catch {
          error ??= `last stdout line is not JSON: ${out.slice(0, 200)}`
        }
      }
      if (!error && timedOut) error = `killed after ${values.timeout} min`
      if (!error && code !== 0) error = `exit code ${code ?? signal}`
      if (!error) {
        const parsed = finalLine.safeParse(result)
        if (!parsed.success) error = `last stdout line is not the final result: ${(out ?? '').slice(0, 200)}`
        else if (parsed.data.loss !== loss || parsed.data.seed !== seed)
          error = `the result is of loss ${parsed.data.loss} seed ${parsed.data.seed}`
        else if ((parsed.data.resumed_from_step ?? 0) !== 0)
          error = `resumed from step ${parsed.data.resumed_from_step} despite --fresh`
      }
      done({
        backbone: b,
        loss,
        seed,
        command: commandLine(args),
        exit_code: code,
        signal,
        wall_seconds: (performance.now() - t0) / 1000,
        load_start: loadStart,
        load_end: loadavg(),
        ok: error === null,
        error,
        stderr_last: stderrLast,
        result,
      })
    }
    child.on('error', (err) => finish(null, null, `cannot start: ${err.message}`))
    child.on('close', (code, signal) => finish(code, signal, null))
  })
}

// --- statistics and formatting ---

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
/** Sample standard deviation (n − 1); NaN for fewer than 2 values. */
const sampleStd = (xs: number[]) => {
  if (xs.length < 2) return Number.NaN
  const m = mean(xs)
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1))
}
const pct = (x: number) => (100 * x).toFixed(2)
const pm = (xs: number[]) => {
  const s = sampleStd(xs)
  return `${pct(mean(xs))} ± ${Number.isNaN(s) ? 'n/a' : pct(s)}`
}
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ')
const load3 = (l: number[]) => l.map((x) => x.toFixed(2)).join(' / ')

/** The options of this invocation that differ from the defaults, for the reproduce line. */
function reproduceArgs(): string {
  const args = [`--backbone ${values.backbone}`, `--seeds ${seeds.join(',')}`]
  if (values.losses !== LOSSES.join(',')) args.push(`--losses ${values.losses}`)
  const rel = (p: string) => (p.startsWith(repoRoot + '/') ? p.slice(repoRoot.length + 1) : p)
  if (rel(outMd) !== '.tmp/bench/train-table.md') args.push(`--out ${shellQuote(rel(outMd))}`)
  for (const k of ['data', 'model', 'cache-dir', 'timeout'] as const)
    if (values[k] !== defaults[k]) args.push(`--${k} ${shellQuote(values[k])}`)
  return args.join(' ')
}

function gitDescribe(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' })
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: repoRoot,
      encoding: 'utf8',
    })
    return `${head.trim()}${dirty.trim() ? ' (with uncommitted changes)' : ''}`
  } catch {
    return 'unknown'
  }
}

function backboneTable(b: BackboneName, runs: RunRecord[], problems: string[]): string {
  const lines: string[] = []
  const title = b === 'osnet' ? `OSNet x0.25 (MSMT17) ONNX — \`${values.model}\`` : 'built-in descriptor'
  lines.push(`### ${title}`, '')
  const okRuns = runs.filter((r) => r.ok)
  const results = okRuns.map((r) => finalLine.parse(r.result))
  const backends = [...new Set(results.map((r) => r.backend))]
  const seedList = seeds.length === 1 ? String(seeds[0]) : `{${seeds.join(',')}}`

  // The before figures: the same in every run (same backbone, same features, same evaluation).
  let noHead = '| no head (backbone) | failed | failed | — | — | — | every run failed |'
  if (results.length > 0) {
    const r1s = new Set(results.map((r) => r.before.R1))
    const maps = new Set(results.map((r) => r.before.mAP))
    const first = results[0]!.before
    let note = `before figures of all ${results.length} successful runs: identical`
    if (r1s.size > 1 || maps.size > 1) {
      note = `MISMATCH: ${r1s.size} distinct R1 and ${maps.size} distinct mAP values among the runs' before figures`
      problems.push(`${b}: ${note}`)
    }
    noHead = `| no head (backbone) | ${pct(first.R1)} | ${pct(first.mAP)} | — | — | — | ${note} |`
  }
  lines.push(
    '| head (loss) | R1 % (mean ± std) | mAP % (mean ± std) | train s (mean) | steps (mean) | epochs / best (mean) | command · notes |',
    '|---|---|---|---|---|---|---|',
    noHead,
  )
  for (const loss of losses) {
    const mine = runs.filter((r) => r.loss === loss)
    const ok = mine.filter((r) => r.ok)
    const res = ok.map((r) => finalLine.parse(r.result))
    const cmd = `\`${commandLine(trainArgs(b, loss, seedList))}\``
    const notes = mine
      .filter((r) => !r.ok)
      .map((r) => `**seed ${r.seed} FAILED** (${r.error}): ${r.stderr_last ?? '(no stderr)'}`)
    if (res.length > 0 && res.length < mine.length)
      notes.push(`figures over ${res.length} of ${mine.length} seeds`)
    const stops = [...new Set(res.map((r) => r.stop))]
    if (stops.length > 0) notes.push(`stop: ${stops.join(', ')}`)
    if (res.length > 0 && results.length > 0) {
      const before = results[0]!.before
      const worse: string[] = []
      if (mean(res.map((r) => r.after.mAP)) < before.mAP) worse.push('mAP')
      if (mean(res.map((r) => r.after.R1)) < before.R1) worse.push('R1')
      if (worse.length > 0) notes.push(`**${worse.join(' and ')} below no head**`)
    }
    const notesText = notes.length > 0 ? ` · ${notes.join('; ')}` : ''
    if (res.length === 0) {
      lines.push(`| ${loss} | failed | failed | — | — | — | ${cell(cmd + notesText)} |`)
      continue
    }
    lines.push(
      `| ${loss} | ${pm(res.map((r) => r.after.R1))} | ${pm(res.map((r) => r.after.mAP))} | ` +
        `${mean(res.map((r) => r.train_seconds)).toFixed(1)} | ${mean(res.map((r) => r.steps)).toFixed(0)} | ` +
        `${mean(res.map((r) => r.epochs)).toFixed(1)} / ${mean(res.map((r) => r.best_epoch)).toFixed(1)} | ` +
        `${cell(cmd + notesText)} |`,
    )
  }
  lines.push(
    '',
    `Backend: ${backends.join(', ') || 'n/a'}. R1 and mAP in %, on query/ × bounding_box_test/ after training; ` +
      `std = sample standard deviation over seeds ${seeds.join(', ')}. ` +
      `Train s = the CLI's train_seconds (training only: no feature loading or evaluation). ` +
      `Wall time per run (mean): ${runs.length > 0 ? mean(runs.map((r) => r.wall_seconds)).toFixed(1) : 'n/a'} s.`,
    '',
  )
  return lines.join('\n')
}

// --- main ---

mkdirSync(dirname(outMd), { recursive: true })
mkdirSync(cacheDir, { recursive: true })
writeFileSync(outJsonl, '')
const started = new Date()
const gitAtStart = gitDescribe()
const loadAtStart = loadavg()
const all: RunRecord[] = []
const total = backbones.length * losses.length * seeds.length
for (const b of backbones) {
  for (const loss of losses) {
    for (const seed of seeds) {
      process.stderr.write(`[${all.length + 1}/${total}] ${b} ${loss} seed ${seed} … `)
      const r = await runOnce(b, loss, seed)
      all.push(r)
      appendFileSync(outJsonl, `${JSON.stringify(r)}\n`)
      const summary = r.ok
        ? (() => {
            const f = finalLine.parse(r.result)
            return `R1 ${pct(f.after.R1)} mAP ${pct(f.after.mAP)} in ${f.steps} steps, ${f.train_seconds.toFixed(1)} s`
          })()
        : `FAILED: ${r.error} — ${r.stderr_last ?? ''}`
      process.stderr.write(`${summary} (wall ${r.wall_seconds.toFixed(1)} s, load ${load3(r.load_end)})\n`)
    }
  }
}
const loadAtEnd = loadavg()
const finished = new Date()

const problems: string[] = []
const cpuList = cpus()
const md: string[] = [
  '# `lineup train`: loss table on Market-1501',
  '',
  `- Date: ${started.toISOString()} → ${finished.toISOString()} (${((finished.getTime() - started.getTime()) / 60_000).toFixed(1)} min)`,
  `- Machine: ${cpuList[0]?.model ?? 'unknown CPU'} × ${cpuList.length} logical CPUs, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, ${platform()} ${release()}; Node ${process.version}`,
  `- Load average (1 / 5 / 15 min): ${load3(loadAtStart)} at start, ${load3(loadAtEnd)} at end (the machine is shared; per-run loads are in the .jsonl)`,
  `- Repository: ${gitAtStart}${gitDescribe() === gitAtStart ? '' : ` at start, ${gitDescribe()} at end (the code changed during the runs)`}; data: \`${values.data}\`; feature cache: \`${values['cache-dir']}\``,
  `- Runs: ${all.length} (${all.filter((r) => r.ok).length} ok, ${all.filter((r) => !r.ok).length} failed), one at a time; raw results: \`${outJsonl.startsWith(repoRoot) ? outJsonl.slice(repoRoot.length + 1) : outJsonl}\``,
  `- Reproduce: \`node --import tsx bench/train-table.ts ${reproduceArgs()}\``,
  '',
]
for (const b of backbones)
  md.push(
    backboneTable(
      b,
      all.filter((r) => r.backbone === b),
      problems,
    ),
  )
for (const r of all.filter((x) => !x.ok))
  problems.push(
    `${r.backbone} ${r.loss} seed ${r.seed} failed: ${r.error}; stderr: ${r.stderr_last ?? '(none)'}`,
  )
if (problems.length > 0) md.push('## Problems', '', ...problems.map((p) => `- ${p}`), '')
const text = md.join('\n')
writeFileSync(outMd, text)
process.stdout.write(text)
process.stderr.write(`wrote ${outMd} and ${outJsonl}\n`)
process.exitCode = problems.length > 0 ? 1 : 0
