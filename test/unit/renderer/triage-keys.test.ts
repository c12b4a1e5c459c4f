import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  isTyping,
  moveFocus,
  triageAction,
  type TriageAction,
} from '../../../src-renderer/src/lib/triage-keys'

type Key = Parameters<typeof triageAction>[0]

const press = (key: string, modifiers: Partial<Omit<Key, 'key'>> = {}): Key => ({
  key,
  ctrlKey: false,
  metaKey: false,
  altKey: false,
  ...modifiers,
})

describe('triageAction', () => {
  it.each<[string, TriageAction]>([
    ['ArrowRight', { kind: 'move', by: 'next' }],
    ['ArrowLeft', { kind: 'move', by: 'previous' }],
    ['ArrowDown', { kind: 'move', by: 'down' }],
    ['ArrowUp', { kind: 'move', by: 'up' }],
    ['j', { kind: 'move', by: 'next' }],
    ['k', { kind: 'move', by: 'previous' }],
    ['Home', { kind: 'move', by: 'first' }],
    ['End', { kind: 'move', by: 'last' }],
    ['y', { kind: 'mark', verdict: 'same' }],
    ['n', { kind: 'mark', verdict: 'different' }],
    ['u', { kind: 'mark', verdict: 'unsure' }],
    ['Enter', { kind: 'open' }],
    ['z', { kind: 'undo' }],
  ])('maps %s', (key, action) => {
    expect(triageAction(press(key))).toEqual(action)
  })

  it.each([
    ['J', 'j'],
    ['K', 'k'],
    ['Y', 'y'],
    ['N', 'n'],
    ['U', 'u'],
    ['Z', 'z'],
  ])('maps the capital %s (Shift or Caps Lock) as %s', (capital, small) => {
    // Shift is not one of the chords left to the browser: Shift+Y (key "Y") marks like Y.
    expect(triageAction(press(capital))).not.toBeNull()
    expect(triageAction(press(capital))).toEqual(triageAction(press(small)))
  })

  describe('modifier chords are left to the browser and the OS', () => {
    const keys = ['j', 'k', 'y', 'n', 'u', 'z', 'Z', 'Enter', 'ArrowDown', 'ArrowUp', 'Home', 'End']
    it.each(['ctrlKey', 'altKey', 'metaKey'] as const)('with %s, no key is a triage key', (modifier) => {
      for (const key of keys) expect(triageAction(press(key, { [modifier]: true }))).toBeNull()
    })

    it('Ctrl+Z and Cmd+Z are not the app undo', () => {
      expect(triageAction(press('z', { ctrlKey: true }))).toBeNull()
      expect(triageAction(press('z', { metaKey: true }))).toBeNull()
      expect(triageAction(press('Z', { ctrlKey: true }))).toBeNull()
    })

    it('with all modifiers at once, nothing', () => {
      expect(triageAction(press('y', { ctrlKey: true, altKey: true, metaKey: true }))).toBeNull()
    })
  })

  it.each([
    'x',
    'a',
    'h',
    'l',
    'm',
    '1',
    '?',
    ' ',
    '',
    'Escape',
    'Tab',
    'Backspace',
    'Delete',
    'PageDown',
    'PageUp',
    'Shift',
    'Control',
    'Alt',
    'Meta',
    'F1',
    'Dead',
    'Unidentified',
    'Process',
    'о', // Cyrillic o, where the J key is on a Russian layout: key values, not key codes
  ])('maps the unknown key %j to nothing', (key) => {
    expect(triageAction(press(key))).toBeNull()
  })

  it('does not case-fold named keys (only single characters)', () => {
    expect(triageAction(press('enter'))).toBeNull()
    expect(triageAction(press('ARROWDOWN'))).toBeNull()
    expect(triageAction(press('home'))).toBeNull()
  })

  it('gives the same action for a key pressed again and again (auto-repeat included)', () => {
    const first = triageAction(press('j'))
    for (let i = 0; i < 20; i++) expect(triageAction(press('j'))).toEqual(first)
    const undo = triageAction(press('z'))
    for (let i = 0; i < 5; i++) expect(triageAction(press('z'))).toEqual(undo)
  })

  it('works on a plain frozen object with only the key and the modifiers (no DOM event needed)', () => {
    expect(triageAction(Object.freeze(press('n')))).toEqual({ kind: 'mark', verdict: 'different' })
  })
})

describe('moveFocus', () => {
  it('stays at 0 on an empty page, whatever the move', () => {
    for (const by of ['next', 'previous', 'down', 'up', 'first', 'last'] as const) {
      expect(moveFocus(0, by, 0, 4)).toBe(0)
      expect(moveFocus(7, by, 0, 4)).toBe(0)
    }
  })

  it('stays at 0 on a page of one result', () => {
    for (const by of ['next', 'previous', 'down', 'up', 'first', 'last'] as const) {
      expect(moveFocus(0, by, 1, 4)).toBe(0)
    }
  })

  it('steps by one with next and previous', () => {
    expect(moveFocus(3, 'next', 10, 4)).toBe(4)
    expect(moveFocus(3, 'previous', 10, 4)).toBe(2)
  })

  it('stops at the first and the last result', () => {
    expect(moveFocus(0, 'previous', 10, 4)).toBe(0)
    expect(moveFocus(9, 'next', 10, 4)).toBe(9)
  })

  it('steps by a row with down and up', () => {
    // 10 results in 4 columns: rows [0..3], [4..7], [8, 9].
    expect(moveFocus(1, 'down', 10, 4)).toBe(5)
    expect(moveFocus(5, 'down', 10, 4)).toBe(9)
    expect(moveFocus(5, 'up', 10, 4)).toBe(1)
    expect(moveFocus(9, 'up', 10, 4)).toBe(5)
  })

  it('clamps a row step that leaves the grid to the first or the last result', () => {
    // Below 6 (row 1, column 2) is no result: the last one.
    expect(moveFocus(6, 'down', 10, 4)).toBe(9)
    expect(moveFocus(9, 'down', 10, 4)).toBe(9)
    // Above the first row: the first result.
    expect(moveFocus(2, 'up', 10, 4)).toBe(0)
    expect(moveFocus(0, 'up', 10, 4)).toBe(0)
  })

  it('moves like next and previous in a single column', () => {
    expect(moveFocus(3, 'down', 10, 1)).toBe(moveFocus(3, 'next', 10, 1))
    expect(moveFocus(3, 'up', 10, 1)).toBe(moveFocus(3, 'previous', 10, 1))
  })

  it('goes to the first and the last result from anywhere', () => {
    for (const from of [0, 1, 5, 9]) {
      expect(moveFocus(from, 'first', 10, 4)).toBe(0)
      expect(moveFocus(from, 'last', 10, 4)).toBe(9)
    }
    expect(moveFocus(0, 'last', 200, 7)).toBe(199)
    expect(moveFocus(199, 'first', 200, 7)).toBe(0)
  })

  it('brings a focus outside the page back onto it', () => {
    expect(moveFocus(20, 'next', 5, 4)).toBe(4)
    expect(moveFocus(20, 'previous', 5, 4)).toBe(4)
    expect(moveFocus(20, 'up', 5, 4)).toBe(4)
    expect(moveFocus(-3, 'next', 5, 4)).toBe(0)
    expect(moveFocus(-3, 'down', 5, 4)).toBe(1)
  })

  // Home and End mean the first and the last result whatever the focus was (SearchView keeps the
  // focus on the page today, so only direct callers of moveFocus see this).
  it('goes to the first and the last result from a focus outside the page too', () => {
    expect(moveFocus(5, 'first', 5, 4)).toBe(0)
    expect(moveFocus(20, 'first', 5, 4)).toBe(0)
    expect(moveFocus(-1, 'last', 5, 4)).toBe(4)
    expect(moveFocus(-10, 'last', 5, 4)).toBe(4)
  })

  it('follows a sequence of repeated key presses', () => {
    const keys = ['j', 'j', 'j', 'j', 'j', 'j', 'ArrowDown', 'k', 'Home', 'ArrowUp', 'End', 'ArrowRight']
    const seen: number[] = []
    let focus = 0
    for (const key of keys) {
      const action = triageAction(press(key))
      if (action?.kind !== 'move') throw new Error(`${key} is not a move`)
      focus = moveFocus(focus, action.by, 5, 3)
      seen.push(focus)
    }
    expect(seen).toEqual([1, 2, 3, 4, 4, 4, 4, 3, 0, 0, 4, 4])
  })
})

describe('isTyping', () => {
  /**
   * The little of Element that isTyping uses: `closest` with the selectors it passes (tag names,
   * `[attribute="value"]` and `[attribute="value" i]`, comma separated), matched as in an HTML
   * document (tag names without case; attribute values exactly, or without case with the `i`
   * flag). Any other selector throws, so a change of selector is seen.
   */
  class FakeElement {
    constructor(
      readonly tagName: string,
      readonly attributes: Record<string, string> = {},
      readonly parentElement: FakeElement | null = null,
    ) {}

    matches(selectors: string): boolean {
      return selectors.split(',').some((raw) => {
        const selector = raw.trim()
        if (/^[a-z][a-z0-9-]*$/i.test(selector)) return this.tagName.toLowerCase() === selector.toLowerCase()
        const attribute = /^\[([a-z-]+)="([^"]*)"( i)?\]$/i.exec(selector)
        if (attribute) {
          const value = this.attributes[attribute[1]!.toLowerCase()]
          return attribute[3] ? value?.toLowerCase() === attribute[2]!.toLowerCase() : value === attribute[2]
        }
        throw new Error(`FakeElement: unsupported selector ${JSON.stringify(selector)}`)
      })
    }

    closest(selectors: string): FakeElement | null {
      return this.matches(selectors) ? this : (this.parentElement?.closest(selectors) ?? null)
    }
  }

  const el = (tagName: string, attributes: Record<string, string> = {}, parent: FakeElement | null = null) =>
    new FakeElement(tagName, attributes, parent)
  const typing = (target: FakeElement | object | null): boolean => isTyping(target)

  beforeEach(() => {
    vi.stubGlobal('Element', FakeElement)
  })
  afterEach(() => {
    vi.unstubAllGlobals()
  })

  it('is false without a target or for a target that is not an element (window, document)', () => {
    expect(typing(null)).toBe(false)
    expect(typing({})).toBe(false)
    expect(typing({ closest: () => ({}) })).toBe(false)
  })

  it.each(['INPUT', 'TEXTAREA', 'SELECT', 'input'])('is true in a %s', (tag) => {
    expect(typing(el(tag))).toBe(true)
  })

  it('is true whatever the type of an input (a checkbox keeps Y/N/U too)', () => {
    expect(typing(el('INPUT', { type: 'search' }))).toBe(true)
    expect(typing(el('INPUT', { type: 'checkbox' }))).toBe(true)
  })

  it.each(['BODY', 'BUTTON', 'DIV', 'LI', 'A', 'OL'])('is false in a %s', (tag) => {
    expect(typing(el(tag))).toBe(false)
  })

  it('is false on a result cell (a button in the grid)', () => {
    const grid = el('OL', { 'data-testid': 'results-grid' }, el('BODY'))
    const cell = el('BUTTON', { 'data-result-cell': '' }, el('LI', {}, grid))
    expect(typing(cell)).toBe(false)
  })

  it.each(['', 'true'])('is true in an element with contenteditable=%j', (value) => {
    expect(typing(el('DIV', { contenteditable: value }))).toBe(true)
  })

  it('is true inside an editable element or a field', () => {
    const body = el('BODY')
    const editor = el('DIV', { contenteditable: 'true' }, body)
    expect(typing(el('SPAN', {}, el('P', {}, editor)))).toBe(true)
    expect(typing(el('OPTION', {}, el('SELECT', {}, body)))).toBe(true)
  })

  it('is false in an element with contenteditable="false"', () => {
    expect(typing(el('DIV', { contenteditable: 'false' }))).toBe(false)
  })

  // contenteditable="plaintext-only" is editable (HTML standard, supported by Chromium, so Electron),
  // and the attribute's keywords match without case ("TRUE" is the true state).
  it.each(['plaintext-only', 'TRUE'])('is true in an element with contenteditable=%j', (value) => {
    expect(typing(el('DIV', { contenteditable: value }))).toBe(true)
  })
})
