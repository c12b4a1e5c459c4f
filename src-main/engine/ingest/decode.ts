import sharp from 'sharp'

/** Pixel-count limit for one crop; larger images are skipped (decompression bombs, wrong folder). */
export const DEFAULT_MAX_PIXELS = 50_000_000
/** Byte limit for one file; read before hashing, so this bounds memory per file. */
export const DEFAULT_MAX_BYTES = 100 * 1024 * 1024
/** Thumbnails fit this box (crops are portrait, ~1:2). */
export const THUMB_WIDTH = 96
export const THUMB_HEIGHT = 192

export interface DecodedImage {
  width: number
  height: number
  format: string
  thumb: Uint8Array
  thumbMime: string
}

export class SkipFile extends Error {}

// libvips threads: two cores here; more threads than cores only adds contention.
sharp.concurrency(1)
sharp.cache(false)

/**
 * Reads the header (size, format), enforces the pixel limit, then fully decodes the image to make a
 * WebP thumbnail, which is what catches truncated and corrupt files. Throws {@link SkipFile} with an
 * analyst-readable reason for any file that is not a usable image.
 */
export async function decodeCrop(bytes: Uint8Array, maxPixels = DEFAULT_MAX_PIXELS): Promise<DecodedImage> {
  if (bytes.length === 0) throw new SkipFile('empty file (0 bytes)')
  let meta: sharp.Metadata
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata()
  } catch (err) {
    throw new SkipFile(`not a readable image (${shortMessage(err)})`)
  }
  const { width, height, format } = meta
  if (!width || !height || !format) throw new SkipFile('not a readable image (no dimensions in header)')
  if (width * height > maxPixels) {
    throw new SkipFile(
      `image too large: ${width}×${height} px exceeds the ${maxPixels.toLocaleString('en-US')}-pixel limit for a crop`,
    )
  }
  let thumb: Buffer
  try {
    thumb = await sharp(bytes, { failOn: 'warning', limitInputPixels: maxPixels })
      .resize({ width: THUMB_WIDTH, height: THUMB_HEIGHT, fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 80, effort: 1 })
      .toBuffer()
  } catch (err) {
    throw new SkipFile(`corrupt or truncated image (${shortMessage(err)})`)
  }
  return { width, height, format, thumb, thumbMime: 'image/webp' }
}

function shortMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err)
  return text
    .split('\n')[0]!
    .replace(/^Input (buffer|file) /, '')
    .slice(0, 160)
}
