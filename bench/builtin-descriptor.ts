/**
 * Measures the built-in descriptor (builtin:lomo-xqda) on the Market-1501 subset in ../shared:
 *
 *   node --import tsx bench/builtin-descriptor.ts [--split test|train-val] [--data DIR] [--raw-lomo]
 *
 * --split test (default): the shipped descriptor on query/ × bounding_box_test/ (1,676 × 9,311),
 *   standard protocol (evaluateProtocol on squared Euclidean distances of the L2-normalised rows),
 *   next to the RGB stripe-histogram reference of SOURCE.md (17.2 % / 6.3 %); then throughput:
 *   one crop at a time on one core (decode + descriptor), and `embed` in batches of 256.
 *   --raw-lomo also scores LOMO without the projection (26,960-d: ~4 minutes of distances).
 * --split train-val: bounding_box_train only, for tuning. Its 151 identities sorted by number are
 *   split in two halves (even and odd positions); XQDA is fitted on one half and evaluated on the
 *   other (query = the first crop of each identity under each camera, gallery = the rest), then the
 *   halves swap; the two folds are averaged. The test folders are never read.
 *
 * Prints a table and writes bench/results/builtin-descriptor-<split>.json (git-ignored).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { BUILTIN_DIM, BuiltinExtractor, decodeForBuiltin } from '../src-main/engine/features/builtin'
import { LOMO_DIM } from '../src-main/engine/features/builtin-lomo'
import { quantiseProjection } from '../src-main/engine/features/builtin-projection'
import { fitXqda } from '../src-main/engine/features/builtin-xqda'
import {
  RGB_REFERENCE_DIM,
  decodeFolder,
  lomoRows,
  readMarketFolder,
  rgbRows,
  score,
  subset,
  type Scores,
} from './builtin-data'

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const { values } = parseArgs({
  options: {
    split: { type: 'string', default: 'test' },
    data: { type: 'string', default: resolve(repoRoot, '../shared/data/market1501') },
    'raw-lomo': { type: 'boolean', default: false },
  },
})
if (values.split !== 'test' && values.split !== 'train-val') {
  throw new Error(`--split must be test or train-val, got ${values.split}`)
}
const data = values.data!
const results: Record<string, unknown> = { split: values.split, data }
const rows: [string, Scores][] = []

function describeAll(extractor: BuiltinExtractor, rgbs: readonly Uint8Array[]): Float32Array {
  const out = new Float32Array(rgbs.length * BUILTIN_DIM)
  rgbs.forEach((rgb, i) => extractor.describeInto(rgb, out, i * BUILTIN_DIM))
  return out
}

function pct(x: number): string {
  return x.toFixed(1).padStart(5)
}

function printTable(title: string): void {
  console.log(`\n${title}`)
  console.log('descriptor                               R1     R5    R10    mAP  queries')
  for (const [name, s] of rows) {
    console.log(`${name.padEnd(38)} ${pct(s.r1)}  ${pct(s.r5)}  ${pct(s.r10)}  ${pct(s.mAP)}  ${s.queries}`)
  }
}

if (values.split === 'test') {
  const query = readMarketFolder(join(data, 'query'))
  const gallery = readMarketFolder(join(data, 'bounding_box_test'))
  const t0 = performance.now()
  const [qRgb, gRgb] = [await decodeFolder(query), await decodeFolder(gallery)]
  console.log(
    `decoded ${qRgb.length} + ${gRgb.length} crops in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  )

  rows.push([
    'RGB 8×8×8, 6 stripes, sqrt (reference)',
    score(rgbRows(qRgb), rgbRows(gRgb), RGB_REFERENCE_DIM, query, gallery),
  ])
  if (values['raw-lomo']) {
    rows.push([
      'LOMO 26,960-d, no projection',
      score(lomoRows(qRgb), lomoRows(gRgb), LOMO_DIM, query, gallery),
    ])
  }
  const extractor = BuiltinExtractor.open()
  const t1 = performance.now()
  const q = describeAll(extractor, qRgb)
  const g = describeAll(extractor, gRgb)
  const describeMs = (performance.now() - t1) / (qRgb.length + gRgb.length)
  rows.push([`${extractor.key} (${BUILTIN_DIM}-d)`, score(q, g, BUILTIN_DIM, query, gallery)])
  printTable(
    `Market-1501 subset, test split (${query.files.length} queries × ${gallery.files.length} gallery)`,
  )

  // Throughput. One core: one crop at a time, decode then describe (sharp's own threads limited by
  // engine/ingest/decode.ts's setting are not involved: the pipeline is sequential).
  const files = [...query.files, ...gallery.files].slice(0, 2000)
  const bytes = files.map((f) => readFileSync(f))
  const out = new Float32Array(BUILTIN_DIM)
  for (let i = 0; i < 100; i++) extractor.describeInto(await decodeForBuiltin(bytes[i]!, i), out)
  const cpu0 = process.cpuUsage()
  const t2 = performance.now()
  let decodeMs = 0
  for (let i = 0; i < bytes.length; i++) {
    const td = performance.now()
    const rgb = await decodeForBuiltin(bytes[i]!, i)
    decodeMs += performance.now() - td
    extractor.describeInto(rgb, out)
  }
  const seqMs = performance.now() - t2
  const cpu = process.cpuUsage(cpu0)
  const t3 = performance.now()
  for (let i = 0; i < bytes.length; i += 256) await extractor.embed(bytes.slice(i, i + 256))
  const batchMs = performance.now() - t3
  const throughput = {
    crops: bytes.length,
    sequentialCropsPerSecond: (1000 * bytes.length) / seqMs,
    sequentialCpuMsPerCrop: (cpu.user + cpu.system) / 1000 / bytes.length,
    decodeMsPerCrop: decodeMs / bytes.length,
    describeMsPerCrop: describeMs,
    embedBatch256CropsPerSecond: (1000 * bytes.length) / batchMs,
  }
  console.log(
    `\nthroughput over ${bytes.length} crops: one at a time ${throughput.sequentialCropsPerSecond.toFixed(0)} crops/s ` +
      `(${throughput.sequentialCpuMsPerCrop.toFixed(2)} ms CPU per crop; decode ${throughput.decodeMsPerCrop.toFixed(2)} ms, ` +
      `descriptor ${describeMs.toFixed(2)} ms), embed() in batches of 256: ${throughput.embedBatch256CropsPerSecond.toFixed(0)} crops/s`,
  )
  results.throughput = throughput
} else {
  const train = readMarketFolder(join(data, 'bounding_box_train'))
  const rgbs = await decodeFolder(train)
  const lomo = lomoRows(rgbs)
  const rgb = rgbRows(rgbs)
  const ids = [...new Set(train.pids)].sort((a, b) => a - b)
  const folds: Record<string, Scores[]> = {}
  for (const fold of [0, 1]) {
    const evalIds = new Set(ids.filter((_, k) => k % 2 === fold))
    const fitRows: number[] = []
    const qRows: number[] = []
    const gRows: number[] = []
    const seen = new Set<string>()
    train.files.forEach((_, i) => {
      const key = `${train.pids[i]}/${train.cams[i]}`
      if (!evalIds.has(train.pids[i]!)) fitRows.push(i)
      else if (seen.has(key)) gRows.push(i)
      else {
        seen.add(key)
        qRows.push(i)
      }
    })
    const [qf, gf, ff] = [subset(train, qRows), subset(train, gRows), subset(train, fitRows)]
    const pick = (x: Float32Array, d: number, r: number[]): Float32Array => {
      const out = new Float32Array(r.length * d)
      r.forEach((i, k) => out.set(x.subarray(i * d, (i + 1) * d), k * d))
      return out
    }
    const add = (name: string, s: Scores): void => void (folds[name] ??= []).push(s)
    add(
      'RGB 8×8×8, 6 stripes, sqrt (reference)',
      score(
        pick(rgb, RGB_REFERENCE_DIM, qRows),
        pick(rgb, RGB_REFERENCE_DIM, gRows),
        RGB_REFERENCE_DIM,
        qf,
        gf,
      ),
    )
    add(
      'LOMO 26,960-d, no projection',
      score(pick(lomo, LOMO_DIM, qRows), pick(lomo, LOMO_DIM, gRows), LOMO_DIM, qf, gf),
    )
    const fit = fitXqda({
      x: pick(lomo, LOMO_DIM, fitRows),
      n: fitRows.length,
      d: LOMO_DIM,
      labels: ff.pids,
      cams: ff.cams,
    })
    const extractor = BuiltinExtractor.fromProjection(
      quantiseProjection(fit.projection, fit.mean, fit.d, fit.r),
    )
    const describe = (r: number[]): Float32Array =>
      describeAll(
        extractor,
        r.map((i) => rgbs[i]!),
      )
    add(
      `LOMO + XQDA ${BUILTIN_DIM}-d int8 (as shipped)`,
      score(describe(qRows), describe(gRows), BUILTIN_DIM, qf, gf),
    )
    console.log(
      `fold ${fold}: fit on ${fitRows.length} crops of ${ids.length - evalIds.size} ids; ${qRows.length} queries, ${gRows.length} gallery`,
    )
  }
  for (const [name, s] of Object.entries(folds)) {
    const mean = (k: keyof Scores): number => (s[0]![k] + s[1]![k]) / 2
    rows.push([
      name,
      {
        r1: mean('r1'),
        r5: mean('r5'),
        r10: mean('r10'),
        mAP: mean('mAP'),
        queries: s[0]!.queries + s[1]!.queries,
      },
    ])
  }
  printTable('Market-1501 bounding_box_train, train-val (mean of 2 folds; queries summed)')
}

results.scores = Object.fromEntries(rows)
const outFile = join(repoRoot, 'bench/results', `builtin-descriptor-${values.split}.json`)
mkdirSync(dirname(outFile), { recursive: true })
writeFileSync(outFile, JSON.stringify(results, null, 2))
console.log(`\nwrote ${outFile}`)
