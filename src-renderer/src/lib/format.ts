/** Display formatting, fixed to English digits so screenshots and tests read the same everywhere. */
const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })

/** 1676 → "1,676". */
export function formatCount(n: number): string {
  return integer.format(n)
}

/** Bytes as B / KiB / MiB with one decimal above 1 KiB. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`
}

/** Seconds left as "12 s", "3 min 05 s", "1 h 02 min"; null → "estimating…". */
export function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return 'estimating…'
  const s = Math.max(0, Math.round(seconds))
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`
}

/** Items per second, e.g. "480 files/s" or "2.5 crops/s" (`unit` defaults to "files"). */
export function formatRate(perSecond: number, unit = 'files'): string {
  if (!Number.isFinite(perSecond) || perSecond <= 0) return '—'
  return `${perSecond >= 10 ? integer.format(perSecond) : perSecond.toFixed(1)} ${unit}/s`
}

/** A search distance (squared Euclidean on unit vectors, 0–4) with 3 decimals: 0.8231 → "0.823". */
export function formatDistance(distance: number): string {
  return distance.toFixed(3)
}

/** Milliseconds as "0.42 ms", "12.3 ms" or "1,204 ms". */
export function formatMs(ms: number): string {
  if (ms < 1) return `${ms.toFixed(2)} ms`
  if (ms < 100) return `${ms.toFixed(1)} ms`
  return `${integer.format(ms)} ms`
}

/**
 * The part of a model key worth showing: the first 12 hex digits of an .onnx file's SHA-256 (and of
 * a fine-tuned version's `head:<SHA-256>`), or a built-in descriptor's whole `builtin:<name>@<version>` key.
 */
export function shortKey(key: string): string {
  if (/^[0-9a-f]{64}$/i.test(key)) return key.slice(0, 12)
  if (/^head:[0-9a-f]{64}$/i.test(key)) return key.slice(0, 17)
  return key
}

/** An ISO 8601 time in the analyst's locale with seconds, plus the raw value for copying. */
export function formatTime(iso: string | null): string {
  if (!iso) return '—'
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  return d.toLocaleString(undefined, {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  })
}

/**
 * Fits a w×h image inside a box, enlarging by at most `maxScale` (default 1: never enlarge);
 * returns integer CSS pixels, at least 1.
 */
export function fitInside(
  width: number,
  height: number,
  boxWidth: number,
  boxHeight: number,
  maxScale = 1,
): { width: number; height: number } {
  if (width <= 0 || height <= 0) return { width: boxWidth, height: boxHeight }
  const scale = Math.min(maxScale, boxWidth / width, boxHeight / height)
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) }
}
