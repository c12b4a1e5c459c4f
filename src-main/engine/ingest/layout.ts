import { existsSync, readFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { parse } from 'csv-parse/sync'
import type { CropKind, ImportLayout } from '../../../src-shared/domain'
import { LineupError } from '../../../src-shared/errors'
import { parseReidName } from './names'
import type { ScannedFile } from './scan'

/** Metadata the layout gives one crop. */
export interface CropMeta {
  camera: string | null
  identity: string | null
  kind: CropKind
  sequence: number | null
  frame: number | null
  box: number | null
  timestamp: string | null
}

export interface Layout {
  name: 'market1501' | 'generic'
  /** Metadata for a file, or a reason to skip it. */
  describe(file: ScannedFile): CropMeta | { skip: string }
}

interface CsvRow {
  camera: string | null
  timestamp: string | null
  identity: string | null
}

const CSV_NAME = 'crops.csv'

/**
 * Reads the optional `crops.csv` of a generic layout: header `file,camera,timestamp,identity`
 * (only `file` is required; `file` relative to the root). Any malformed row fails the whole import
 * before anything is written, with the line number, so the analyst fixes the file and runs again.
 */
export function readCropsCsv(root: string): Map<string, CsvRow> | null {
  const path = join(root, CSV_NAME)
  if (!existsSync(path)) return null
  let records: Record<string, string>[]
  try {
    records = parse(readFileSync(path), {
      columns: (h: string[]) => h.map((c) => c.trim().toLowerCase()),
      skip_empty_lines: true,
      trim: true,
      bom: true,
    })
  } catch (err) {
    throw new LineupError('invalid-input', `${path} is not valid CSV: ${(err as Error).message}`)
  }
  const rows = new Map<string, CsvRow>()
  records.forEach((r, i) => {
    const line = i + 2
    const file = r.file?.replace(/\\/g, '/').replace(/^\.\//, '')
    if (!file)
      throw new LineupError(
        'invalid-input',
        `${path} line ${line}: the "file" column is empty or missing (header: file,camera,timestamp,identity)`,
      )
    let timestamp: string | null = null
    if (r.timestamp) {
      const t = new Date(r.timestamp)
      if (Number.isNaN(t.getTime())) {
        throw new LineupError(
          'invalid-input',
          `${path} line ${line}: timestamp "${r.timestamp}" is not a date; use ISO 8601, e.g. 2024-03-01T12:30:00Z`,
        )
      }
      timestamp = t.toISOString()
    }
    if (rows.has(file))
      throw new LineupError('invalid-input', `${path} line ${line}: "${file}" is listed twice`)
    rows.set(file, { camera: r.camera || null, timestamp, identity: r.identity || null })
  })
  return rows
}

function marketLayout(): Layout {
  return {
    name: 'market1501',
    describe(file) {
      const info = parseReidName(basename(file.rel))
      if (!info)
        return { skip: 'file name does not follow the Market-1501 pattern (e.g. 0002_c1s1_000451_03.jpg)' }
      return { ...info, timestamp: null }
    },
  }
}

function genericLayout(csv: Map<string, CsvRow> | null): Layout {
  return {
    name: 'generic',
    describe(file) {
      const slash = file.rel.indexOf('/')
      const folderCamera = slash > 0 ? file.rel.slice(0, slash) : null
      const row = csv?.get(file.rel)
      const identity = row?.identity ?? null
      return {
        camera: row?.camera ?? folderCamera,
        identity,
        kind: identity ? 'labelled' : 'unlabelled',
        sequence: null,
        frame: null,
        box: null,
        timestamp: row?.timestamp ?? null,
      }
    },
  }
}

/**
 * Chooses the layout. `auto`: a root with crops.csv is generic; otherwise, when at least 90 % of
 * the image names follow a re-ID dataset convention, Market-1501; otherwise generic (one
 * sub-folder per camera).
 */
export function resolveLayout(root: string, requested: ImportLayout, files: ScannedFile[]): Layout {
  const csv = readCropsCsv(root)
  if (requested === 'market1501') return marketLayout()
  if (requested === 'generic') return genericLayout(csv)
  if (csv) return genericLayout(csv)
  if (files.length === 0) return genericLayout(null)
  let named = 0
  for (const f of files) if (parseReidName(basename(f.rel))) named++
  return named >= 0.9 * files.length ? marketLayout() : genericLayout(null)
}
