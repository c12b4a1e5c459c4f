/**
 * Row filters of a vector search (issue #4): cameras, identity label, time window, excluded
 * crops. A filter is turned once per search into a byte mask over the rows (1 = may be ranked),
 * which the top-k selection consults only for rows good enough to enter it, and whose count is
 * the `total` of the ranking. Building it is one pass over the metadata columns (≈ 2–4 ms at 1M).
 */

/** Which rows a search may return. Every given condition must hold. */
export interface SearchFilter {
  /** Only rows from these cameras. */
  cameras?: ReadonlySet<number> | readonly number[]
  /** No rows from these cameras (e.g. the query's own camera, the re-ID protocol's rule). */
  excludeCameras?: ReadonlySet<number> | readonly number[]
  /** Only rows labelled with this identity id. */
  identity?: number
  /** Only rows with timestamp ≥ timeFrom (ms since the epoch); rows without a time are excluded. */
  timeFrom?: number
  /** Only rows with timestamp ≤ timeTo (ms since the epoch); rows without a time are excluded. */
  timeTo?: number
  /** Never these crop ids (e.g. the query crops themselves). */
  excludeIds?: ReadonlySet<number> | readonly number[]
}

/** The per-row metadata columns a filter reads (rows 0 ≤ r < size). */
export interface FilterColumns {
  size: number
  ids: Int32Array
  cameras: Int32Array
  identities: Int32Array
  timestamps: Float64Array
}

/** Camera ids below this are looked up in a byte table, others in a Set. */
const TABLE_LIMIT = 1 << 16

/**
 * The mask of the rows `filter` lets through and their count, or null when the filter is empty
 * (every row passes). Throws a RangeError naming the field of a malformed filter.
 */
export function filterMask(
  filter: SearchFilter | undefined,
  cols: FilterColumns,
): { mask: Uint8Array; total: number } | null {
  if (!filter) return null
  const include = cameraTest(filter.cameras, 'cameras')
  const exclude = cameraTest(filter.excludeCameras, 'excludeCameras')
  const { identity, timeFrom, timeTo } = filter
  if (identity !== undefined && !Number.isInteger(identity))
    throw new RangeError(`filter.identity must be an integer identity id, got ${identity}`)
  for (const [name, t] of [
    ['timeFrom', timeFrom],
    ['timeTo', timeTo],
  ] as const) {
    if (t !== undefined && Number.isNaN(t))
      throw new RangeError(`filter.${name} must be a time in ms, got NaN`)
  }
  const excludeIds = filter.excludeIds === undefined ? [] : [...filter.excludeIds]
  if (!include && !exclude && identity === undefined && timeFrom === undefined && timeTo === undefined) {
    if (excludeIds.length === 0) return null
  }
  const { size, cameras, identities, timestamps } = cols
  const mask = new Uint8Array(size)
  const from = timeFrom ?? -Infinity
  const to = timeTo ?? Infinity
  const timed = timeFrom !== undefined || timeTo !== undefined
  const anyIdentity = identity === undefined
  for (let r = 0; r < size; r++) {
    const cam = cameras[r]!
    let ok = (include === null || include(cam)) && (exclude === null || !exclude(cam))
    if (ok && !anyIdentity) ok = identities[r] === identity
    if (ok && timed) {
      const t = timestamps[r]!
      ok = t >= from && t <= to // NaN fails both
    }
    mask[r] = ok ? 1 : 0
  }
  // Excluded ids: a native scan per id (Int32Array.indexOf) beats a Set lookup per row when few.
  const ids = cols.ids.subarray(0, size)
  for (const id of excludeIds) {
    if (!Number.isInteger(id)) throw new RangeError(`filter.excludeIds must hold crop ids, got ${id}`)
    for (let r = ids.indexOf(id); r !== -1; r = ids.indexOf(id, r + 1)) mask[r] = 0
  }
  let total = 0
  for (let r = 0; r < size; r++) total += mask[r]!
  return { mask, total }
}

/** A membership test for a camera list, or null when no list is given. */
function cameraTest(
  list: ReadonlySet<number> | readonly number[] | undefined,
  name: string,
): ((camera: number) => boolean) | null {
  if (list === undefined) return null
  const values = [...list]
  for (const c of values) {
    if (!Number.isInteger(c)) throw new RangeError(`filter.${name} must hold camera ids, got ${c}`)
  }
  if (values.every((c) => c >= 0 && c < TABLE_LIMIT)) {
    const table = new Uint8Array(TABLE_LIMIT)
    for (const c of values) table[c] = 1
    return (camera) => camera >= 0 && camera < TABLE_LIMIT && table[camera] === 1
  }
  const set = new Set(values)
  return (camera) => set.has(camera)
}
