import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface TempDir {
  /** The folder; created on first use, so a skipped suite leaves nothing behind. */
  readonly path: string
  /** Removes the folder and everything in it (if it was created). */
  dispose(): void
}

/**
 * A fresh folder in the OS temp dir (never inside the repository). Use one per test file or
 * suite and dispose it in `afterAll`.
 */
export function tempDir(prefix = 'lineup-test-'): TempDir {
  let created: string | null = null
  return {
    get path() {
      created ??= mkdtempSync(join(tmpdir(), prefix))
      return created
    },
    dispose() {
      if (created) rmSync(created, { recursive: true, force: true })
      created = null
    },
  }
}
