// Run by `npm ci` (the `prepare` script): links this project's own `lineup` command into
// node_modules/.bin, so `npx lineup` works in a fresh clone. npm links the bins of dependencies
// only, never the root package's own.
import { chmodSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const binDir = join(root, 'node_modules', '.bin')
const target = join(root, 'src-main', 'cli', 'lineup.js')
mkdirSync(binDir, { recursive: true })
chmodSync(target, 0o755)
if (process.platform === 'win32') {
  writeFileSync(join(binDir, 'lineup.cmd'), `@node "%~dp0\\${relative(binDir, target)}" %*\r\n`)
} else {
  const link = join(binDir, 'lineup')
  rmSync(link, { force: true })
  symlinkSync(relative(binDir, target), link)
}
