import { describe, expect, it } from 'vitest'
import { centeringNote } from '../../../src-renderer/src/lib/centering-note'

describe('centeringNote', () => {
  it('says no centering for a run without it, and for a run stored before centering existed', () => {
    expect(centeringNote(null)).toBe('No camera centering.')
    expect(centeringNote(undefined)).toBe('No camera centering.')
  })

  it('names the library mean when no camera had a mean of its own, else the cameras', () => {
    expect(centeringNote([])).toMatch(/^Centred on the library's mean/)
    expect(centeringNote(['c1'])).toBe('Centred on the means of 1 camera (c1).')
    expect(centeringNote(['c1', 'c2', 'c3'])).toBe('Centred on the means of 3 cameras (c1, c2, c3).')
  })
})
