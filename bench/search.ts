/**
 * Exact top-100 search latency of the vector index (issue #4) against the machine's memory-read
 * floor, over synthetic L2-normalised 512-d vectors.
 *
 *   node --import tsx bench/search.ts [--quick]
 *
 * 1. Floor: a sum over a 256 MiB Float32Array with 1 and 2 threads, median of 11, by onnxruntime's
 *    vectorised ReduceSum and, when a C compiler is present, an AVX C loop; the faster is the
 *    floor. One query must read all N·512·4 bytes once, so floor time = bytes / that rate.
 * 2. Methods × N (100k, 1M; --quick: 100k) × (1 query, a batch of 10 independent queries), each
 *    the whole search (scores + top-100 selection), median of ≥ 10 runs (the plain-JS methods at
 *    1M: fewer, said in the table — they take seconds per run):
 *    - js: plain-JS kernel (search/scoring.ts) on the panels, 1 thread;
 *    - js ×2 workers: the same kernel, columns split over 2 worker_threads on SharedArrayBuffers;
 *    - onnx 1t / onnx 2t: onnxruntime MatMul per panel (ml/onnx/scorer.ts), 1 or 2 intra-op threads;
 *      onnx 2t is the index's default here (the chosen method).
 *    Also the chosen method on clustered data, with filters, with fusion, and the selection alone,
 *    and each timing beside a floor measured between its runs (the machine may be shared).
 * 3. Loading 1M rows: buildIndex from 2 KiB BLOB rows, saveIndex, loadIndex (with its CRC).
 * Prints markdown tables and writes bench/results/search.json (git-ignored).
 */
import { execFileSync, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import { createOnnxSum } from '../src-main/engine/ml/onnx/scorer'
import { buildIndex, type EmbeddingRow } from '../src-main/engine/search/build'
import { VectorIndex, type SearchResult } from '../src-main/engine/search/index'
import { createScorer, jsPanelDots, JsPanelScorer, type PanelScorer } from '../src-main/engine/search/scoring'
import { loadIndex, saveIndex } from '../src-main/engine/search/store'
import { TopK } from '../src-main/engine/search/topk'
import { machine } from './ranking-synthetic'

const D = 512
const K = 100
const BATCH = 10
const FLOOR_BYTES = 256 << 20
/** The method the index uses by default here (onnxruntime, 2 intra-op threads). */
const CHOSEN = 'onnx 2t'

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!
const rssGB = () => process.memoryUsage().rss / 1e9

/** Fast seeded uniforms (xorshift32). */
function uniforms(seed: number): () => number {
  let s = seed >>> 0 || 1
  return () => {
    s ^= s << 13
    s >>>= 0
    s ^= s >>> 17
    s ^= s << 5
    s >>>= 0
    return s / 4294967296
  }
}

/**
 * n unit vectors appended to a new index in batches. 'random': each component ~ a sum of four
 * uniforms (close to normal, much cheaper than Box–Muller at 5·10⁸ values); 'clustered': 10,000
 * random centres, each vector a centre plus noise of a third of its norm, rows in random clusters.
 */
function synthetic(n: number, kind: 'random' | 'clustered', seed: number): VectorIndex {
  const u = uniforms(seed)
  const normal = () => u() + u() + u() + u() - 2
  const index = new VectorIndex(D, { modelKey: `synthetic:${kind}` })
  index.reserve(n) // as the library does, knowing its row count
  const centres = kind === 'clustered' ? Float32Array.from({ length: 10_000 * D }, normal) : null
  const B = 65536
  const batch = new Float32Array(B * D)
  for (let r0 = 0; r0 < n; r0 += B) {
    const m = Math.min(B, n - r0)
    for (let i = 0; i < m; i++) {
      const o = i * D
      const c = centres ? Math.floor(u() * 10_000) * D : 0
      let s = 0
      for (let k = 0; k < D; k++) {
        const v = centres ? centres[c + k]! + 0.33 * normal() : normal()
        batch[o + k] = v
        s += v * v
      }
      const inv = 1 / Math.sqrt(s)
      for (let k = 0; k < D; k++) batch[o + k]! *= inv
    }
    index.append(
      Int32Array.from({ length: m }, (_, i) => r0 + i),
      batch.subarray(0, m * D),
      {
        cameras: Int32Array.from({ length: m }, (_, i) => (r0 + i) % 6),
        timestamps: Float64Array.from({ length: m }, (_, i) => 1.7e12 + (r0 + i) * 40),
      },
    )
  }
  return index
}

/** Query rows: gallery vectors (so each has a true match), from rows spread over the index. */
function queriesFrom(index: VectorIndex, m: number): Float32Array {
  const q = new Float32Array(m * D)
  for (let i = 0; i < m; i++) index.vector(Math.floor(((i + 0.5) / m) * index.size), q.subarray(i * D))
  return q
}

// ---- Memory-read floor ----

/**
 * A sum over `bytes` of float32 with 1 or 2 threads per request ('1' or '2' on stdin, seconds on
 * stdout), so the floor can be re-measured between timed runs without reallocating. Widest
 * vectors the compiler offers, 8 accumulators, aligned loads, huge pages when the kernel grants
 * them (the index's arrays get none: this makes the floor, and so the ratios, conservative).
 */
const C_SUM = `
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#ifdef __AVX512F__
#define VEC __m512
#define W 16
#define ADD _mm512_add_ps
#define LOAD _mm512_load_ps
#define ZERO _mm512_setzero_ps
#else
#define VEC __m256
#define W 8
#define ADD _mm256_add_ps
#define LOAD _mm256_load_ps
#define ZERO _mm256_setzero_ps
#endif
static float *buf; static size_t n;
typedef struct { size_t a, b; float r; } job;
static void *sum(void *p) { job *j = p; VEC s[8]; for (int k = 0; k < 8; k++) s[k] = ZERO();
  for (size_t i = j->a; i < j->b; i += 8 * W) for (int k = 0; k < 8; k++) s[k] = ADD(s[k], LOAD(buf + i + W * k));
  for (int k = 1; k < 8; k++) s[0] = ADD(s[0], s[k]); float t[W]; memcpy(t, &s[0], sizeof t); j->r = t[0]; return 0; }
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
int main(int argc, char **argv) { size_t bytes = strtoul(argv[1], 0, 10); n = bytes / 4;
  buf = aligned_alloc(1 << 21, bytes); madvise(buf, bytes, MADV_HUGEPAGE); for (size_t i = 0; i < n; i++) buf[i] = 1;
  int c; while ((c = getchar()) != EOF) { int th = c - '0'; if (th < 1 || th > 2) continue; pthread_t t[2]; job j[2]; double t0 = now();
    for (int k = 0; k < th; k++) { j[k].a = n / th * k; j[k].b = n / th * (k + 1); pthread_create(&t[k], 0, sum, &j[k]); }
    for (int k = 0; k < th; k++) pthread_join(t[k], 0); printf("%.9f\\n", now() - t0); fflush(stdout); } return 0; }
`

/** One way of summing FLOOR_BYTES: returns the milliseconds of one sum on 1 or 2 threads. */
interface FloorProbe {
  name: string
  sum(threads: 1 | 2): Promise<number>
  close(): Promise<void>
}

async function onnxProbe(): Promise<FloorProbe> {
  const x = new Float32Array(FLOOR_BYTES / 4).fill(1)
  const sums = { 1: await createOnnxSum(1), 2: await createOnnxSum(2) }
  return {
    name: 'onnxruntime ReduceSum',
    async sum(threads) {
      const t0 = performance.now()
      await sums[threads].sum(x)
      return performance.now() - t0
    },
    close: async () => void (await Promise.all([sums[1].close(), sums[2].close()])),
  }
}

/** The C sum above, compiled with `cc` into a temporary folder; a string says why not. */
async function cProbe(): Promise<FloorProbe | string> {
  const dir = mkdtempSync(join(tmpdir(), 'lineup-floor-'))
  try {
    writeFileSync(join(dir, 'sum.c'), C_SUM)
    execFileSync('cc', ['-O2', '-march=native', '-pthread', '-o', join(dir, 'sum'), join(dir, 'sum.c')], {
      stdio: 'pipe',
    })
  } catch (err) {
    rmSync(dir, { recursive: true, force: true })
    return `C floor not measured (cc failed: ${(err as Error).message.split('\n')[0]})`
  }
  const child = spawn(join(dir, 'sum'), [String(FLOOR_BYTES)], { stdio: ['pipe', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  return {
    name: 'C AVX loop',
    async sum(threads) {
      child.stdin.write(String(threads))
      const line = await lines.next()
      if (line.done) throw new Error('the C floor probe exited')
      return Number(line.value) * 1000
    },
    async close() {
      child.stdin.end()
      await new Promise((done) => child.once('exit', done))
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** GB/s of each probe on 1 and 2 threads, median of 11 sums each. */
async function measureFloor(probes: FloorProbe[]): Promise<Record<string, Record<1 | 2, number>>> {
  const out: Record<string, Record<1 | 2, number>> = {}
  for (const probe of probes) {
    const rate = { 1: 0, 2: 0 }
    for (const threads of [1, 2] as const) {
      await probe.sum(threads)
      const ts: number[] = []
      for (let r = 0; r < 11; r++) ts.push(await probe.sum(threads))
      rate[threads] = FLOOR_BYTES / median(ts) / 1e6
    }
    out[probe.name] = rate
  }
  return out
}

// ---- The worker_threads method ----

interface WorkerSetup {
  panels: SharedArrayBuffer[]
  capacities: number[]
  size: number
  panelColumns: number
  part: 0 | 1
}

if (!isMainThread && (workerData as { bench?: string })?.bench === 'search') {
  const { panels, capacities, size, panelColumns: P, part } = (workerData as { setup: WorkerSetup }).setup
  const views = panels.map((b) => new Float32Array(b))
  parentPort!.on('message', (msg: { queries: SharedArrayBuffer; m: number; scores: SharedArrayBuffer }) => {
    const q = new Float32Array(msg.queries)
    const scores = new Float32Array(msg.scores)
    for (let p = 0; p < views.length; p++) {
      const w = capacities[p]!
      const filled = Math.min(w, size - p * P)
      const half = Math.floor(filled / 2)
      jsPanelDots(
        q,
        msg.m,
        views[p]!,
        D,
        w,
        part ? half : 0,
        part ? filled : half,
        scores.subarray(p * P),
        size,
      )
    }
    parentPort!.postMessage('done')
  })
}

/** Two workers scoring half of every panel each, on SharedArrayBuffer copies of the panels. */
async function workerMethod(index: VectorIndex) {
  const { panels } = index.layout()
  const shared = panels.map((p) => {
    const b = new SharedArrayBuffer(p.data.byteLength)
    new Float32Array(b).set(p.data)
    return b
  })
  const setup = (part: 0 | 1): WorkerSetup => ({
    panels: shared,
    capacities: panels.map((p) => p.capacity),
    size: index.size,
    panelColumns: index.panelColumns,
    part,
  })
  // A worker does not inherit `--import tsx`: register it there before loading this file.
  const boot = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(import.meta.url)}) })`
  const workers = [0, 1].map(
    (part) => new Worker(boot, { eval: true, workerData: { bench: 'search', setup: setup(part as 0 | 1) } }),
  )
  const search = async (queries: Float32Array, m: number): Promise<Int32Array[]> => {
    const q = new SharedArrayBuffer(queries.byteLength)
    new Float32Array(q).set(queries)
    const scores = new SharedArrayBuffer(4 * m * index.size)
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((done) => {
            w.once('message', () => done())
            w.postMessage({ queries: q, m, scores })
          }),
      ),
    )
    const s = new Float32Array(scores)
    return Array.from({ length: m }, (_, i) => {
      const sel = new TopK(K)
      sel.offer(s, i * index.size, (i + 1) * index.size, -i * index.size)
      return sel.sorted().rows
    })
  }
  return { search, close: () => Promise.all(workers.map((w) => w.terminate())) }
}

// ---- Runs ----

interface Row {
  data: string
  method: string
  n: number
  queries: string
  runs: number
  medianMs: number
  minMs: number
  nearFloorMs: number
  /** 1-minute load average when the row was measured (the machine may be shared). */
  load: number
}

interface Timing {
  runs: number
  medianMs: number
  minMs: number
  /** Median time of the floor probe (2 threads) run alternately with the runs, scaled to N·d·4 bytes. */
  nearFloorMs: number
}

/** The probe run between the timed runs (2 threads): the floor under the same load. */
let alongside: FloorProbe | undefined

async function time(runs: number, n: number, f: () => Promise<unknown>): Promise<Timing> {
  await f() // warm-up
  const ts: number[] = []
  const fs: number[] = []
  for (let r = 0; r < runs; r++) {
    fs.push(await alongside!.sum(2))
    const t0 = performance.now()
    await f()
    ts.push(performance.now() - t0)
  }
  const nearFloorMs = (median(fs) * (n * D * 4)) / FLOOR_BYTES
  return { runs, medianMs: median(ts), minMs: Math.min(...ts), nearFloorMs }
}

function sameTop(a: SearchResult, b: Int32Array | SearchResult): boolean {
  const rows = b instanceof Int32Array ? b : b.rows
  return a.rows.length === rows.length && a.rows.every((r, i) => r === rows[i])
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } })
  const quick = values.quick
  const sizes = quick ? [100_000] : [100_000, 1_000_000]
  const info = await machine()
  const load0 = loadavg()
  console.log(
    `machine: ${info.cpu}, ${info.cores} cores, ${info.memoryGiB} GiB, node ${info.node}; load ${load0.map((l) => l.toFixed(2)).join(' ')}`,
  )
  const fmt = (r: Record<1 | 2, number>) =>
    `${r[1].toFixed(1)} GB/s (1 thread), ${r[2].toFixed(1)} GB/s (2 threads)`
  const c = await cProbe()
  const probes = [await onnxProbe(), ...(typeof c === 'string' ? [] : [c])]
  const cNote = typeof c === 'string' ? `; ${c}` : ''
  alongside = probes[probes.length - 1]!
  const floorLine = (f: Record<string, Record<1 | 2, number>>) =>
    Object.entries(f)
      .map(([name, r]) => `${name} ${fmt(r)}`)
      .join('; ') + cNote
  // Measured at the start and at the end; the fastest of all is the floor (the conservative ratio).
  const floors = [await measureFloor(probes)]
  console.log(`floor (start): ${floorLine(floors[0]!)}`)
  const onnx1 = await createScorer('onnx', { threads: 1 })
  const onnx2 = await createScorer('onnx', { threads: 2 })
  const chosen = onnx2 // the default of ml/onnx/scorer.ts on this machine
  const js = new JsPanelScorer()
  const rows: Row[] = []
  const checks: string[] = []
  const loading: Record<string, number> = {}
  let memory = { indexGB: 0, rssGB: 0 }

  for (const n of sizes) {
    let t0 = performance.now()
    const index = synthetic(n, 'random', n)
    const genS = (performance.now() - t0) / 1000
    console.log(
      `\nN = ${n.toLocaleString('en-US')}: generated and appended in ${genS.toFixed(1)} s; RSS ${rssGB().toFixed(2)} GB`,
    )
    memory = { indexGB: index.byteLength / 1e9, rssGB: rssGB() }
    const q1 = queriesFrom(index, 1)
    const q10 = queriesFrom(index, BATCH)
    // The plain-JS methods take seconds per run at 1M: 3 runs of one query, and no batch there.
    const big = n >= 1_000_000
    const add = (method: string, queries: string, t: Timing, data = 'random') => {
      rows.push({ data, method, n, queries, ...t, load: loadavg()[0]! })
      console.log(
        `  ${method.padEnd(22)} ${queries.padEnd(18)} ${t.medianMs.toFixed(1).padStart(8)} ms (min ${t.minMs.toFixed(1)}, ${t.runs} runs)`,
      )
    }
    const reference = await (async () => {
      index.scorer = chosen
      return { one: await index.search(q1, { k: K }), batch: await index.searchBatch(q10, { k: K }) }
    })()

    for (const [name, scorer, runs1, runs10] of [
      ['onnx 1t', onnx1, 10, 10],
      ['onnx 2t', onnx2, 10, 10],
      ['js', js, big ? 3 : 10, big ? 0 : 10],
    ] as [string, PanelScorer, number, number][]) {
      index.scorer = scorer
      add(name, '1', await time(runs1, n, () => index.search(q1, { k: K })))
      if (runs10 > 0)
        add(name, `batch of ${BATCH}`, await time(runs10, n, () => index.searchBatch(q10, { k: K })))
      const one = await index.search(q1, { k: K })
      checks.push(
        `${name} N=${n}: top-${K} ${sameTop(one, reference.one) ? 'equals' : 'DIFFERS from'} ${CHOSEN}`,
      )
    }
    const workers = await workerMethod(index)
    add('js ×2 workers', '1', await time(big ? 3 : 10, n, () => workers.search(q1, 1)))
    if (!big) add('js ×2 workers', `batch of ${BATCH}`, await time(10, n, () => workers.search(q10, BATCH)))
    checks.push(
      `js ×2 workers N=${n}: top-${K} ${sameTop(reference.one, (await workers.search(q1, 1))[0]!) ? 'equals' : 'DIFFERS from'} ${CHOSEN}`,
    )
    await workers.close()

    index.scorer = chosen
    const filter = { excludeCameras: [0], timeFrom: 1.7e12 + n * 4, timeTo: 1.7e12 + n * 36 }
    add(CHOSEN, '1, filtered', await time(10, n, () => index.search(q1, { k: K, filter })))
    add(CHOSEN, '1, page 10', await time(10, n, () => index.search(q1, { k: K, offset: 9 * K })))
    add(CHOSEN, `${BATCH} fused (mean)`, await time(10, n, () => index.search(q10, { k: K, fusion: 'mean' })))
    add(CHOSEN, `${BATCH} fused (max)`, await time(10, n, () => index.search(q10, { k: K, fusion: 'max' })))
    const scores = Float32Array.from({ length: n }, Math.random)
    add(
      'top-100 selection',
      'scores given',
      await time(10, n, async () => new TopK(K).offer(scores, 0, n, 0)),
    )

    if (n === sizes[sizes.length - 1]) {
      // Loading n rows as SQLite would hand them over, then saving and loading the index file.
      // Rows as better-sqlite3 returns them: a fresh Buffer per BLOB, copied from a row-major pool.
      const pool = queriesFrom(index, 4096)
      const blobRows = function* (): Generator<EmbeddingRow> {
        for (let r = 0; r < n; r++) {
          const vector = Buffer.copyBytesFrom(pool, (r % 4096) * D, D)
          yield { cropId: r, vector, camera: r % 6, identity: null, timestamp: r }
        }
      }
      t0 = performance.now()
      let built: VectorIndex | null = buildIndex(blobRows(), D, {
        modelKey: 'synthetic:random',
        expectedRows: n,
        scorer: chosen,
      })
      loading.buildFromBlobRowsS = (performance.now() - t0) / 1000
      const builtTop = await built.search(q1, { k: K })
      const dir = mkdtempSync(join(tmpdir(), 'lineup-index-'))
      const file = join(dir, 'index.lvi')
      t0 = performance.now()
      await saveIndex(built, file)
      loading.saveS = (performance.now() - t0) / 1000
      built = null
      t0 = performance.now()
      let loaded: VectorIndex | null = await loadIndex(
        file,
        { dim: D, modelKey: 'synthetic:random' },
        { scorer: chosen },
      )
      loading.loadS = (performance.now() - t0) / 1000
      checks.push(
        `loaded index N=${n}: top-${K} ${sameTop(await loaded.search(q1, { k: K }), builtTop) ? 'equals' : 'DIFFERS from'} the saved one's`,
      )
      loaded = null
      t0 = performance.now()
      await loadIndex(file, { dim: D }, { scorer: chosen }).then((i) => i.size)
      loading.loadAgainS = (performance.now() - t0) / 1000
      t0 = performance.now()
      await loadIndex(file, { dim: D, verify: false }, { scorer: chosen })
      loading.loadNoCrcS = (performance.now() - t0) / 1000
      rmSync(dir, { recursive: true, force: true })
      loading.rows = n
      console.log(
        `  loading ${n.toLocaleString('en-US')} rows: buildIndex from BLOB rows ${loading.buildFromBlobRowsS.toFixed(1)} s, saveIndex ${loading.saveS.toFixed(1)} s, loadIndex ${loading.loadS.toFixed(1)} s (again ${loading.loadAgainS.toFixed(1)} s, without CRC ${loading.loadNoCrcS.toFixed(1)} s)`,
      )
    }
  }

  // The chosen method on clustered data at the largest N.
  {
    const n = sizes[sizes.length - 1]!
    const index = synthetic(n, 'clustered', 7)
    index.scorer = chosen
    const q1 = queriesFrom(index, 1)
    const q10 = queriesFrom(index, BATCH)
    for (const [queries, f] of [
      ['1', () => index.search(q1, { k: K })],
      [`batch of ${BATCH}`, () => index.searchBatch(q10, { k: K })],
    ] as const) {
      const t = await time(10, n, f)
      rows.push({ data: 'clustered', method: CHOSEN, n, queries, ...t, load: loadavg()[0]! })
      console.log(`  clustered ${CHOSEN} ${queries.padEnd(12)} ${t.medianMs.toFixed(1)} ms`)
    }
    index.scorer = js
    const exactJs = await index.search(q1, { k: K })
    index.scorer = chosen
    checks.push(
      `clustered N=${n}: ${CHOSEN} top-${K} ${sameTop(await index.search(q1, { k: K }), exactJs) ? 'equals' : 'DIFFERS from'} the plain-JS kernel's`,
    )
  }
  await Promise.all([onnx1.close(), onnx2.close()])
  floors.push(await measureFloor(probes))
  console.log(`floor (end): ${floorLine(floors[1]!)}`)
  await Promise.all(probes.map((p) => p.close()))
  const rates = floors.flatMap((f) => Object.values(f))
  const best = { 1: Math.max(...rates.map((r) => r[1])), 2: Math.max(...rates.map((r) => r[2])) }

  const load1 = loadavg()
  const floorMs = (n: number, t: 1 | 2) => (n * D * 4) / best[t] / 1e6
  const headline = rows.find(
    (r) => r.data === 'random' && r.method === CHOSEN && r.queries === '1' && r.n === sizes[sizes.length - 1],
  )!
  const table = [
    `### Exact top-${K} search, d = ${D}, synthetic unit vectors (median of runs; whole search: scores + selection)`,
    '',
    `Floor: median of 11 sums over 256 MiB each. At the start: ${floorLine(floors[0]!)}. At the end: ${floorLine(floors[1]!)}. Floor time = N·${D}·4 bytes / the fastest rate: ${fmt(best)}.`,
    '',
    '| data | method | N | queries | median (ms) | min (ms) | runs | ms / query | floor 1 core (ms) | × floor 1 core | × floor 2 cores | floor alongside (ms) | × floor alongside | load |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => {
      const perQuery = r.queries.startsWith('batch') ? r.medianMs / BATCH : r.medianMs
      const f1 = floorMs(r.n, 1)
      return `| ${r.data} | ${r.method} | ${r.n.toLocaleString('en-US')} | ${r.queries} | ${r.medianMs.toFixed(1)} | ${r.minMs.toFixed(1)} | ${r.runs} | ${perQuery.toFixed(1)} | ${f1.toFixed(1)} | ${(r.medianMs / f1).toFixed(2)} | ${(r.medianMs / floorMs(r.n, 2)).toFixed(2)} | ${r.nearFloorMs.toFixed(1)} | ${(r.medianMs / r.nearFloorMs).toFixed(2)} | ${r.load.toFixed(1)} |`
    }),
    '',
    `"Floor alongside": a 2-thread sum over 256 MiB (${alongside.name}) run between the timed runs, so under the same load, scaled to the N·d·4 bytes one query reads.`,
    '',
    `Index memory at N = ${sizes[sizes.length - 1]!.toLocaleString('en-US')}: ${memory.indexGB.toFixed(2)} GB of vectors and metadata; process RSS ${memory.rssGB.toFixed(2)} GB after building it.`,
    loading.rows
      ? `Loading ${loading.rows.toLocaleString('en-US')} rows: buildIndex from 2 KiB BLOB rows ${loading.buildFromBlobRowsS!.toFixed(1)} s (SQLite's own read of the rows, ≈ 4 s per PERFORMANCE.md, not included); saveIndex ${loading.saveS!.toFixed(1)} s; loadIndex ${loading.loadS!.toFixed(1)} s with CRC check (${loading.loadAgainS!.toFixed(1)} s again, ${loading.loadNoCrcS!.toFixed(1)} s without).`
      : '',
    `Load average at start ${load0.map((l) => l.toFixed(2)).join(' ')}, at end ${load1.map((l) => l.toFixed(2)).join(' ')} (the machine may be shared: other processes lengthen the runs, the 2-thread ones most).`,
    `Approximate index: none offered. Chosen method (${CHOSEN}), 1 query at N = ${headline.n.toLocaleString('en-US')}: ${headline.medianMs.toFixed(1)} ms = ${(headline.medianMs / floorMs(headline.n, 1)).toFixed(2)}× the 1-core floor, ${(headline.medianMs / floorMs(headline.n, 2)).toFixed(2)}× the 2-core floor, ${(headline.medianMs / headline.nearFloorMs).toFixed(2)}× the floor measured alongside (target ≤ 2×).`,
    '',
    ...checks.map((c) => `- ${c}`),
  ].join('\n')
  console.log(`\n${table}\n`)
  const dir = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'bench/results')
  mkdirSync(dir, { recursive: true })
  const file = join(dir, 'search.json')
  writeFileSync(
    file,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        quick,
        machine: info,
        loadavg: { start: load0, end: load1 },
        floors,
        best,
        rows,
        loading,
        memory,
        checks,
        table,
      },
      null,
      2,
    ),
  )
  console.log(`wrote ${file}`)
}

if (isMainThread) await main()
