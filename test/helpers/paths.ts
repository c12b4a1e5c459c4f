import { existsSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root (this file is test/helpers/paths.ts). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

/** The shared data folder beside the repository (never copied into it). */
export const sharedDir = resolve(repoRoot, '../shared')

/** Market-1501 subset (see ../shared/data/market1501/SOURCE.md). */
export const marketDir = resolve(sharedDir, 'data/market1501')

/** True when the real Market-1501 subset is present; tests that need it skip (and say why) otherwise. */
export const hasShared = existsSync(resolve(marketDir, 'query'))

/** Prints why a block of tests is skipped, so a green run without ../shared is not mistaken for coverage. */
export function explainSkip(what: string): void {
  if (!hasShared) {
    console.warn(`[skipped] ${what}: needs the real Market-1501 subset at ${marketDir}, which is absent.`)
  }
}

/** The script the `lineup` command runs (it registers tsx and loads src-main/cli/main.ts). */
export const cliEntry = resolve(repoRoot, 'src-main/cli/lineup.js')
