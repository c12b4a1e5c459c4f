/**
 * Fits the built-in descriptor's projection (resources/builtin/lomo-xqda-v1.bin) on Market-1501's
 * bounding_box_train (151 identities, 2,412 crops; never the query or test folders):
 *
 *   node --import tsx bench/builtin-fit.ts [--data ../shared/data/market1501] [--out resources/builtin/lomo-xqda-v1.bin]
 *
 * LOMO descriptors → XQDA (builtin-xqda.ts: cross-camera pairs, λ = 1e-3, 64 directions) → int8
 * (builtin-projection.ts). Deterministic: the same data gives the same file. Prints the file's
 * SHA-256, which builtin.ts pins (BUILTIN_RESOURCE_SHA256): a new file needs a new BUILTIN_VERSION.
 * About 3 minutes on 2 cores.
 */
import { createHash } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { BUILTIN_DIM, BUILTIN_RESOURCE } from '../src-main/engine/features/builtin'
import { LOMO_DIM } from '../src-main/engine/features/builtin-lomo'
import { encodeProjection, quantiseProjection } from '../src-main/engine/features/builtin-projection'
import { fitXqda } from '../src-main/engine/features/builtin-xqda'
import { decodeFolder, lomoRows, readMarketFolder } from './builtin-data'

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const { values } = parseArgs({
  options: {
    data: { type: 'string', default: resolve(repoRoot, '../shared/data/market1501') },
    out: { type: 'string', default: join(repoRoot, 'resources/builtin', BUILTIN_RESOURCE) },
  },
})

const t0 = performance.now()
const train = readMarketFolder(join(values.data!, 'bounding_box_train'))
const x = lomoRows(await decodeFolder(train))
const ids = new Set(train.pids).size
console.log(
  `${train.files.length} training crops of ${ids} identities: LOMO ${LOMO_DIM}-d in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
)
const fit = fitXqda(
  { x, n: train.files.length, d: LOMO_DIM, labels: train.pids, cams: train.cams },
  { dim: BUILTIN_DIM, lambda: 1e-3, log: (line) => console.log(line) },
)
const ev = Array.from(fit.eigenvalues)
console.log(
  `eigenvalues: ${fit.aboveOne} above 1; kept ${fit.r}: ${ev[0]!.toFixed(2)} … ${ev[ev.length - 1]!.toFixed(3)}`,
)
const bytes = encodeProjection(quantiseProjection(fit.projection, fit.mean, fit.d, fit.r))
mkdirSync(dirname(values.out!), { recursive: true })
writeFileSync(values.out!, bytes)
const sha = createHash('sha256').update(bytes).digest('hex')
console.log(`wrote ${values.out} (${bytes.length.toLocaleString('en-US')} bytes) sha256 ${sha}`)
console.log(`total ${((performance.now() - t0) / 1000).toFixed(1)} s`)
