/** One schema step: `up` runs inside the migration transaction that also sets `PRAGMA user_version`. */
export interface Migration {
  version: number
  name: string
  up: string
  /**
   * Run with foreign-key enforcement off (SQLite's procedure for rebuilding a table others refer
   * to); PRAGMA foreign_key_check must come back empty before the transaction commits.
   */
  foreignKeysOff?: boolean
}
