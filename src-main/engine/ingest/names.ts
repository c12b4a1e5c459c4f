import type { CropKind } from '../../../src-shared/domain'

/** What a re-ID dataset file name says about its crop. */
export interface NameInfo {
  identity: string | null
  kind: CropKind
  camera: string
  sequence: number | null
  frame: number | null
  box: number | null
}

// Market-1501: 0002_c1s1_000451_03.jpg = identity, camera 1, sequence 1, frame 451, box 3; -1 = junk.
const MARKET = /^(-1|\d{4})_c(\d+)s(\d+)_(\d+)_(\d+)\.[a-z]+$/i
// DukeMTMC-reID: 0001_c2_f0046182.jpg = identity, camera 2, frame 46182.
const DUKE = /^(-1|\d{4})_c(\d+)_f(\d+)\.[a-z]+$/i
// CUHK03-NP (and others): 0001_c1_1.png = identity, camera, index.
const CUHK = /^(-1|\d{4})_c(\d+)_(\d+)\.[a-z]+$/i

function identityOf(raw: string): { identity: string | null; kind: CropKind } {
  if (raw === '-1') return { identity: null, kind: 'junk' }
  if (/^0+$/.test(raw)) return { identity: null, kind: 'distractor' }
  return { identity: raw, kind: 'labelled' }
}

/**
 * Parses a Market-1501 / DukeMTMC-reID / CUHK03-NP style file name (base name only), or returns
 * null when the name follows none of them. Cameras are named `c<N>`.
 */
export function parseReidName(baseName: string): NameInfo | null {
  let m = MARKET.exec(baseName)
  if (m) {
    return {
      ...identityOf(m[1]!),
      camera: `c${Number(m[2])}`,
      sequence: Number(m[3]),
      frame: Number(m[4]),
      box: Number(m[5]),
    }
  }
  m = DUKE.exec(baseName)
  if (m)
    return {
      ...identityOf(m[1]!),
      camera: `c${Number(m[2])}`,
      sequence: null,
      frame: Number(m[3]),
      box: null,
    }
  m = CUHK.exec(baseName)
  if (m)
    return {
      ...identityOf(m[1]!),
      camera: `c${Number(m[2])}`,
      sequence: null,
      frame: null,
      box: Number(m[3]),
    }
  return null
}
