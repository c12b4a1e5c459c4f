import type { Migration } from './types'

/**
 * Schema version 3: fine-tuned model versions and training runs (issue #5).
 *
 * - models gains kind 'head': a projection head on a base model (base_model_id), whose vectors
 *   are the base model's passed through the head. SQLite cannot change a CHECK constraint, so the
 *   table is rebuilt (same ids, same rows) with foreign keys off, and checked before commit.
 * - heads: the weights of a 'head' model (W inDim×outDim row-major then b, float32 little-endian)
 *   and their SHA-256, which is also in the model's key (`head:<sha256>`).
 * - training_runs: one fine-tune (base model, loss, seed, configuration, backend, status, the
 *   before/after summary, the model it produced); training_steps and training_epochs: its online
 *   metrics (paper Fig. 5), per step and per epoch with the validation figures. NULL for a figure
 *   a loss does not have (softmax has no ranking loss on validation batches).
 */
export const migration: Migration = {
  version: 3,
  name: 'training',
  foreignKeysOff: true,
  up: `
    CREATE TABLE models_v3 (
      id             INTEGER PRIMARY KEY,
      key            TEXT NOT NULL UNIQUE,
      kind           TEXT NOT NULL CHECK (kind IN ('onnx', 'builtin', 'head')),
      name           TEXT NOT NULL,
      dim            INTEGER NOT NULL CHECK (dim > 0),
      config         TEXT NOT NULL,
      file           TEXT,
      bytes          INTEGER,
      created_at     TEXT NOT NULL,
      active         INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1)),
      base_model_id  INTEGER REFERENCES models(id),
      CHECK ((kind = 'onnx') = (file IS NOT NULL)),
      CHECK ((kind = 'head') = (base_model_id IS NOT NULL))
    ) STRICT;
    INSERT INTO models_v3 (id, key, kind, name, dim, config, file, bytes, created_at, active)
      SELECT id, key, kind, name, dim, config, file, bytes, created_at, active FROM models;
    DROP TABLE models;
    ALTER TABLE models_v3 RENAME TO models;
    CREATE UNIQUE INDEX models_single_active ON models (active) WHERE active = 1;

    CREATE TABLE heads (
      model_id  INTEGER PRIMARY KEY REFERENCES models(id),
      in_dim    INTEGER NOT NULL CHECK (in_dim > 0),
      out_dim   INTEGER NOT NULL CHECK (out_dim > 0),
      weights   BLOB NOT NULL CHECK (length(weights) = 4 * (in_dim + 1) * out_dim),
      sha256    TEXT NOT NULL CHECK (length(sha256) = 64)
    ) STRICT;

    CREATE TABLE training_runs (
      id               INTEGER PRIMARY KEY,
      base_model_id    INTEGER NOT NULL REFERENCES models(id),
      result_model_id  INTEGER REFERENCES models(id),
      status           TEXT NOT NULL CHECK (status IN ('running', 'finished', 'failed', 'cancelled')),
      loss             TEXT NOT NULL,
      seed             INTEGER NOT NULL,
      config           TEXT NOT NULL,
      backend          TEXT,
      started_at       TEXT NOT NULL,
      finished_at      TEXT,
      steps            INTEGER NOT NULL DEFAULT 0,
      train_seconds    REAL,
      summary          TEXT,
      error            TEXT
    ) STRICT;

    CREATE TABLE training_steps (
      run_id     INTEGER NOT NULL REFERENCES training_runs(id),
      step       INTEGER NOT NULL,
      epoch      INTEGER NOT NULL,
      loss       REAL,
      batch_map  REAL,
      batch_r1   REAL,
      misranked  REAL,
      lr         REAL NOT NULL,
      PRIMARY KEY (run_id, step)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE training_epochs (
      run_id         INTEGER NOT NULL REFERENCES training_runs(id),
      epoch          INTEGER NOT NULL,
      step           INTEGER NOT NULL,
      loss           REAL,
      batch_map      REAL,
      batch_r1       REAL,
      misranked      REAL,
      val_map        REAL,
      val_r1         REAL,
      val_loss       REAL,
      val_batch_map  REAL,
      val_batch_r1   REAL,
      val_misranked  REAL,
      seconds        REAL NOT NULL,
      PRIMARY KEY (run_id, epoch)
    ) STRICT, WITHOUT ROWID;
  `,
}
