import { homedir } from 'node:os'
import { join } from 'node:path'

/**
 * Where the analyst's library lives when no `--db` is given: the same folder Electron uses as
 * `userData` for an app named Lineup, so the desktop app and `lineup serve` open the same library.
 */
export function defaultLibraryPath(): string {
  const home = homedir()
  const base =
    process.platform === 'win32'
      ? (process.env.APPDATA ?? join(home, 'AppData', 'Roaming'))
      : process.platform === 'darwin'
        ? join(home, 'Library', 'Application Support')
        : (process.env.XDG_CONFIG_HOME ?? join(home, '.config'))
  return join(base, 'Lineup', 'library.lineup')
}
