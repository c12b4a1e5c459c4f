/**
 * Distance-matrix and evaluation-protocol benchmark (issue 3; DESIGN.md §5; PERFORMANCE.md floors).
 *
 *   node --import tsx bench/ranking-protocol.ts [--quick] [--skip-2048]
 *
 * (a) squared-Euclidean distances 3,368 × 15,913 (Market-1501 test split) at d = 512 and
 *     d = 2,048: seconds, GFLOP/s (2·nq·ng·d flops), and the ratio to this machine's floors;
 *     `--quick` runs d = 2,048 on a quarter of the queries and extrapolates (said so in the table);
 * (b) the full protocol on the same Market-shaped synthetic problem at d = 512 (751 identities,
 *     6 cameras, 2,793 distractors, 120 junk): distances + evaluation, both AP variants.
 *
 * Wall and CPU seconds are both reported: on a shared machine wall time also counts other
 * processes. Prints a markdown table and writes bench/results/ranking-protocol.json (git-ignored).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { squaredEuclidean } from '../src-main/engine/ranking/distances'
import { evaluateProtocol } from '../src-main/engine/ranking/protocol'
import { machine, MARKET_TEST, syntheticReid } from './ranking-synthetic'

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/** PERFORMANCE.md, measured on this kind of machine. */
const FLOORS = { plainJs: 2, openblas1: 105, openblas2: 198, memoryGBs: 17.7 }

interface Timed<T> {
  value: T
  wall: number
  cpu: number
}

function timed<T>(f: () => T): Timed<T> {
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const value = f()
  const wall = (performance.now() - t0) / 1000
  const c = process.cpuUsage(cpu0)
  return { value, wall, cpu: (c.user + c.system) / 1e6 }
}

interface DistanceRow {
  label: string
  d: number
  queries: number
  extrapolated: boolean
  wall: number
  cpu: number
  gflops: number
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, 'skip-2048': { type: 'boolean', default: false } },
  })
  const info = await machine()
  console.log(`machine: ${info.cpu}, ${info.cores} cores, ${info.memoryGiB} GiB, node ${info.node}`)
  const { nq, ng } = MARKET_TEST

  console.log(`generating Market-shaped synthetic features (${nq} × ${ng}, d = 512) …`)
  const data = syntheticReid({ ...MARKET_TEST, d: 512, seed: 1 })
  const out = new Float32Array(nq * ng)

  const rows: DistanceRow[] = []
  const distance = (label: string, q: Float32Array, g: Float32Array, d: number, scale: number): void => {
    const qRows = q.length / d
    const t = timed(() => squaredEuclidean(q, g, d, out.subarray(0, qRows * ng)))
    const row: DistanceRow = {
      label,
      d,
      queries: qRows,
      extrapolated: scale !== 1,
      wall: t.wall * scale,
      cpu: t.cpu * scale,
      gflops: (2 * qRows * ng * d) / t.wall / 1e9,
    }
    rows.push(row)
    console.log(
      `  ${label}: ${row.wall.toFixed(2)} s wall, ${row.cpu.toFixed(2)} s cpu, ${row.gflops.toFixed(2)} GFLOP/s`,
    )
  }

  console.log('(a) distances')
  distance('d = 512', data.q, data.g, 512, 1)
  const distmat = out
  const labels = { qPids: data.qPids, gPids: data.gPids, qCams: data.qCams, gCams: data.gCams }
  console.log('(b) evaluation of that matrix')
  const standard = timed(() => evaluateProtocol({ distmat, ...labels }, { ap: 'standard' }))
  const trapezoid = timed(() => evaluateProtocol({ distmat, ...labels }, { ap: 'trapezoid' }))
  console.log(`  standard ${standard.wall.toFixed(3)} s, trapezoid ${trapezoid.wall.toFixed(3)} s`)

  if (!values['skip-2048']) {
    const d = 2048
    const qRows = values.quick ? Math.ceil(nq / 4) : nq
    console.log(`(a) d = 2048 on ${qRows} queries${values.quick ? ' (×4 extrapolated)' : ''} …`)
    const big = syntheticReid({ ...MARKET_TEST, nq: qRows, d, seed: 2 })
    distance(values.quick ? 'd = 2048 (¼ of queries, ×4)' : 'd = 2048', big.q, big.g, d, nq / qRows)
  }

  const outputMB = (4 * nq * ng) / 1e6
  const memoryFloor = outputMB / 1e3 / FLOORS.memoryGBs
  const table = [
    `### Distances 3,368 × 15,913, squared Euclidean (plain TypeScript, 1 thread)`,
    '',
    '| d | seconds (wall) | seconds (cpu) | GFLOP/s | × plain-JS floor (2) | ÷ OpenBLAS 1 thread (105) | ÷ OpenBLAS 2 threads (198) | memory floor (write 214 MB) |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.label} | ${r.wall.toFixed(2)} | ${r.cpu.toFixed(2)} | ${r.gflops.toFixed(2)} | ${(r.gflops / FLOORS.plainJs).toFixed(2)}× | ${(FLOORS.openblas1 / r.gflops).toFixed(0)}× slower | ${(FLOORS.openblas2 / r.gflops).toFixed(0)}× slower | ${(memoryFloor * 1000).toFixed(0)} ms |`,
    ),
    '',
    `### Full protocol, Market-1501-sized synthetic problem (3,368 × 15,913, d = 512; 751 ids, 6 cameras, 2,793 distractors, 120 junk)`,
    '',
    '| step | seconds (wall) | seconds (cpu) | result |',
    '|---|---|---|---|',
    `| distances | ${rows[0]!.wall.toFixed(2)} | ${rows[0]!.cpu.toFixed(2)} | ${outputMB.toFixed(0)} MB float32 |`,
    `| evaluation, standard AP | ${standard.wall.toFixed(3)} | ${standard.cpu.toFixed(3)} | mAP ${(100 * standard.value.mAP).toFixed(1)} %, R1 ${(100 * standard.value.cmc[0]!).toFixed(1)} %, ${standard.value.queries} queries, ${standard.value.skipped} skipped |`,
    `| evaluation, trapezoid AP | ${trapezoid.wall.toFixed(3)} | ${trapezoid.cpu.toFixed(3)} | mAP ${(100 * trapezoid.value.mAP).toFixed(1)} % |`,
    `| **total** (distances + standard) | ${(rows[0]!.wall + standard.wall).toFixed(2)} | ${(rows[0]!.cpu + standard.cpu).toFixed(2)} | |`,
  ].join('\n')
  console.log(`\n${table}\n`)
  console.log(`machine: ${info.cpu}, ${info.cores} cores, node ${info.node}`)

  const dir = join(repoRoot, 'bench/results')
  mkdirSync(dir, { recursive: true })
  const file = join(dir, 'ranking-protocol.json')
  writeFileSync(
    file,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        machine: info,
        floors: FLOORS,
        distances: rows,
        protocol: {
          evaluateStandard: { wall: standard.wall, cpu: standard.cpu },
          evaluateTrapezoid: { wall: trapezoid.wall, cpu: trapezoid.cpu },
          mAP: standard.value.mAP,
          mAPTrapezoid: trapezoid.value.mAP,
          rank1: standard.value.cmc[0],
          rank5: standard.value.cmc[4],
          queries: standard.value.queries,
          skipped: standard.value.skipped,
        },
        table,
      },
      null,
      2,
    ),
  )
  console.log(`wrote ${file}`)
}

await main()
