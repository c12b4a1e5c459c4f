/** `lineup eval`'s data side: a Market-1501-layout split read from disk, and its files embedded. */

import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { LineupError } from '../../src-shared/errors'
import type { Extractor } from '../engine/features/types'
import { parseReidName } from '../engine/ingest/names'

const IMAGE_EXT = /\.(jpe?g|png|bmp|webp|tiff?)$/i
/** Files read and embedded per step (the ONNX extractor pipelines decoding with inference within one). */
const STEP = 256

/** One split (query/ or bounding_box_test/): files sorted by name, identities (−1 junk, 0 distractor) and cameras. */
export interface Split {
  files: string[]
  pids: Int32Array
  cams: Int32Array
  /** Camera names as the library records them ('c1'), for heads with camera centering. */
  cameras: string[]
  /** Image files whose names carry no identity and camera. */
  ignored: number
}

/**
 * Embeds image files in steps of `step` (default 256) files, row i of the result for files[i].
 * Errors that name "image k of the batch" are rewritten to name the file.
 */
export async function embedFiles(
  extractor: Extractor,
  files: readonly string[],
  read: (files: readonly string[]) => Uint8Array[] = (fs) => fs.map(readImage),
  onStep?: (done: number) => void,
  step = STEP,
): Promise<Float32Array> {
  const out = new Float32Array(files.length * extractor.dim)
  for (let start = 0; start < files.length; start += step) {
    const bytes = read(files.slice(start, start + step))
    let rows: Float32Array
    try {
      rows = await extractor.embed(bytes)
    } catch (err) {
      throw withFileName(err, files, start)
    }
    out.set(rows, start * extractor.dim)
    onStep?.(bytes.length)
  }
  return out
}

/** Reads one image file; a file that vanished or cannot be read is named in a LineupError. */
export function readImage(file: string): Uint8Array {
  try {
    return readFileSync(file)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new LineupError(
      code === 'ENOENT' ? 'not-found' : 'io',
      `cannot read ${file}: ${(err as Error).message}`,
    )
  }
}

/** Replaces "image 12 of the batch" in an extractor error with the file's path. */
function withFileName(err: unknown, files: readonly string[], start: number): unknown {
  if (!(err instanceof LineupError)) return err
  const m = /image (\d+) of the batch/.exec(err.message)
  if (!m) return err
  return new LineupError(err.kind, err.message.replace(m[0], files[start + Number(m[1])] ?? m[0]))
}

/**
 * Lists `<root>/<name>` and parses each image's Market-1501 / Duke / CUHK03-NP name.
 *
 * @throws LineupError 'not-found' when the folder is missing, 'invalid-input' when it holds no named images
 */
export function readSplit(root: string, name: string): Split {
  const dir = join(root, name)
  let entries: string[]
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a folder')
    entries = readdirSync(dir)
  } catch {
    throw new LineupError(
      'not-found',
      `${dir} not found: expected a Market-1501 layout with query/ and bounding_box_test/`,
    )
  }
  const files: string[] = []
  const pids: number[] = []
  const cams: number[] = []
  const cameras: string[] = []
  let ignored = 0
  for (const entry of entries.filter((e) => IMAGE_EXT.test(e)).sort()) {
    const info = parseReidName(entry)
    if (!info) {
      ignored++
      continue
    }
    files.push(join(dir, entry))
    pids.push(info.kind === 'junk' ? -1 : info.kind === 'distractor' ? 0 : Number(info.identity))
    cams.push(Number(info.camera.slice(1)))
    cameras.push(info.camera)
  }
  if (files.length === 0) {
    throw new LineupError(
      'invalid-input',
      `${dir} holds no images named like Market-1501 (0002_c1s1_000451_03.jpg)${ignored ? `; ${ignored} other images ignored` : ''}`,
    )
  }
  return { files, pids: Int32Array.from(pids), cams: Int32Array.from(cams), cameras, ignored }
}
