import type { Migration } from './types'

/**
 * Schema version 2: embedding models and per-model vectors (issue #4).
 *
 * - models: one row per model, keyed by what produced its vectors (the .onnx file's SHA-256, or
 *   `builtin:<name>@<version>`); `file` is the library's own copy of an ONNX model, named by its
 *   hash, so the library keeps working when the original moves. At most one is active.
 * - embeddings: one L2-normalised float32 vector (dim·4 bytes, little-endian) per (model, crop).
 *   Vectors of different models never mix: every search names its model.
 */
export const migration: Migration = {
  version: 2,
  name: 'models-embeddings',
  up: `
    CREATE TABLE models (
      id          INTEGER PRIMARY KEY,
      key         TEXT NOT NULL UNIQUE,
      kind        TEXT NOT NULL CHECK (kind IN ('onnx', 'builtin')),
      name        TEXT NOT NULL,
      dim         INTEGER NOT NULL CHECK (dim > 0),
      config      TEXT NOT NULL,
      file        TEXT,
      bytes       INTEGER,
      created_at  TEXT NOT NULL,
      active      INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1)),
      CHECK ((kind = 'onnx') = (file IS NOT NULL))
    ) STRICT;
    CREATE UNIQUE INDEX models_single_active ON models (active) WHERE active = 1;

    CREATE TABLE embeddings (
      model_id  INTEGER NOT NULL REFERENCES models(id),
      crop_id   INTEGER NOT NULL REFERENCES crops(id),
      vector    BLOB NOT NULL,
      PRIMARY KEY (model_id, crop_id)
    ) STRICT, WITHOUT ROWID;
  `,
}
