import { migration as m0001 } from './0001-initial'
import { migration as m0002 } from './0002-models-embeddings'
import { migration as m0003 } from './0003-training'
import { migration as m0004 } from './0004-persons-marks'
import { migration as m0005 } from './0005-head-centering'
import type { Migration } from './types'

/** Every schema step, in order. Append only: a released migration is never edited. */
export const migrations: readonly Migration[] = [m0001, m0002, m0003, m0004, m0005]

/** The schema version this build of Lineup writes. */
export const SCHEMA_VERSION = migrations.length
