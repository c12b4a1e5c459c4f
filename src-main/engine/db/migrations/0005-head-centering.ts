import type { Migration } from './types'

/**
 * Schema version 5: camera centering of fine-tuned heads (issue #6, training/centering.ts).
 *
 * - heads gains center_cameras (a JSON array of camera names) and center_means (float32
 *   little-endian: the library's mean, then one mean per named camera, in_dim each): both or
 *   neither (a CHECK), and the means whole rows of in_dim floats. Both NULL for
 *   a head without centering, which is every head made before this version: they keep their
 *   weights, their SHA-256 and their vectors.
 */
export const migration: Migration = {
  version: 5,
  name: 'head-centering',
  up: `
    ALTER TABLE heads ADD COLUMN center_cameras TEXT;
    ALTER TABLE heads ADD COLUMN center_means BLOB
      CHECK ((center_means IS NULL) = (center_cameras IS NULL))
      CHECK (center_means IS NULL OR (length(center_means) > 0 AND length(center_means) % (4 * in_dim) = 0));
  `,
}
