import type { Migration } from './types'

/**
 * Schema version 4: the analyst's labels (issue #6).
 *
 * - persons: a person of interest, created from a query crop, renamable, with notes.
 * - marks: every marking decision, append-only (triggers refuse UPDATE and DELETE): a verdict
 *   'same' / 'different' / 'unsure' on one crop for one person, or 'cleared' (an undo that leaves
 *   the crop unmarked). The current verdict of a (person, crop) is its latest row; an undo is a new
 *   row that restores the previous verdict and names the row it undoes (undo_of). Each row records
 *   who marked, when, on which model's ranking and at which rank, and the audit-log entry written
 *   in the same transaction (audit_seq).
 * - audit_head: one row, the last audit-log entry's position and hash, kept by a trigger on every
 *   append: removing entries from the end of the log (which the hash chain alone cannot reveal)
 *   shows as a log that stops short of its recorded head, and a trigger refuses any new entry that
 *   does not chain to that head, so the next action cannot paper over the removal.
 */
export const migration: Migration = {
  version: 4,
  name: 'persons-marks',
  up: `
    CREATE TABLE persons (
      id             INTEGER PRIMARY KEY,
      name           TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      notes          TEXT NOT NULL DEFAULT '' CHECK (length(notes) <= 20000),
      query_crop_id  INTEGER NOT NULL REFERENCES crops(id),
      created_at     TEXT NOT NULL,
      created_by     TEXT NOT NULL,
      updated_at     TEXT NOT NULL
    ) STRICT;

    CREATE TABLE marks (
      id         INTEGER PRIMARY KEY,
      person_id  INTEGER NOT NULL REFERENCES persons(id),
      crop_id    INTEGER NOT NULL REFERENCES crops(id),
      verdict    TEXT NOT NULL CHECK (verdict IN ('same', 'different', 'unsure', 'cleared')),
      analyst    TEXT NOT NULL,
      marked_at  TEXT NOT NULL,
      model_id   INTEGER REFERENCES models(id),
      rank       INTEGER,
      undo_of    INTEGER REFERENCES marks(id),
      audit_seq  INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX marks_person_crop ON marks (person_id, crop_id, id);
    CREATE TRIGGER marks_no_update BEFORE UPDATE ON marks
      BEGIN SELECT RAISE(ABORT, 'marks are append-only: mark again or undo'); END;
    CREATE TRIGGER marks_no_delete BEFORE DELETE ON marks
      BEGIN SELECT RAISE(ABORT, 'marks are append-only: mark again or undo'); END;

    CREATE TABLE audit_head (
      one   INTEGER PRIMARY KEY CHECK (one = 1),
      seq   INTEGER NOT NULL,
      hash  TEXT NOT NULL
    ) STRICT;
    INSERT INTO audit_head (one, seq, hash)
      SELECT 1, coalesce(max(seq), 0), coalesce((SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1), '') FROM audit_log;
    CREATE TRIGGER audit_head_follows AFTER INSERT ON audit_log
      BEGIN UPDATE audit_head SET seq = NEW.seq, hash = NEW.hash WHERE one = 1; END;
    CREATE TRIGGER audit_append_at_head BEFORE INSERT ON audit_log
      WHEN (SELECT seq FROM audit_head WHERE one = 1) > 0
        AND NEW.prev_hash IS NOT (SELECT hash FROM audit_head WHERE one = 1)
      BEGIN SELECT RAISE(ABORT, 'the audit log does not end at its recorded head: it was tampered with (lineup audit verify names where); nothing was recorded'); END;
  `,
}
