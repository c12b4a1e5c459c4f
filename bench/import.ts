/**
 * Import benchmark: imports a folder of crops into a fresh temporary library through the engine,
 * exactly as the CLI does (startImport on a worker thread), and reports crops per second.
 *
 *   node --import tsx bench/import.ts [folder] [--runs N]
 *
 * Default folder: ../shared/data/market1501 (13,399 real 64×128 JPEGs); default 3 runs, the median
 * is the result. Prints a table and writes bench/results/import.json (git-ignored).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, cpus, tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import sharp from 'sharp'
import { openLibrary } from '../src-main/engine/db/open'
import { startImport } from '../src-main/engine/jobs/import-job'
import type { JobProgress } from '../src-shared/domain'

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const TARGET = 500 // crops per second

interface Run {
  files: number
  crops: number
  skipped: number
  seconds: number
  cropsPerSecond: number
  /** CPU time of the whole process (all threads: worker, libvips, SQLite) per crop; steadier than wall time on a shared machine. */
  cpuMsPerCrop: number
  /** Seconds in each phase, from the job's own progress events. */
  phases: { workerStart: number; scan: number; import: number; finish: number }
}

async function once(folder: string): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'lineup-bench-'))
  const path = join(dir, 'bench.lineup')
  const db = openLibrary(path)
  try {
    const at: Partial<Record<JobProgress['phase'], number>> = {}
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    const handle = startImport(db, path, { folder, layout: 'auto' }, (p: JobProgress) => {
      at[p.phase] ??= performance.now()
    })
    const result = await handle.finished
    const end = performance.now()
    const cpu = process.cpuUsage(cpu0)
    const s = (ms: number) => ms / 1000
    const scanning = at.scanning ?? t0
    const importing = at.importing ?? scanning
    const finishing = at.finishing ?? end
    const seconds = s(end - t0)
    return {
      files: result.imported + result.duplicates + result.skipped.length,
      crops: result.crops,
      skipped: result.skipped.length,
      seconds,
      cropsPerSecond: result.crops / seconds,
      cpuMsPerCrop: (cpu.user + cpu.system) / 1000 / result.crops,
      phases: {
        workerStart: s(scanning - t0),
        // The first 'importing' event comes after the scan and the first handful of files.
        scan: s(importing - scanning),
        import: s(finishing - importing),
        finish: s(end - finishing),
      },
    }
  } finally {
    db.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: { runs: { type: 'string', default: '3' } },
    allowPositionals: true,
  })
  const folder = resolve(positionals[0] ?? join(repoRoot, '../shared/data/market1501'))
  const runs = Number(values.runs)
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive whole number`)

  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    node: process.version,
    libvips: sharp.versions.vips,
    platform: `${process.platform}-${process.arch}`,
  }
  console.log(`import benchmark: ${folder}`)
  console.log(
    `machine: ${machine.cpu}, ${machine.cores} cores, node ${machine.node}, libvips ${machine.libvips}`,
  )

  const results: Run[] = []
  const row = (
    label: string,
    r: Pick<Run, 'files' | 'seconds' | 'cropsPerSecond' | 'cpuMsPerCrop' | 'phases'>,
  ) =>
    console.log(
      [
        label.padEnd(7),
        String(r.files).padStart(7),
        r.seconds.toFixed(2).padStart(8),
        r.cropsPerSecond.toFixed(0).padStart(8),
        r.cpuMsPerCrop.toFixed(2).padStart(9),
        ...[r.phases.workerStart, r.phases.scan, r.phases.import, r.phases.finish].map((x) =>
          x.toFixed(2).padStart(7),
        ),
      ].join(' '),
    )
  console.log(
    `${'run'.padEnd(7)} ${'files'.padStart(7)} ${'seconds'.padStart(8)} ${'crops/s'.padStart(8)} ${'cpu ms/c'.padStart(9)} ${'worker'.padStart(7)} ${'scan'.padStart(7)} ${'import'.padStart(7)} ${'finish'.padStart(7)}`,
  )
  for (let i = 0; i < runs; i++) {
    const r = await once(folder)
    results.push(r)
    row(`#${i + 1}`, r)
  }
  const med: Run = {
    files: results[0]!.files,
    crops: results[0]!.crops,
    skipped: results[0]!.skipped,
    seconds: median(results.map((r) => r.seconds)),
    cropsPerSecond: median(results.map((r) => r.cropsPerSecond)),
    cpuMsPerCrop: median(results.map((r) => r.cpuMsPerCrop)),
    phases: {
      workerStart: median(results.map((r) => r.phases.workerStart)),
      scan: median(results.map((r) => r.phases.scan)),
      import: median(results.map((r) => r.phases.import)),
      finish: median(results.map((r) => r.phases.finish)),
    },
  }
  row('median', med)
  console.log(
    'phases (s): worker = thread start and tsx; scan = folder walk and first files; ' +
      'import = read, hash, decode, thumbnail, write; finish = totals and audit entry',
  )
  const verdict = med.cropsPerSecond >= TARGET ? 'meets' : 'BELOW'
  console.log(`${verdict} the target of ${TARGET} crops/s`)

  const out = join(repoRoot, 'bench/results/import.json')
  mkdirSync(dirname(out), { recursive: true })
  writeFileSync(
    out,
    `${JSON.stringify({ benchmark: 'import', at: new Date().toISOString(), folder, machine, target: TARGET, median: med, runs: results }, null, 2)}\n`,
  )
  console.log(`wrote ${out}`)
}

await main()
