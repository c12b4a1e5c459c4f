/**
 * The simulated analyst (issue #6): the whole loop through the engine's service, as the UI drives it.
 *
 *   node --import tsx bench/simulated-analyst.ts [--queries 10] [--top 20] [--seed 7] [--epochs 60] [--loss rank-triplet]
 *
 * 1. A fresh library of Market-1501's bounding_box_train/ (2,412 crops, 151 identities), embedded
 *    with the OSNet model (../shared/models).
 * 2. `--queries` crops of distinct training identities (by the seed) become persons of interest;
 *    for each, an oracle marks the top `--top` results of its search from the ground truth
 *    ('same' when the identity matches, else 'different'). With `--interactive` it marks as an
 *    analyst does in the UI: the list re-ranks after every mark and the next mark goes to the
 *    best-ranked unmarked result.
 * 3. Each query's AP over the whole library: plain search, and after the instant re-rank (confirmed
 *    crops join the query, rejected ones push look-alikes down; the confirmed crops are shown first,
 *    as the analyst sees them).
 * 4. train.start fine-tunes on those persons (rejections as extra negatives); the job's own
 *    before/after comparison on held-out persons is reported too.
 * 5. Held-out: R1 / mAP of query/ × bounding_box_test/ (identities never marked) with the backbone
 *    and through the new head (same features, from the feature cache).
 * Writes a markdown table to stdout and bench/results/simulated-analyst.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { openBackbone, splitFeatures } from '../src-main/cli/backbone'
import { readSplit } from '../src-main/cli/eval-data'
import { loadHead } from '../src-main/engine/library/heads'
import { getModel } from '../src-main/engine/library/models'
import { applyHeadOnnx } from '../src-main/engine/ml/onnx/head-applier'
import { squaredEuclidean } from '../src-main/engine/ranking/distances'
import { averagePrecision } from '../src-main/engine/ranking/ap'
import { centerRows } from '../src-main/engine/training/centering'
import { evaluateProtocol } from '../src-main/engine/ranking/protocol'
import { LineupService } from '../src-main/engine/service'
import { Rng } from '../src-main/engine/training/rng'
import type { JobInfo, TrainSummary } from '../src-shared/domain'

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const market = resolve(repoRoot, '../shared/data/market1501')
const osnet = resolve(repoRoot, '../shared/models/osnet_x0_25_msmt17/osnet_x0_25_msmt17.onnx')

const { values } = parseArgs({
  options: {
    queries: { type: 'string', default: '10' },
    top: { type: 'string', default: '20' },
    seed: { type: 'string', default: '7' },
    epochs: { type: 'string', default: '60' },
    loss: { type: 'string', default: 'rank-triplet' },
    interactive: { type: 'boolean', default: false },
    'no-centering': { type: 'boolean', default: false },
  },
})
const interactive = values.interactive === true
const nQueries = Number(values.queries)
const top = Number(values.top)
const seed = Number(values.seed)

async function waitFor(service: LineupService, job: JobInfo): Promise<JobInfo> {
  for (;;) {
    const j = await service['jobs.get']({ id: job.id })
    if (j.status !== 'running') return j
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** AP (the ranking core's, standard) of a ranked list of crop ids against the positives. */
function apOf(ranked: readonly number[], positives: ReadonlySet<number>): number {
  const ranks: number[] = []
  ranked.forEach((id, i) => {
    if (positives.has(id)) ranks.push(i + 1)
  })
  // Positives missing from the list count as never found (rank ∞), as before: AP divides by all of them.
  return (averagePrecision(ranks, ranks.length) * ranks.length) / Math.max(1, positives.size)
}

const pct = (x: number) => (100 * x).toFixed(2)
const started = new Date()
const load0 = loadavg()
const dir = mkdtempSync(join(tmpdir(), 'lineup-sim-'))
const dbPath = join(dir, 'case.lineup')
const service = new LineupService({ dbPath, host: 'browser', analyst: 'oracle' })
try {
  let t = performance.now()
  const imp = await waitFor(
    service,
    await service['import.start']({ folder: join(market, 'bounding_box_train'), layout: 'auto' }),
  )
  if (imp.status !== 'done') throw new Error(`import ${imp.status}: ${imp.error}`)
  const model = await service['models.add']({ path: osnet, activate: true })
  const emb = await waitFor(service, await service['embed.start']({ modelId: model.id }))
  if (emb.status !== 'done') throw new Error(`embed ${emb.status}: ${emb.error}`)
  const setupSeconds = (performance.now() - t) / 1000

  // Crops and identities of the library.
  const crops = service.db
    .prepare(`SELECT id, identity FROM crops WHERE kind = 'labelled' ORDER BY id`)
    .all() as { id: number; identity: string }[]
  const byIdentity = new Map<string, number[]>()
  for (const c of crops) byIdentity.set(c.identity, [...(byIdentity.get(c.identity) ?? []), c.id])
  const identityOf = new Map(crops.map((c) => [c.id, c.identity]))
  const rng = new Rng(seed)
  const identities = rng.shuffle([...byIdentity.keys()].filter((i) => byIdentity.get(i)!.length >= 4).sort())
  const chosen = identities.slice(0, nQueries)

  const perQuery: {
    identity: string
    positives: number
    confirmed: number
    rejected: number
    plain: number
    instant: number
    instantMs: number
  }[] = []
  for (const identity of chosen) {
    const members = byIdentity.get(identity)!
    const query = members[rng.int(members.length)]!
    const positives = new Set(members.filter((m) => m !== query))
    const person = await service['persons.create']({ queryCropId: query })
    const all = crops.length
    const plain = await service['search.query']({
      cropIds: [query],
      k: all,
      offset: 0,
      fusion: 'mean',
      excludeQueryCameras: false,
      excludeQueries: true,
    })
    const plainIds = plain.hits.map((h) => h.crop.id)
    const confirmed: number[] = []
    const rejected: number[] = []
    // Plain: the top results of the first ranking. Interactive (as in the UI): the list re-ranks
    // after every mark, and the next mark goes to the best-ranked result not marked yet.
    let ranked = plainIds
    for (let n = 0; n < top; n++) {
      const marked = new Set([...confirmed, ...rejected])
      const i = interactive ? ranked.findIndex((id) => !marked.has(id)) : n
      const id = ranked[i]
      if (id === undefined) break
      const same = identityOf.get(id) === identity
      await service['marks.set']({
        personId: person.id,
        cropId: id,
        verdict: same ? 'same' : 'different',
        modelId: model.id,
        rank: i + 1,
      })
      ;(same ? confirmed : rejected).push(id)
      if (!interactive) continue
      const re = await service['search.query']({
        cropIds: [query, ...confirmed],
        rejectIds: rejected,
        k: 200,
        offset: 0,
        fusion: 'mean',
        excludeQueryCameras: false,
        excludeQueries: true,
      })
      ranked = re.hits.map((h) => h.crop.id)
    }
    const t0 = performance.now()
    const re = await service['search.query']({
      cropIds: [query, ...confirmed],
      rejectIds: rejected,
      k: all,
      offset: 0,
      fusion: 'mean',
      excludeQueryCameras: false,
      excludeQueries: true,
    })
    const instantMs = performance.now() - t0
    // What the analyst sees: the confirmed crops first, then the re-ranked rest.
    const instantIds = [...confirmed, ...re.hits.map((h) => h.crop.id)]
    perQuery.push({
      identity,
      positives: positives.size,
      confirmed: confirmed.length,
      rejected: rejected.length,
      plain: apOf(plainIds, positives),
      instant: apOf(instantIds, positives),
      instantMs,
    })
  }

  t = performance.now()
  const trainJob = await waitFor(
    service,
    await service['train.start']({
      modelId: model.id,
      loss: values.loss as 'rank-triplet',
      epochs: Number(values.epochs),
      seed,
      cameraCentering: !values['no-centering'],
    }),
  )
  if (trainJob.status !== 'done') throw new Error(`fine-tune ${trainJob.status}: ${trainJob.error}`)
  const trainWall = (performance.now() - t) / 1000
  const summary = trainJob.summary as TrainSummary
  const head = loadHead(service.db, getModel(service.db, summary.modelId))

  // Held out: the test split, identities never marked, through the backbone and the new head.
  const backbone = await openBackbone({ model: osnet })
  const q = readSplit(market, 'query')
  const g = readSplit(market, 'bounding_box_test')
  const qf = (await splitFeatures(backbone, q.files, true)).features
  const gf = (await splitFeatures(backbone, g.files, true)).features
  await backbone.extractor.close()
  const evaluate = (a: Float32Array, b: Float32Array, d: number) => {
    const r = evaluateProtocol({
      distmat: squaredEuclidean(a, b, d),
      qPids: q.pids,
      gPids: g.pids,
      qCams: q.cams,
      gCams: g.cams,
    })
    return { R1: r.cmc[0]!, mAP: r.mAP }
  }
  const before = evaluate(qf, gf, backbone.extractor.dim)
  const after = evaluate(
    await applyHeadOnnx(head, qf, q.files.length, q.cameras),
    await applyHeadOnnx(head, gf, g.files.length, g.cameras),
    head.outDim,
  )
  // The part of the gain that needs no marks: the backbone's vectors centred on the library's
  // camera means, without any head.
  const centeredOnly = head.centering
    ? evaluate(
        centerRows(head.centering, qf, q.files.length, q.cameras),
        centerRows(head.centering, gf, g.files.length, g.cameras),
        backbone.extractor.dim,
      )
    : null

  const mean = (f: (r: (typeof perQuery)[number]) => number) =>
    perQuery.reduce((s, r) => s + f(r), 0) / perQuery.length
  const result = {
    date: started.toISOString(),
    machine: `${cpus()[0]?.model ?? '?'} × ${cpus().length}`,
    load: { start: load0, end: loadavg() },
    queries: nQueries,
    top,
    seed,
    loss: values.loss,
    epochs: Number(values.epochs),
    setupSeconds,
    marked: {
      confirmed: mean((r) => r.confirmed) * perQuery.length,
      rejected: mean((r) => r.rejected) * perQuery.length,
    },
    markedQueries: {
      plainMAP: mean((r) => r.plain),
      instantMAP: mean((r) => r.instant),
      instantMs: mean((r) => r.instantMs),
    },
    fineTune: {
      steps: summary.steps,
      trainSeconds: summary.trainSeconds,
      wallSeconds: trainWall,
      backend: summary.backend,
      comparison: {
        heldOut: summary.comparison.heldOut,
        persons: summary.comparison.persons.length,
        before: summary.comparison.before,
        after: summary.comparison.after,
      },
    },
    cameraCentering: head.centering ? head.centering.cameras : null,
    heldOutTest: { before, centeredOnly, after },
    perQuery,
  }
  mkdirSync(join(repoRoot, 'bench/results'), { recursive: true })
  writeFileSync(
    join(repoRoot, 'bench/results/simulated-analyst.json'),
    `${JSON.stringify(result, null, 2)}\n`,
  )
  process.stdout.write(
    [
      `simulated analyst${interactive ? ' (interactive)' : ''}${values['no-centering'] ? ' (no camera centering)' : ''}: ${nQueries} queries × top ${top}, seed ${seed}, ${values.loss}, ${values.epochs} epochs (${result.machine}; load ${load0.map((x) => x.toFixed(1)).join(' / ')})`,
      `marks: ${result.marked.confirmed} same, ${result.marked.rejected} different`,
      '',
      '| measure | before | after |',
      '|---|---|---|',
      `| marked queries, AP over the library (mean of ${nQueries}) — instant re-rank only | ${pct(result.markedQueries.plainMAP)} | ${pct(result.markedQueries.instantMAP)} |`,
      `| held-out persons of the case (job's comparison, ${result.fineTune.comparison.persons} persons, held out: ${summary.comparison.heldOut}) mAP | ${pct(summary.comparison.before.mAP)} | ${pct(summary.comparison.after.mAP)} |`,
      `| test split (query × bounding_box_test, never marked) R1 | ${pct(before.R1)} | ${pct(after.R1)} |`,
      `| test split mAP | ${pct(before.mAP)} | ${pct(after.mAP)} |`,
      ...(centeredOnly
        ? [
            `| test split R1 / mAP with camera centering alone (no head, no marks) | ${pct(before.R1)} / ${pct(before.mAP)} | ${pct(centeredOnly.R1)} / ${pct(centeredOnly.mAP)} |`,
          ]
        : []),
      '',
      `instant re-rank ${result.markedQueries.instantMs.toFixed(1)} ms per query (2,412 crops); fine-tune ${summary.steps} steps, ${summary.trainSeconds.toFixed(1)} s training, ${trainWall.toFixed(1)} s job wall time on ${summary.backend}; set-up (import + embed) ${setupSeconds.toFixed(0)} s`,
      '',
    ].join('\n'),
  )
} finally {
  await service.close()
  rmSync(dir, { recursive: true, force: true })
}
