import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { squaredEuclidean, squaredEuclideanAllPairs } from '../../src-main/engine/ranking/distances'
import { evaluateProtocol } from '../../src-main/engine/ranking/protocol'
import { kReciprocalRerankFeatures } from '../../src-main/engine/ranking/rerank'
import { getLoss } from '../../src-main/engine/ranking/registry'
import { jsonLines, runCli } from '../helpers/cli'
import { tempDir } from '../helpers/tmp'
import { mulberry32 } from '../unit/ranking/helpers'

const tmp = tempDir('lineup-cli-ranking-')
afterAll(() => tmp.dispose())
let fileNo = 0
function file(content: unknown): string {
  const path = join(tmp.path, `in-${fileNo++}.json`)
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content))
  return path
}

/** A small re-ID problem: 8 identities, clustered features, 3 cameras, a junk and a distractor. */
function problem() {
  const rand = mulberry32(5)
  const d = 6
  const centres = Array.from({ length: 8 }, () => Array.from({ length: d }, () => rand() * 2 - 1))
  const feat = (pid: number) => centres[pid % 8]!.map((c) => c + (rand() - 0.5) * 0.9)
  const q_pids = [1, 2, 3, 4, 5, 6, 7]
  const q_camids = q_pids.map((p) => p % 3)
  const g_pids = [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 0, -1, 0]
  const g_camids = g_pids.map((_, i) => i % 3)
  return {
    q_feats: q_pids.map(feat),
    g_feats: g_pids.map((p) => feat(p < 0 ? 1 : p)),
    q_pids,
    g_pids,
    q_camids,
    g_camids,
    d,
  }
}

const flat = (rows: number[][]) => Float32Array.from(rows.flat())

describe('lineup metrics', () => {
  const p = problem()
  const direct = (distmat: Float32Array, ap: 'standard' | 'trapezoid' = 'standard') =>
    evaluateProtocol(
      {
        distmat,
        qPids: Int32Array.from(p.q_pids),
        gPids: Int32Array.from(p.g_pids),
        qCams: Int32Array.from(p.q_camids),
        gCams: Int32Array.from(p.g_camids),
      },
      { ap, maxRank: 20 },
    )

  it('evaluates features with squared Euclidean distances, as the engine does', async () => {
    const r = await runCli(['metrics', file(p), '--json'])
    expect(r.code).toBe(0)
    const out = jsonLines(r.stdout).at(-1)!
    const ref = direct(squaredEuclidean(flat(p.q_feats), flat(p.g_feats), p.d))
    expect(out).toEqual({
      mAP: ref.mAP,
      cmc: { '1': ref.cmc[0], '5': ref.cmc[4], '10': ref.cmc[9], '20': ref.cmc[19] },
      queries: 7,
      skipped: 0,
    })
  })

  it('gives the same figures from the distance matrix, and the trapezoid AP on request', async () => {
    const D = squaredEuclidean(flat(p.q_feats), flat(p.g_feats), p.d)
    const rows = Array.from({ length: 7 }, (_, i) => Array.from(D.subarray(i * 17, (i + 1) * 17)))
    const { q_pids, g_pids, q_camids, g_camids } = p
    const r = await runCli([
      'metrics',
      file({ distmat: rows, q_pids, g_pids, q_camids, g_camids }),
      '--ap',
      'trapezoid',
      '--json',
    ])
    expect(jsonLines(r.stdout).at(-1)!.mAP).toBeCloseTo(direct(D, 'trapezoid').mAP, 6)
  })

  it('re-ranks features with k-reciprocal encoding', async () => {
    const r = await runCli(['metrics', file(p), '--rerank', '--json'])
    const ref = direct(kReciprocalRerankFeatures(flat(p.q_feats), flat(p.g_feats), p.d))
    expect(jsonLines(r.stdout).at(-1)!.mAP).toBeCloseTo(ref.mAP, 6)
  })

  it.each([
    [{ ...problem(), g_pids: [1, 2] }, /g_pids: has 2 entries but g_feats has 17/],
    [
      {
        ...problem(),
        q_feats: [
          [1, 2, 3, 4, 5, 6],
          [1, 2],
        ],
      },
      /q_feats\[1\]: has 2 values but q_feats\[0\] has 6 \(ragged rows\)/,
    ],
    [
      { ...problem(), q_feats: [[1, 2, 3, 4, 5, null]] },
      /q_feats\[0\]\[5\]: must be a finite number \(got null\)/,
    ],
    [{ ...problem(), q_camids: undefined }, /q_camids: missing/],
    [{ ...problem(), distmat: [[1]] }, /either "distmat" or "q_feats"\/"g_feats", not both/],
    [{ q_pids: [1] }, /needs "distmat", or both "q_feats" and "g_feats"/],
    [{ ...problem(), g_pids: problem().g_pids.map(() => 99) }, /no query has a valid match/],
  ])('refuses bad input with the field named (%#)', async (content, message) => {
    const r = await runCli(['metrics', file(content), '--json'])
    expect(r.code).toBe(1)
    expect(r.stderr).not.toMatch(/\n\s+at /) // no stack trace
    expect(jsonLines(r.stdout).at(-1)).toEqual({
      error: { kind: 'invalid-input', message: expect.stringMatching(message) },
    })
  })

  it('refuses a file that is not JSON, and a missing file', async () => {
    expect((await runCli(['metrics', file('{"distmat": [[1,'), '--json'])).stderr).toMatch(
      /is not valid JSON/,
    )
    expect((await runCli(['metrics', join(tmp.path, 'nope.json')])).stderr).toMatch(
      /cannot read .*nope\.json: ENOENT/,
    )
  })

  it('asks for distmat_qq/distmat_gg when re-ranking a distance matrix', async () => {
    const r = await runCli([
      'metrics',
      file({ distmat: [[1, 2]], q_pids: [1], g_pids: [1, 2], q_camids: [0], g_camids: [1, 1] }),
      '--rerank',
    ])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/--rerank with "distmat" also needs "distmat_qq"/)
  })
})

describe('lineup loss', () => {
  const rand = mulberry32(9)
  const labels = [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
  const embeddings = labels.map(() => [rand(), rand(), rand(), rand()])

  it.each(['rank-triplet', 'baseline', 'contrastive', 'triplet', 'batch-hard', 'quadruplet'])(
    '%s: prints what the ranking core computes',
    async (name) => {
      const r = await runCli([
        'loss',
        file({ embeddings, labels }),
        '--loss',
        name,
        '--margin',
        '0.3',
        '--json',
      ])
      expect(r.code).toBe(0)
      const D = squaredEuclideanAllPairs(flat(embeddings), 4)
      const ref = getLoss(name)(D, labels, { margin: 0.3 })
      expect(jsonLines(r.stdout).at(-1)).toEqual({
        loss: ref.loss,
        misranked: ref.misranked,
        batch_mAP: ref.batchMAP,
        batch_R1: ref.batchR1,
      })
    },
  )

  it('accepts string labels and the paper AP variant', async () => {
    const r = await runCli([
      'loss',
      file({ embeddings, labels: labels.map((l) => `id-${l}`) }),
      '--loss',
      'rank-triplet',
      '--margin',
      '0.3',
      '--ap',
      'paper',
      '--json',
    ])
    expect(r.code).toBe(0)
  })

  it.each([
    [{ embeddings, labels: labels.slice(1) }, /labels: has 11 entries but embeddings has 12/],
    [{ embeddings: [[1, 2], [3]], labels: [0, 0] }, /embeddings\[1\]: has 1 values/],
    [
      {
        embeddings: [
          [1, 2],
          [3, 4],
        ],
        labels: [0, 1],
      },
      /no positive pair/,
    ],
    [
      {
        embeddings: [
          [1, 2],
          [3, 4],
        ],
        labels: [0, 1.5],
      },
      /labels\[1\]: must be an integer or a non-empty string/,
    ],
  ])('refuses bad input with the field named (%#)', async (content, message) => {
    const r = await runCli(['loss', file(content), '--loss', 'triplet', '--margin', '1', '--json'])
    expect(r.code).toBe(1)
    expect(jsonLines(r.stdout).at(-1)).toEqual({
      error: { kind: 'invalid-input', message: expect.stringMatching(message) },
    })
  })

  it('names the bad flag: unknown loss, missing or negative margin', async () => {
    const f = file({ embeddings, labels })
    const unknown = await runCli(['loss', f, '--loss', 'arcface', '--margin', '1'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(
      /--loss must be one of rank-triplet, baseline, contrastive, triplet, batch-hard, quadruplet/,
    )
    expect((await runCli(['loss', f, '--loss', 'triplet'])).stderr).toMatch(/--margin is required/)
    expect((await runCli(['loss', f, '--loss', 'triplet', '--margin=-1'])).stderr).toMatch(
      /--margin must be a number ≥ 0/,
    )
  })
})
