/**
 * Pure parsing of what the analyst types in the Search view and the Models panel. Each parser
 * returns the value, or a message saying what is expected, so the view can show it beside the field.
 */
import type { Input } from '../../../src-shared/api'

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string }

/**
 * "256x128" (height × width, as the model's SOURCE.md writes it; also "256×128" or "256 x 128")
 * → [256, 128]. An empty string means "let the engine use the model's own input size" (undefined).
 */
export function parseInputSize(text: string): Parsed<[number, number] | undefined> {
  const trimmed = text.trim()
  if (trimmed === '') return { ok: true, value: undefined }
  const m = /^(\d{1,4})\s*[x×]\s*(\d{1,4})$/i.exec(trimmed)
  if (!m) return { ok: false, message: 'input size is height×width in pixels, e.g. 256x128' }
  const h = Number(m[1])
  const w = Number(m[2])
  if (h < 8 || w < 8 || h > 4096 || w > 4096)
    return { ok: false, message: 'input size must be between 8 and 4096 pixels on each side' }
  return { ok: true, value: [h, w] }
}

/** A typed crop id ("#1204" or "1204") → 1204. */
export function parseCropId(text: string): Parsed<number> {
  const m = /^#?\s*(\d{1,15})$/.exec(text.trim())
  const id = m ? Number(m[1]) : NaN
  if (!Number.isSafeInteger(id) || id < 1)
    return { ok: false, message: 'a crop id is a positive whole number, e.g. 1204' }
  return { ok: true, value: id }
}

/**
 * A `datetime-local` value ("2024-03-01T14:30", the analyst's local time) → ISO 8601 in UTC
 * ("2024-03-01T13:30:00.000Z"); empty → undefined.
 */
export function localToIso(value: string): Parsed<string | undefined> {
  if (value.trim() === '') return { ok: true, value: undefined }
  const time = new Date(value)
  if (Number.isNaN(time.getTime())) return { ok: false, message: `not a date and time: ${value}` }
  return { ok: true, value: time.toISOString() }
}

/** The filters of the Search view, as the form holds them (times as `datetime-local` strings). */
export interface SearchFilters {
  /** Cameras to search in; empty = all. */
  cameras: string[]
  excludeQueryCameras: boolean
  /** Exact identity label; '' = any. */
  identity: string
  from: string
  to: string
  /** Results per page. */
  k: number
}

export const defaultFilters: SearchFilters = {
  cameras: [],
  excludeQueryCameras: false,
  identity: '',
  from: '',
  to: '',
  k: 50,
}

/**
 * Builds the `search.query` input for one page, or says which field is wrong. `rejectIds` are the
 * crops the analyst rejected for this query (relevance feedback); none = a plain search.
 */
export function searchInput(
  cropIds: number[],
  fusion: 'mean' | 'max',
  filters: SearchFilters,
  offset: number,
  rejectIds: number[] = [],
): Parsed<Input<'search.query'>> {
  const from = localToIso(filters.from)
  if (!from.ok) return { ok: false, message: `from: ${from.message}` }
  const to = localToIso(filters.to)
  if (!to.ok) return { ok: false, message: `to: ${to.message}` }
  if (from.value !== undefined && to.value !== undefined && from.value > to.value)
    return { ok: false, message: 'the time window ends before it starts: swap “from” and “to”' }
  const identity = filters.identity.trim()
  return {
    ok: true,
    value: {
      cropIds,
      k: filters.k,
      offset,
      fusion,
      excludeQueryCameras: filters.excludeQueryCameras,
      ...(filters.cameras.length > 0 ? { cameras: filters.cameras } : {}),
      ...(identity !== '' ? { identity } : {}),
      ...(from.value !== undefined ? { from: from.value } : {}),
      ...(to.value !== undefined ? { to: to.value } : {}),
      ...(rejectIds.length > 0 ? { rejectIds } : {}),
    },
  }
}
