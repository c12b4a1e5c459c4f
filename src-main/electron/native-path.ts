import { fileURLToPath } from 'node:url'

/** Where native-setup.ts puts better-sqlite3 built for Electron <version> (repo/out/native/…). */
export function electronBindingPath(electronVersion: string): string {
  // Source (src-main/electron) and bundle (out/main) are both two levels below the repo root.
  return fileURLToPath(
    new URL(`../../out/native/electron-${electronVersion}/better_sqlite3.node`, import.meta.url),
  )
}
