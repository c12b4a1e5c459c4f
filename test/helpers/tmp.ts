import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * A fresh folder in the OS temp dir (never inside the repository); `dispose` removes it.
 * Use one per test file and dispose it in `afterAll`.
 */
export function tempDir(prefix = 'lineup-test-'): { path: string; dispose(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix))
  return { path, dispose: () => rmSync(path, { recursive: true, force: true }) }
}
