/**
 * k-reciprocal re-ranking benchmark (issue 3; Zhong et al. 2017, k1 = 20, k2 = 6, λ = 0.3) on the
 * shape of the Market-1501 subset in ../shared (1,676 queries × 9,311 gallery), d = 512, synthetic
 * clustered features (bench/ranking-synthetic.ts).
 *
 *   node --import tsx bench/ranking-rerank.ts [--mode features|matrices]
 *
 * Without --mode it runs both modes, each in a fresh child process so that each peak RSS
 * (getrusage maxrss) is its own:
 * - features: `kReciprocalRerankFeatures(q, g)`, distances computed in tiles, no ng×ng matrix;
 * - matrices: the reference's interface, `kReciprocalRerank({qg, qq, gg})` on Euclidean matrices
 *   built first with distances.ts (the gg matrix alone is 4·ng² = 347 MB).
 * Prints a markdown table and writes bench/results/ranking-rerank.json (git-ignored).
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { squaredEuclidean, squaredEuclideanAllPairs } from '../src-main/engine/ranking/distances'
import { evaluateProtocol } from '../src-main/engine/ranking/protocol'
import { kReciprocalRerank, kReciprocalRerankFeatures } from '../src-main/engine/ranking/rerank'
import { machine, MARKET_SUBSET, syntheticReid } from './ranking-synthetic'

const here = dirname(fileURLToPath(import.meta.url))
const repoRoot = resolve(here, '..')
const D = 512

type Mode = 'features' | 'matrices'

interface ModeResult {
  mode: Mode
  /** Seconds to build the three distance matrices (matrices mode only). */
  matricesWall: number
  rerankWall: number
  rerankCpu: number
  /** Peak RSS of the process, MB: after generating the data, and after re-ranking. */
  rssDataMB: number
  rssPeakMB: number
  mAPBefore: number
  mAPAfter: number
  rank1Before: number
  rank1After: number
}

const maxRssMB = () => process.resourceUsage().maxRSS / 1024

function runMode(mode: Mode): ModeResult {
  const data = syntheticReid({ ...MARKET_SUBSET, d: D, seed: 3 })
  const { nq, ng } = MARKET_SUBSET
  const rssDataMB = maxRssMB()
  let matricesWall = 0
  let final: Float32Array
  let cpu0 = process.cpuUsage()
  let t0 = performance.now()
  if (mode === 'features') {
    final = kReciprocalRerankFeatures(data.q, data.g, D)
  } else {
    const sqrt = (x: Float32Array) => {
      for (let t = 0; t < x.length; t++) x[t] = Math.sqrt(x[t]!)
      return x
    }
    const m = {
      qg: sqrt(squaredEuclidean(data.q, data.g, D)),
      qq: sqrt(squaredEuclideanAllPairs(data.q, D)),
      gg: sqrt(squaredEuclideanAllPairs(data.g, D)),
      nq,
      ng,
    }
    matricesWall = (performance.now() - t0) / 1000
    t0 = performance.now()
    cpu0 = process.cpuUsage()
    final = kReciprocalRerank(m)
  }
  const rerankWall = (performance.now() - t0) / 1000
  const c = process.cpuUsage(cpu0)
  const rssPeakMB = maxRssMB()
  const labels = { qPids: data.qPids, gPids: data.gPids, qCams: data.qCams, gCams: data.gCams }
  const before = evaluateProtocol({ distmat: squaredEuclidean(data.q, data.g, D), ...labels })
  const after = evaluateProtocol({ distmat: final, ...labels })
  return {
    mode,
    matricesWall,
    rerankWall,
    rerankCpu: (c.user + c.system) / 1e6,
    rssDataMB,
    rssPeakMB,
    mAPBefore: before.mAP,
    mAPAfter: after.mAP,
    rank1Before: before.cmc[0]!,
    rank1After: after.cmc[0]!,
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { mode: { type: 'string' } } })
  if (values.mode !== undefined) {
    if (values.mode !== 'features' && values.mode !== 'matrices') {
      throw new Error(`--mode must be features or matrices, got ${values.mode}`)
    }
    console.log(JSON.stringify(runMode(values.mode)))
    return
  }
  const info = await machine()
  console.log(`machine: ${info.cpu}, ${info.cores} cores, ${info.memoryGiB} GiB, node ${info.node}`)
  console.log(
    `k-reciprocal re-ranking, ${MARKET_SUBSET.nq} × ${MARKET_SUBSET.ng}, d = ${D}, k1 = 20, k2 = 6, λ = 0.3`,
  )
  const results: ModeResult[] = []
  for (const mode of ['features', 'matrices'] as const) {
    console.log(`  ${mode} …`)
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(import.meta.url), '--mode', mode],
      {
        cwd: repoRoot,
        encoding: 'utf8',
        maxBuffer: 1 << 20,
      },
    )
    if (child.status !== 0) throw new Error(`${mode} run failed: ${child.stderr}`)
    const r = JSON.parse(child.stdout.trim().split('\n').pop()!) as ModeResult
    results.push(r)
    console.log(`  ${mode}: ${r.rerankWall.toFixed(2)} s, peak RSS ${r.rssPeakMB.toFixed(0)} MB`)
  }
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`
  const n = MARKET_SUBSET.nq + MARKET_SUBSET.ng
  const denseMB = (4 * n * n) / 1e6
  const table = [
    `### k-reciprocal re-ranking, ${MARKET_SUBSET.nq.toLocaleString('en-US')} × ${MARKET_SUBSET.ng.toLocaleString('en-US')}, d = ${D} (k1 = 20, k2 = 6, λ = 0.3)`,
    '',
    '| input | distance matrices (s) | re-ranking (s, wall) | re-ranking (s, cpu) | peak RSS (MB) | RSS after data (MB) | mAP before → after | R1 before → after |',
    '|---|---|---|---|---|---|---|---|',
    ...results.map(
      (r) =>
        `| ${r.mode === 'features' ? 'features (`kReciprocalRerankFeatures`)' : 'q-g, q-q, g-g matrices (`kReciprocalRerank`)'} | ${r.mode === 'matrices' ? r.matricesWall.toFixed(2) : 'in re-ranking'} | ${r.rerankWall.toFixed(2)} | ${r.rerankCpu.toFixed(2)} | ${r.rssPeakMB.toFixed(0)} | ${r.rssDataMB.toFixed(0)} | ${pct(r.mAPBefore)} → ${pct(r.mAPAfter)} | ${pct(r.rank1Before)} → ${pct(r.rank1After)} |`,
    ),
    '',
    `Dense reference for comparison (not run): each (Q+G)² float32 matrix is ${denseMB.toFixed(0)} MB; it holds the distances, V, V_qe and an argsort (int64 in NumPy: ${(2 * denseMB).toFixed(0)} MB) at once, ≈ ${((4 * denseMB + denseMB) / 1000).toFixed(1)} GB.`,
  ].join('\n')
  console.log(`\n${table}\n`)
  console.log(`machine: ${info.cpu}, ${info.cores} cores, node ${info.node}`)
  const dir = join(repoRoot, 'bench/results')
  mkdirSync(dir, { recursive: true })
  const file = join(dir, 'ranking-rerank.json')
  writeFileSync(
    file,
    JSON.stringify({ date: new Date().toISOString(), machine: info, results, table }, null, 2),
  )
  console.log(`wrote ${file}`)
}

await main()
