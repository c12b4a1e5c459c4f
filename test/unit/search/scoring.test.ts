import { describe, expect, it } from 'vitest'
import { dotRows } from '../../../src-main/engine/ranking/matrix'
import { createScorer, jsPanelDots, type ScorerChoice } from '../../../src-main/engine/search/scoring'
import { unitRows } from './helpers'

/** Row-major n×d → column-major d×n. */
function transpose(x: Float32Array, n: number, d: number): Float32Array {
  const out = new Float32Array(n * d)
  for (let r = 0; r < n; r++) for (let k = 0; k < d; k++) out[k * n + r] = x[r * d + k]!
  return out
}

describe('panel kernels', () => {
  it('plain JS: the canonical dot product of ranking/matrix.ts, rounded to float32, over a column range', () => {
    const d = 37
    const n = 600
    const m = 3
    const g = unitRows(1, n, d)
    const q = unitRows(2, m, d)
    const panel = transpose(g, n, d)
    const out = new Float32Array(m * 1000).fill(-9)
    jsPanelDots(q, m, panel, d, n, 123, 555, out, 1000)
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < 1000; j++) {
        const want = j >= 123 && j < 555 ? Math.fround(dotRows(q, i, g, j, d)) : -9
        expect(out[i * 1000 + j]).toBe(want)
      }
    }
  })

  it('onnxruntime agrees with plain JS to float32 rounding, for 1 to 6 queries (GEMV and GEMM paths)', async () => {
    const onnx = await createScorer('onnx')
    try {
      for (const [d, n] of [
        [1, 5],
        [13, 301],
        [512, 1000],
      ] as const) {
        const panel = transpose(unitRows(d + n, n, d), n, d)
        for (let m = 1; m <= 6; m++) {
          const q = unitRows(m, m, d)
          const got = new Float32Array(m * n)
          const want = new Float32Array(m * n)
          await onnx.dots(q, m, panel, d, n, got)
          jsPanelDots(q, m, panel, d, n, 0, n, want, n)
          for (let t = 0; t < got.length; t++) expect(Math.abs(got[t]! - want[t]!)).toBeLessThan(1e-6)
        }
      }
      await expect(
        onnx.dots(new Float32Array(4), 1, new Float32Array(7), 4, 2, new Float32Array(2)),
      ).rejects.toThrow(/shapes do not match/)
    } finally {
      await onnx.close()
    }
  })

  it('names the known kernels when given an unknown one', async () => {
    await expect(createScorer('gpu' as ScorerChoice)).rejects.toThrow(
      /unknown scorer 'gpu': expected auto, onnx or js/,
    )
    expect((await createScorer('js')).description).toMatch(/plain JS/)
    expect((await createScorer('auto')).description).toMatch(/onnxruntime-node/)
  })
})
