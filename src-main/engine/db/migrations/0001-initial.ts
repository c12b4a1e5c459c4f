import type { Migration } from './types'

/**
 * Schema version 1: the case library (issue #2).
 *
 * - sources: import roots. A crop's original lives at sources.root / crops.rel_path.
 * - crops: one row per distinct original (UNIQUE sha256): the same bytes imported twice are one crop.
 * - thumbs: cached thumbnails (WebP), one per crop, written in the same transaction as the crop.
 * - jobs: long-running work (imports) with status and counters, so an interrupted run can be resumed;
 *   pid + heartbeat_at tell a live job from one whose process died (a pid alone can be reused).
 * - audit_log: append-only (triggers refuse UPDATE and DELETE), each entry hash-chained to the previous.
 */
export const migration: Migration = {
  version: 1,
  name: 'initial',
  up: `
    CREATE TABLE sources (
      id          INTEGER PRIMARY KEY,
      root        TEXT NOT NULL UNIQUE,
      layout      TEXT NOT NULL CHECK (layout IN ('market1501', 'generic')),
      created_at  TEXT NOT NULL
    ) STRICT;

    CREATE TABLE cameras (
      id    INTEGER PRIMARY KEY,
      name  TEXT NOT NULL UNIQUE
    ) STRICT;

    CREATE TABLE jobs (
      id           INTEGER PRIMARY KEY,
      kind         TEXT NOT NULL CHECK (kind IN ('import', 'embed', 'train')),
      status       TEXT NOT NULL CHECK (status IN ('running', 'done', 'cancelled', 'failed', 'interrupted')),
      params       TEXT NOT NULL,
      pid          INTEGER,
      heartbeat_at TEXT,
      done         INTEGER NOT NULL DEFAULT 0,
      total        INTEGER NOT NULL DEFAULT 0,
      started_at   TEXT NOT NULL,
      finished_at  TEXT,
      error        TEXT,
      summary      TEXT
    ) STRICT;

    CREATE TABLE crops (
      id           INTEGER PRIMARY KEY,
      source_id    INTEGER NOT NULL REFERENCES sources(id),
      rel_path     TEXT NOT NULL,
      sha256       TEXT NOT NULL UNIQUE CHECK (length(sha256) = 64),
      bytes        INTEGER NOT NULL CHECK (bytes > 0),
      width        INTEGER NOT NULL CHECK (width > 0),
      height       INTEGER NOT NULL CHECK (height > 0),
      format       TEXT NOT NULL,
      camera_id    INTEGER REFERENCES cameras(id),
      sequence     INTEGER,
      frame        INTEGER,
      box          INTEGER,
      timestamp    TEXT,
      identity     TEXT,
      kind         TEXT NOT NULL CHECK (kind IN ('labelled', 'distractor', 'junk', 'unlabelled')),
      imported_at  TEXT NOT NULL,
      job_id       INTEGER NOT NULL REFERENCES jobs(id),
      UNIQUE (source_id, rel_path)
    ) STRICT;
    CREATE INDEX crops_camera ON crops (camera_id);
    CREATE INDEX crops_identity ON crops (identity) WHERE identity IS NOT NULL;

    CREATE TABLE thumbs (
      crop_id  INTEGER PRIMARY KEY REFERENCES crops(id),
      mime     TEXT NOT NULL,
      data     BLOB NOT NULL
    ) STRICT;

    CREATE TABLE audit_log (
      seq        INTEGER PRIMARY KEY,
      at         TEXT NOT NULL,
      actor      TEXT NOT NULL,
      action     TEXT NOT NULL,
      details    TEXT NOT NULL,
      prev_hash  TEXT NOT NULL,
      hash       TEXT NOT NULL UNIQUE
    ) STRICT;
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
      BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
      BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
  `,
}
