/**
 * Runs the NumPy reference implementations in this folder from vitest, and the seeded random
 * numbers the ranking tests share.
 *
 * Data goes through a temporary folder: each array as a little-endian binary file listed in
 * `manifest.json` with its dtype, the parameters beside them; the script writes `result.json`
 * and, for array outputs, `<name>.out.bin` (float32).
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))

/** Whether `python3` with NumPy can run here, and if not, why (printed by the skipping suites). */
export const numpy: { available: boolean; reason: string } = (() => {
  const probe = spawnSync('python3', ['-c', 'import numpy; print(numpy.__version__)'], { encoding: 'utf8' })
  if (probe.error)
    return { available: false, reason: `python3 could not be started (${probe.error.message})` }
  if (probe.status !== 0) {
    return {
      available: false,
      reason: `python3 -c "import numpy" failed: ${probe.stderr.trim().split('\n').pop()}`,
    }
  }
  return { available: true, reason: `NumPy ${probe.stdout.trim()}` }
})()

/** Prints why a reference comparison is skipped, so a green run is not mistaken for coverage. */
export function explainNumpySkip(what: string): void {
  if (!numpy.available) console.warn(`[skipped] ${what}: needs python3 with NumPy; ${numpy.reason}.`)
}

type Input = Float32Array | Int32Array

export interface ReferenceOutput {
  result: Record<string, unknown>
  /** A float32 array the script wrote as `<name>.out.bin`. */
  array(name: string): Float32Array
}

/** Runs test/reference/<script> on `arrays` and `params`; throws with the script's stderr on failure. */
export function runReference(
  script: string,
  arrays: Record<string, Input>,
  params: Record<string, unknown> = {},
): ReferenceOutput {
  const dir = mkdtempSync(join(tmpdir(), 'lineup-ref-'))
  try {
    const manifest: Record<string, { dtype: string; length: number }> = {}
    for (const [name, a] of Object.entries(arrays)) {
      manifest[name] = { dtype: a instanceof Float32Array ? 'float32' : 'int32', length: a.length }
      writeFileSync(join(dir, `${name}.bin`), new Uint8Array(a.buffer, a.byteOffset, a.byteLength))
    }
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ arrays: manifest, params }))
    const run = spawnSync('python3', [join(here, script), dir], { encoding: 'utf8' })
    if (run.status !== 0)
      throw new Error(`${script} failed (${run.status}): ${run.stderr || run.error?.message}`)
    const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as Record<string, unknown>
    const outputs = new Map<string, Float32Array>()
    for (const name of (result.arrays as string[] | undefined) ?? []) {
      const bytes = readFileSync(join(dir, `${name}.out.bin`))
      outputs.set(
        name,
        new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)),
      )
    }
    return {
      result,
      array(name) {
        const a = outputs.get(name)
        if (!a) throw new Error(`${script} wrote no array '${name}'`)
        return a
      },
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Mulberry32: a small seeded generator, uniform in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Standard normal numbers from `rand` (Box–Muller). */
export function gaussian(rand: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand())
}
