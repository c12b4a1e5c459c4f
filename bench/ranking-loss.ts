/**
 * Batch-loss benchmark (issue #3): the time to compute each loss and its coefficient matrix C on a
 * 32 × 4 = 128-image batch (the paper's batch), from the 128×128 squared-distance matrix.
 *
 *   node --import tsx bench/ranking-loss.ts
 *
 * Two batches: random embeddings (an untrained head: most pairs mis-ranked, the worst case) and
 * clustered ones (identity centres plus noise, about what a trained head gives). Target for
 * Rank-Triplet: < 2 ms per batch. Writes bench/results/ranking-loss.json (git-ignored).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { availableParallelism, cpus } from 'node:os'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { squaredEuclideanAllPairs } from '../src-main/engine/ranking/distances'
import { getLoss, lossNames } from '../src-main/engine/ranking/registry'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const P = 32
const K = 4
const d = 256

function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = Math.imul(a ^ (a >>> 15), a | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function batch(noise: number | null, seed: number) {
  const rand = rng(seed)
  const labels: number[] = []
  const X = new Float32Array(P * K * d)
  for (let p = 0; p < P; p++) {
    const centre = Array.from({ length: d }, () => rand() * 2 - 1)
    for (let k = 0; k < K; k++) {
      labels.push(p)
      for (let e = 0; e < d; e++) {
        X[(p * K + k) * d + e] = noise === null ? rand() * 2 - 1 : centre[e]! + (rand() * 2 - 1) * noise
      }
    }
  }
  // L2-normalise, as the head's output is.
  for (let i = 0; i < P * K; i++) {
    let s = 0
    for (let e = 0; e < d; e++) s += X[i * d + e]! ** 2
    const inv = 1 / Math.sqrt(s)
    for (let e = 0; e < d; e++) X[i * d + e]! *= inv
  }
  return { labels, D: squaredEuclideanAllPairs(X, d) }
}

function timeMs(fn: () => void, minMs = 400): number {
  for (let i = 0; i < 30; i++) fn()
  const samples: number[] = []
  const start = performance.now()
  while (performance.now() - start < minMs || samples.length < 20) {
    const t0 = performance.now()
    fn()
    samples.push(performance.now() - t0)
  }
  samples.sort((a, b) => a - b)
  return samples[Math.floor(samples.length / 2)]!
}

const batches = { random: batch(null, 1), clustered: batch(1.6, 2) }
const rows: Record<string, Record<string, { ms: number; misranked: number }>> = {}
for (const [kind, b] of Object.entries(batches)) {
  rows[kind] = {}
  for (const name of lossNames) {
    const f = getLoss(name)
    const margin = name === 'quadruplet' ? 1 : 0.3
    const r = f(b.D, b.labels, { margin })
    rows[kind]![name] = { ms: timeMs(() => f(b.D, b.labels, { margin })), misranked: r.misranked }
  }
}

const machine = `${cpus()[0]?.model.trim() ?? 'cpu'}, ${availableParallelism()} cores, node ${process.version}`
console.log(
  `batch losses, ${P} × ${K} = ${P * K} images, d = ${d}; median ms per call (loss + C + online metrics)`,
)
console.log(`machine: ${machine}`)
console.log('| loss | random: ms | random: mis-ranked | clustered: ms | clustered: mis-ranked |')
console.log('|---|---|---|---|---|')
for (const name of lossNames) {
  const r = rows.random![name]!
  const c = rows.clustered![name]!
  console.log(`| ${name} | ${r.ms.toFixed(3)} | ${r.misranked} | ${c.ms.toFixed(3)} | ${c.misranked} |`)
}
const worst = rows.random!['rank-triplet']!.ms
console.log(
  `Rank-Triplet, worst case: ${worst.toFixed(2)} ms (target < 2 ms): ${worst < 2 ? 'met' : 'NOT met'}`,
)
mkdirSync(resolve(root, 'bench/results'), { recursive: true })
writeFileSync(
  resolve(root, 'bench/results/ranking-loss.json'),
  JSON.stringify({ machine, P, K, d, rows }, null, 2),
)
