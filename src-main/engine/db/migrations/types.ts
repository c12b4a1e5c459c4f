/** One schema step: `up` runs inside the migration transaction that also sets `PRAGMA user_version`. */
export interface Migration {
  version: number
  name: string
  up: string
}
