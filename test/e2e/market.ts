import { readdirSync } from 'node:fs'

/** What the test expects of a Market-1501 folder, worked out from file names alone (the oracle). */
export interface MarketFacts {
  files: number
  byCamera: Map<string, number>
  byIdentity: Map<string, number>
  /** Crops per `${camera}/${identity}`. */
  byCameraIdentity: Map<string, number>
}

const MARKET = /^(-1|\d{4})_c(\d+)s\d+_\d+_\d+\.jpe?g$/i

export function marketFacts(folder: string): MarketFacts {
  const facts: MarketFacts = {
    files: 0,
    byCamera: new Map(),
    byIdentity: new Map(),
    byCameraIdentity: new Map(),
  }
  const bump = (map: Map<string, number>, key: string): void => {
    map.set(key, (map.get(key) ?? 0) + 1)
  }
  for (const name of readdirSync(folder)) {
    const m = MARKET.exec(name)
    if (!m) continue
    facts.files += 1
    const camera = `c${Number(m[2])}`
    bump(facts.byCamera, camera)
    if (m[1] !== '-1' && !/^0+$/.test(m[1]!)) {
      bump(facts.byIdentity, m[1]!)
      bump(facts.byCameraIdentity, `${camera}/${m[1]}`)
    }
  }
  return facts
}
