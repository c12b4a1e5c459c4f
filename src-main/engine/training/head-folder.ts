/**
 * A fine-tuned head as a portable folder (`lineup train --out DIR`): manifest.json (format,
 * backbone hash and preprocessing, head shape and SHA-256, loss, seed, configuration, backend,
 * metrics before/after), head.bin (W then b, float32 little-endian), centering.bin when the head
 * has camera centering (its means, float32; the camera names in the manifest; format version 2, so
 * a Lineup that cannot apply it refuses the folder), history.json (the online metrics per step and
 * epoch). Written file by file atomically, the manifest last, so a folder
 * with a manifest is complete. `lineup eval --head DIR` reads it back and checks every hash.
 */
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { LineupError } from '../../../src-shared/errors'
import { headBytes, headFromBytes } from '../library/heads'
import { centeringFromStored, centeringMeansBytes } from './centering'
import { writeFileAtomic } from './checkpoint'
import { headHash, type HeadWeights } from './head'

export const HEAD_FORMAT = 'lineup-head'
/** 1: head.bin only; 2: with camera centering (centering.bin). Written as 1 when there is none. */
export const HEAD_FORMAT_VERSION = 2

export interface HeadManifest {
  format: typeof HEAD_FORMAT
  version: number
  createdAt: string
  backbone: { kind: 'onnx' | 'builtin'; key: string; dim: number; preprocess: Record<string, unknown> }
  head: { file: 'head.bin'; inDim: number; outDim: number; sha256: string; fileSha256: string }
  centering?: { file: 'centering.bin'; cameras: string[]; fileSha256: string }
  training: Record<string, unknown>
  metrics: { before: { R1: number; mAP: number } | null; after: { R1: number; mAP: number } | null }
}

export function writeHeadFolder(
  dir: string,
  head: HeadWeights,
  manifest: Omit<HeadManifest, 'format' | 'version' | 'createdAt' | 'head' | 'centering'>,
  history: unknown,
): HeadManifest {
  mkdirSync(dir, { recursive: true })
  const bytes = headBytes(head)
  writeFileAtomic(join(dir, 'head.bin'), [bytes])
  writeFileAtomic(join(dir, 'history.json'), `${JSON.stringify(history)}\n`)
  const means = head.centering ? centeringMeansBytes(head.centering) : null
  if (means) writeFileAtomic(join(dir, 'centering.bin'), [means])
  const full: HeadManifest = {
    format: HEAD_FORMAT,
    version: head.centering ? 2 : 1,
    createdAt: new Date().toISOString(),
    ...manifest,
    head: {
      file: 'head.bin',
      inDim: head.inDim,
      outDim: head.outDim,
      sha256: headHash(head),
      fileSha256: createHash('sha256').update(bytes).digest('hex'),
    },
    ...(head.centering
      ? {
          centering: {
            file: 'centering.bin' as const,
            cameras: head.centering.cameras,
            fileSha256: createHash('sha256').update(means!).digest('hex'),
          },
        }
      : {}),
  }
  writeFileAtomic(join(dir, 'manifest.json'), `${JSON.stringify(full, null, 2)}\n`)
  return full
}

/** Reads a head folder, checking its format and hashes; errors say what is wrong and what to do. */
export function readHeadFolder(dir: string): { manifest: HeadManifest; head: HeadWeights } {
  let manifest: HeadManifest
  try {
    manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as HeadManifest
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT'
    throw new LineupError(
      missing ? 'not-found' : 'invalid-input',
      missing
        ? `${dir} has no manifest.json: give a folder written by lineup train --out`
        : `${join(dir, 'manifest.json')} is not valid JSON: ${(err as Error).message}`,
    )
  }
  if (manifest?.format !== HEAD_FORMAT)
    throw new LineupError(
      'invalid-input',
      `${dir} is not a Lineup head folder (manifest format "${String(manifest?.format)}")`,
    )
  if (manifest.version > HEAD_FORMAT_VERSION)
    throw new LineupError(
      'invalid-input',
      `${dir} was written by a newer Lineup (head format ${manifest.version}); update Lineup`,
    )
  let bytes: Buffer
  try {
    bytes = readFileSync(join(dir, 'head.bin'))
  } catch {
    throw new LineupError('not-found', `${join(dir, 'head.bin')} is missing: the head folder is incomplete`)
  }
  if (createHash('sha256').update(bytes).digest('hex') !== manifest.head.fileSha256)
    throw new LineupError(
      'invalid-input',
      `${join(dir, 'head.bin')} does not match the SHA-256 in its manifest: the file was changed or damaged`,
    )
  const head: HeadWeights = headFromBytes(manifest.head.inDim, manifest.head.outDim, bytes)
  if (manifest.centering) {
    const file = join(dir, 'centering.bin')
    let means: Buffer
    try {
      means = readFileSync(file)
    } catch {
      throw new LineupError('not-found', `${file} is missing: the head folder is incomplete`)
    }
    if (createHash('sha256').update(means).digest('hex') !== manifest.centering.fileSha256)
      throw new LineupError(
        'invalid-input',
        `${file} does not match the SHA-256 in its manifest: the file was changed or damaged`,
      )
    try {
      head.centering = centeringFromStored(head.inDim, JSON.stringify(manifest.centering.cameras), means)
    } catch (err) {
      throw new LineupError('invalid-input', `${file}: ${(err as Error).message}`)
    }
  }
  if (headHash(head) !== manifest.head.sha256)
    throw new LineupError(
      'invalid-input',
      `the head in ${dir} does not match the SHA-256 in its manifest: the folder was changed or damaged`,
    )
  return { manifest, head }
}
