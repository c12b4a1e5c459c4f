/**
 * The Search view's triage keys (issue #6): the analyst goes through hundreds of results with the
 * keyboard. Arrow keys or J/K move the focus ring, Y/N/U mark the focused result, Enter opens it
 * side by side with the query, Z undoes the last mark.
 */
import type { Verdict } from '../../../src-shared/domain'

export type TriageAction =
  | { kind: 'move'; by: 'next' | 'previous' | 'down' | 'up' | 'first' | 'last' }
  | { kind: 'mark'; verdict: Verdict }
  | { kind: 'open' }
  | { kind: 'undo' }

const KEYS: Record<string, TriageAction> = {
  ArrowRight: { kind: 'move', by: 'next' },
  ArrowLeft: { kind: 'move', by: 'previous' },
  ArrowDown: { kind: 'move', by: 'down' },
  ArrowUp: { kind: 'move', by: 'up' },
  j: { kind: 'move', by: 'next' },
  k: { kind: 'move', by: 'previous' },
  Home: { kind: 'move', by: 'first' },
  End: { kind: 'move', by: 'last' },
  y: { kind: 'mark', verdict: 'same' },
  n: { kind: 'mark', verdict: 'different' },
  u: { kind: 'mark', verdict: 'unsure' },
  Enter: { kind: 'open' },
  z: { kind: 'undo' },
}

/** The action of a key press, or null (modifier chords are left to the browser and the OS). */
export function triageAction(event: {
  key: string
  ctrlKey: boolean
  metaKey: boolean
  altKey: boolean
}): TriageAction | null {
  if (event.ctrlKey || event.metaKey || event.altKey) return null
  const key = event.key.length === 1 ? event.key.toLowerCase() : event.key
  return Object.hasOwn(KEYS, key) ? KEYS[key]! : null
}

/** True when the key goes to a text field, a list box or an editable element: never a triage key there. */
export function isTyping(target: unknown): boolean {
  // Written without DOM type names, so the module also type-checks (and is unit-tested) in Node.
  const ElementClass = (globalThis as { Element?: new () => { closest(selectors: string): unknown } }).Element
  if (!ElementClass || !(target instanceof ElementClass)) return false
  // contenteditable's keywords match without case ("TRUE"), and "plaintext-only" is editable too.
  return (
    target.closest(
      'input, textarea, select, [contenteditable=""], [contenteditable="true" i], [contenteditable="plaintext-only" i]',
    ) !== null
  )
}

/** The index the focus ring moves to on a grid of `count` results laid out in `columns` columns. */
export function moveFocus(
  from: number,
  by: Extract<TriageAction, { kind: 'move' }>['by'],
  count: number,
  columns: number,
): number {
  if (count === 0) return 0
  if (by === 'first') return 0
  if (by === 'last') return count - 1
  const step = { next: 1, previous: -1, down: columns, up: -columns }[by]
  return Math.min(count - 1, Math.max(0, from + step))
}
