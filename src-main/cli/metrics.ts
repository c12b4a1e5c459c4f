import { LineupError } from '../../src-shared/errors'
import { squaredEuclidean } from '../engine/ranking/distances'
import { evaluateProtocol, protocolApVariants, type ProtocolAp } from '../engine/ranking/protocol'
import { kReciprocalRerank, kReciprocalRerankFeatures } from '../engine/ranking/rerank'
import { oneOf, parse, UsageError } from './args'
import { intArrayField, matrixField, readJsonObject } from './json-input'

export const metricsUsage = `lineup metrics <file.json> [--ap standard|trapezoid] [--rerank] [--json]

Evaluates a ranking with the Market-1501 protocol (same-identity-same-camera and junk (−1) gallery
items removed per query, distractors (0) kept; queries without a valid match skipped and counted).
The file holds either "distmat" (Q rows × G numbers) or "q_feats" and "g_feats" (rows of d numbers;
then squared Euclidean distances), plus "q_pids", "g_pids", "q_camids", "g_camids" (integers).

  --ap VARIANT  standard (mean precision at each hit; default) or trapezoid (official MATLAB code)
  --rerank      k-reciprocal re-ranking first (k1 20, k2 6, λ 0.3). Needs features, or
                "distmat_qq" (Q×Q) and "distmat_gg" (G×G) beside "distmat"; matrices are then taken
                as Euclidean distances, as Zhong et al.'s code expects
  --json        one JSON line {"mAP":…,"cmc":{"1":…,"5":…,"10":…,"20":…},"queries":N,"skipped":N}`

export async function metricsCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    ap: { type: 'string' },
    rerank: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  })
  if (positionals.length !== 1) throw new UsageError('give one JSON file')
  const ap: ProtocolAp = oneOf('--ap', values.ap, protocolApVariants, 'standard')
  const file = readJsonObject(positionals[0]!)

  let distmat: Float32Array
  let nq: number
  let ng: number
  let queriesFrom: string
  let galleryFrom: string
  if (file.distmat !== undefined) {
    if (file.q_feats !== undefined || file.g_feats !== undefined) {
      throw new LineupError('invalid-input', 'give either "distmat" or "q_feats"/"g_feats", not both')
    }
    const m = matrixField(file, 'distmat')
    for (const x of m.data)
      if (x < 0) throw new LineupError('invalid-input', 'distmat: distances must be ≥ 0')
    ;[distmat, nq, ng, queriesFrom, galleryFrom] = [m.data, m.rows, m.cols, 'distmat rows', 'distmat columns']
    if (values.rerank) {
      if (file.distmat_qq === undefined || file.distmat_gg === undefined) {
        throw new LineupError(
          'invalid-input',
          '--rerank with "distmat" also needs "distmat_qq" (Q×Q) and "distmat_gg" (G×G), or give features instead',
        )
      }
      const qq = matrixField(file, 'distmat_qq')
      const gg = matrixField(file, 'distmat_gg')
      if (qq.rows !== nq || qq.cols !== nq)
        throw new LineupError('invalid-input', `distmat_qq: must be ${nq}×${nq} (got ${qq.rows}×${qq.cols})`)
      if (gg.rows !== ng || gg.cols !== ng)
        throw new LineupError('invalid-input', `distmat_gg: must be ${ng}×${ng} (got ${gg.rows}×${gg.cols})`)
      distmat = kReciprocalRerank({ qg: distmat, qq: qq.data, gg: gg.data, nq, ng })
    }
  } else {
    if (file.q_feats === undefined || file.g_feats === undefined) {
      throw new LineupError('invalid-input', 'the file needs "distmat", or both "q_feats" and "g_feats"')
    }
    const q = matrixField(file, 'q_feats')
    const g = matrixField(file, 'g_feats')
    if (q.cols !== g.cols)
      throw new LineupError(
        'invalid-input',
        `g_feats: rows have ${g.cols} numbers but q_feats rows have ${q.cols}`,
      )
    ;[nq, ng, queriesFrom, galleryFrom] = [q.rows, g.rows, 'q_feats', 'g_feats']
    distmat = values.rerank
      ? kReciprocalRerankFeatures(q.data, g.data, q.cols)
      : squaredEuclidean(q.data, g.data, q.cols)
  }
  const result = evaluateProtocol(
    {
      distmat,
      qPids: intArrayField(file, 'q_pids', nq, queriesFrom),
      gPids: intArrayField(file, 'g_pids', ng, galleryFrom),
      qCams: intArrayField(file, 'q_camids', nq, queriesFrom),
      gCams: intArrayField(file, 'g_camids', ng, galleryFrom),
    },
    { ap, maxRank: 20 },
  )
  if (result.queries === 0) {
    throw new LineupError(
      'invalid-input',
      `no query has a valid match in the gallery (all ${result.skipped} skipped): check q_pids/g_pids and cameras`,
    )
  }
  const cmc = { '1': result.cmc[0]!, '5': result.cmc[4]!, '10': result.cmc[9]!, '20': result.cmc[19]! }
  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({ mAP: result.mAP, cmc, queries: result.queries, skipped: result.skipped })}\n`,
    )
  } else {
    const pct = (x: number) => `${(100 * x).toFixed(2)} %`
    process.stdout.write(
      `mAP ${pct(result.mAP)} · R1 ${pct(cmc['1'])} · R5 ${pct(cmc['5'])} · R10 ${pct(cmc['10'])} · R20 ${pct(cmc['20'])}\n` +
        `${result.queries} queries evaluated, ${result.skipped} skipped (no valid match)${values.rerank ? ' · after k-reciprocal re-ranking' : ''}\n`,
    )
  }
  return 0
}
