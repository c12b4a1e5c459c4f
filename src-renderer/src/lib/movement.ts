/**
 * What a re-rank moved (issue #6, instant re-rank): each crop of the new page set against the page
 * shown before the mark. Crops that joined the query (confirmed) are taken out of the old list
 * first, so their leaving does not show as every crop below them moving up by one.
 */

export type Move = { kind: 'up'; by: number } | { kind: 'down'; by: number } | { kind: 'new' }

/** No moves (a plain search, or a re-rank that changed nothing). */
export const noMoves: ReadonlyMap<number, Move> = new Map()

export interface MoveSummary {
  up: number
  down: number
  new: number
}

/**
 * Moves of the crops in `current` (crop ids in rank order) against `previous`, ignoring crops in
 * `gone` (they left the list on purpose). Crops that kept their place have no entry.
 */
export function movements(
  previous: readonly number[],
  current: readonly number[],
  gone: readonly number[] = [],
): ReadonlyMap<number, Move> {
  const left = new Set(gone)
  const before = new Map<number, number>()
  for (const id of previous) if (!left.has(id)) before.set(id, before.size)
  const out = new Map<number, Move>()
  current.forEach((id, index) => {
    const was = before.get(id)
    if (was === undefined) out.set(id, { kind: 'new' })
    else if (was > index) out.set(id, { kind: 'up', by: was - index })
    else if (was < index) out.set(id, { kind: 'down', by: index - was })
  })
  return out
}

export function summarise(moves: ReadonlyMap<number, Move>): MoveSummary {
  const s: MoveSummary = { up: 0, down: 0, new: 0 }
  for (const m of moves.values()) s[m.kind] += 1
  return s
}

/** "↑3", "↓5" or "new". */
export function moveLabel(move: Move): string {
  return move.kind === 'new' ? 'new' : `${move.kind === 'up' ? '↑' : '↓'}${move.by}`
}
