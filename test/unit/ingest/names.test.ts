import { describe, expect, it } from 'vitest'
import { parseReidName } from '../../../src-main/engine/ingest/names'

describe('parseReidName', () => {
  describe('Market-1501 (PPPP_cCsS_FFFFFF_BB.jpg)', () => {
    it('reads identity, camera, sequence, frame and box', () => {
      expect(parseReidName('0002_c1s1_000451_03.jpg')).toEqual({
        identity: '0002',
        kind: 'labelled',
        camera: 'c1',
        sequence: 1,
        frame: 451,
        box: 3,
      })
    })

    it('keeps the identity label as written (leading zeros) and drops them from numbers', () => {
      expect(parseReidName('1501_c6s4_001877_00.jpg')).toMatchObject({
        identity: '1501',
        camera: 'c6',
        sequence: 4,
        frame: 1877,
        box: 0,
      })
    })

    it('treats identity 0000 as a distractor with no identity', () => {
      expect(parseReidName('0000_c3s2_012345_01.jpg')).toMatchObject({ identity: null, kind: 'distractor' })
    })

    it('treats identity -1 as junk with no identity', () => {
      expect(parseReidName('-1_c1s1_000401_03.jpg')).toEqual({
        identity: null,
        kind: 'junk',
        camera: 'c1',
        sequence: 1,
        frame: 401,
        box: 3,
      })
    })

    it('accepts any image extension, in any case', () => {
      expect(parseReidName('0002_c1s1_000451_03.PNG')).toMatchObject({ identity: '0002', camera: 'c1' })
    })
  })

  describe('DukeMTMC-reID (PPPP_cC_fFFFFFFF.jpg)', () => {
    it('reads identity, camera and frame; no sequence or box', () => {
      expect(parseReidName('0001_c2_f0046182.jpg')).toEqual({
        identity: '0001',
        kind: 'labelled',
        camera: 'c2',
        sequence: null,
        frame: 46182,
        box: null,
      })
    })
  })

  describe('CUHK03-NP (PPPP_cC_N.png)', () => {
    it('reads identity, camera and the image index (as box)', () => {
      expect(parseReidName('0001_c1_1.png')).toEqual({
        identity: '0001',
        kind: 'labelled',
        camera: 'c1',
        sequence: null,
        frame: null,
        box: 1,
      })
    })
  })

  it.each([
    'IMG_2024.jpg',
    'camera1_frame10.jpg',
    '0002_c1s1_000451_03', // no extension
    '0002_c1s1_000451_03.jpg.txt',
    '002_c1s1_000451_03.jpg', // three-digit identity
    '00002_c1s1_000451_03.jpg', // five-digit identity
    'abcd_c1s1_000451_03.jpg',
    '0002_s1c1_000451_03.jpg',
    '0002_c1.jpg',
    '',
  ])('returns null for a name that follows no dataset convention: %j', (name) => {
    expect(parseReidName(name)).toBeNull()
  })
})
