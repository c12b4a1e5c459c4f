/**
 * Pure geometry of the virtualised grid: which rows to render for a scroll position. Rows have one
 * fixed height, so this is arithmetic, not measurement.
 */
export interface GridLayout {
  columns: number
  /** CSS pixels per cell, the container width shared out between the columns. */
  cellWidth: number
  rows: number
}

/** Columns that fit `width` with cells at least `minCell` wide (at least one column). */
export function gridLayout(width: number, minCell: number, itemCount: number): GridLayout {
  const columns = Math.max(1, Math.floor(width / minCell))
  return {
    columns,
    cellWidth: width > 0 ? width / columns : minCell,
    rows: Math.ceil(itemCount / columns),
  }
}

/** Half-open range [first, end) of rows to render: the visible ones plus `overscan` on each side. */
export function visibleRows(
  scrollTop: number,
  viewportHeight: number,
  rowHeight: number,
  rowCount: number,
  overscan: number,
): { first: number; end: number } {
  if (rowCount === 0 || rowHeight <= 0) return { first: 0, end: 0 }
  const top = Math.floor(Math.max(0, scrollTop) / rowHeight)
  const bottom = Math.ceil((Math.max(0, scrollTop) + Math.max(viewportHeight, rowHeight)) / rowHeight)
  const first = Math.max(0, Math.min(rowCount - 1, top - overscan))
  const end = Math.min(rowCount, bottom + overscan)
  return { first, end: Math.max(first + 1, end) }
}
