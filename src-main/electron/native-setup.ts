/**
 * `npm start` step: fetches better-sqlite3's native module built for Electron's ABI into
 * out/native/electron-<version>/, leaving node_modules (used by the CLI, the server and the tests
 * under plain Node) untouched. The Electron main process points better-sqlite3 at it through
 * LINEUP_SQLITE_BINDING. sharp and onnxruntime-node use Node-API and need no rebuild.
 *
 * Needs the network once (like Electron's own binary); it cannot run on the offline CI machine.
 */
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, copyFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { electronBindingPath } from './native-path'

const require = createRequire(import.meta.url)
const electronVersion = (
  JSON.parse(readFileSync(require.resolve('electron/package.json'), 'utf8')) as { version: string }
).version
const target = electronBindingPath(electronVersion)

if (existsSync(target)) {
  process.stdout.write(`better-sqlite3 for Electron ${electronVersion}: ${target}\n`)
} else {
  const pkgDir = dirname(require.resolve('better-sqlite3/package.json'))
  const work = mkdtempSync(join(tmpdir(), 'lineup-native-'))
  try {
    cpSync(pkgDir, work, { recursive: true, filter: (src) => !src.includes(`${join(pkgDir, 'build')}`) })
    const prebuild = require.resolve('prebuild-install/bin.js')
    try {
      execFileSync(
        process.execPath,
        [prebuild, '--runtime', 'electron', '--target', electronVersion, '--arch', process.arch],
        {
          cwd: work,
          stdio: 'inherit',
        },
      )
    } catch {
      process.stdout.write(
        'no prebuilt better-sqlite3 for this Electron; compiling it (needs a C++ toolchain)\n',
      )
      execFileSync(
        'npx',
        [
          '--yes',
          'node-gyp',
          'rebuild',
          '--release',
          `--target=${electronVersion}`,
          '--runtime=electron',
          '--dist-url=https://electronjs.org/headers',
        ],
        { cwd: work, stdio: 'inherit', shell: process.platform === 'win32' },
      )
    }
    mkdirSync(dirname(target), { recursive: true })
    copyFileSync(join(work, 'build', 'Release', 'better_sqlite3.node'), target)
    process.stdout.write(`better-sqlite3 for Electron ${electronVersion} → ${target}\n`)
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}
