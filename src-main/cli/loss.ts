import { apVariants, type ApVariant } from '../engine/ranking/ap'
import { squaredEuclideanAllPairs } from '../engine/ranking/distances'
import { getLoss, lossNames } from '../engine/ranking/registry'
import { LineupError } from '../../src-shared/errors'
import { oneOf, parse, UsageError } from './args'
import { labelField, matrixField, readJsonObject } from './json-input'

export const lossUsage = `lineup loss <file.json> --loss NAME --margin M [--ap standard|paper] [--json]

Computes a batch loss of the ranking core on embeddings, for scripting and checking:
the file holds "embeddings" (n rows of d numbers) and "labels" (n integers or strings).
Distances are squared Euclidean. Prints loss, mis-ranked pairs (under the margin) and the batch's
own mAP and R1 (the paper's online metrics, by plain distance).

  --loss NAME    ${lossNames.join(', ')}
  --margin M     the margin (quadruplet: m1; m2 is 0.5)
  --ap VARIANT   AP of the Rank-Triplet weights and of batch_mAP: standard (default) or paper (Eq. 6)
  --json         one JSON line {"loss":…,"misranked":N,"batch_mAP":…,"batch_R1":…}`

export async function lossCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    loss: { type: 'string' },
    margin: { type: 'string' },
    ap: { type: 'string' },
    json: { type: 'boolean', default: false },
  })
  if (positionals.length !== 1) throw new UsageError('give one JSON file')
  if (!values.loss) throw new UsageError(`--loss is required: one of ${lossNames.join(', ')}`)
  const name = oneOf('--loss', values.loss, lossNames, 'rank-triplet')
  if (values.margin === undefined) throw new UsageError('--margin is required (e.g. --margin 0.3)')
  const margin = Number(values.margin)
  if (!Number.isFinite(margin) || margin < 0)
    throw new UsageError(`--margin must be a number ≥ 0 (got "${values.margin}")`)
  const ap: ApVariant = oneOf('--ap', values.ap, apVariants, 'standard')

  const file = readJsonObject(positionals[0]!)
  const emb = matrixField(file, 'embeddings')
  const labels = labelField(file, 'labels', emb.rows, 'embeddings')
  if (emb.rows < 2) throw new LineupError('invalid-input', 'embeddings: a batch needs at least 2 rows')
  const counts = new Map<number, number>()
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1)
  if (![...counts.values()].some((c) => c >= 2)) {
    throw new LineupError(
      'invalid-input',
      'labels: no two items share a label, so the batch has no positive pair (give each identity ≥ 2 images)',
    )
  }
  const D = squaredEuclideanAllPairs(emb.data, emb.cols)
  const r = getLoss(name)(D, labels, { margin, ap })
  const out = { loss: r.loss, misranked: r.misranked, batch_mAP: r.batchMAP, batch_R1: r.batchR1 }
  if (values.json) process.stdout.write(`${JSON.stringify(out)}\n`)
  else {
    process.stdout.write(
      `${name} loss ${r.loss.toPrecision(6)} (margin ${margin}) · mis-ranked pairs ${r.misranked}\n` +
        `batch mAP ${(100 * r.batchMAP).toFixed(2)} % · R1 ${(100 * r.batchR1).toFixed(2)} % over ${r.validQueries} of ${emb.rows} items\n`,
    )
  }
  return 0
}
