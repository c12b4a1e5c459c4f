import { lstat, readdir, realpath, stat } from 'node:fs/promises'
import { extname, join, relative, sep } from 'node:path'
import type { SkippedFile } from '../../../src-shared/domain'

/** Extensions sharp can decode that camera crops come in. */
export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff', '.gif', '.avif'])

/** Files that live beside crops and are not crops: never reported as skipped. */
const SIDECARS = new Set(['crops.csv', 'thumbs.db', 'desktop.ini', 'source.md', 'readme.txt', 'readme.md'])

export interface ScannedFile {
  /** Absolute path of the file (or of the link to it) inside the root. */
  abs: string
  /** Path relative to the root, with `/` separators. */
  rel: string
}

export interface ScanResult {
  files: ScannedFile[]
  skipped: SkippedFile[]
}

function toRel(root: string, abs: string): string {
  return relative(root, abs).split(sep).join('/')
}

function inside(root: string, target: string): boolean {
  const rel = relative(root, target)
  return rel !== '' && !rel.startsWith('..') && !rel.startsWith(sep) && !/^[a-zA-Z]:/.test(rel)
}

/**
 * Walks `root` (an absolute, real path) recursively, in a stable order. Hidden entries and known
 * sidecar files are ignored; other non-image files, symlinks that leave the folder, broken links
 * and symlinked folders (not followed, to avoid loops) are reported as skipped with a reason.
 */
export async function scanFolder(root: string): Promise<ScanResult> {
  const files: ScannedFile[] = []
  const skipped: SkippedFile[] = []
  const walk = async (dir: string): Promise<void> => {
    let entries
    try {
      entries = await readdir(dir, { withFileTypes: true })
    } catch (err) {
      skipped.push({
        path: toRel(root, dir) || '.',
        reason: `folder cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      })
      return
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue
      const abs = join(dir, entry.name)
      const rel = toRel(root, abs)
      if (entry.isSymbolicLink()) {
        let target: string
        try {
          target = await realpath(abs)
        } catch {
          skipped.push({ path: rel, reason: 'broken symbolic link' })
          continue
        }
        if (!inside(root, target)) {
          skipped.push({
            path: rel,
            reason: `symbolic link points outside the import folder (${target}); not followed`,
          })
          continue
        }
        const info = await stat(target)
        if (info.isDirectory()) {
          skipped.push({
            path: rel,
            reason: 'symbolic link to a folder; not followed (its files are imported from their real place)',
          })
          continue
        }
        if (!info.isFile()) {
          skipped.push({ path: rel, reason: 'not a regular file' })
          continue
        }
      } else if (entry.isDirectory()) {
        await walk(abs)
        continue
      } else if (!entry.isFile()) {
        skipped.push({ path: rel, reason: 'not a regular file' })
        continue
      }
      const lower = entry.name.toLowerCase()
      if (SIDECARS.has(lower)) continue
      if (!IMAGE_EXTENSIONS.has(extname(lower))) {
        skipped.push({
          path: rel,
          reason: `not an image file (${extname(lower) || 'no extension'}); images are ${[...IMAGE_EXTENSIONS].join(' ')}`,
        })
        continue
      }
      files.push({ abs, rel })
    }
  }
  const info = await lstat(root)
  if (!info.isDirectory()) throw new Error(`${root} is not a folder`)
  await walk(root)
  return { files, skipped }
}
