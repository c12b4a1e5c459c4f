/** Messages between probe.ts and its child process, probe-child.ts. */

export interface ProbeRequest {
  path: string
  inputName: string
  outputName: string
  /** [n, 3, H, W] of the synthetic batch. */
  shape: [number, number, number, number]
  threads: number
}

export type ProbeReply =
  | {
      ok: true
      /** Output rows and columns. */
      rows: number
      dim: number
      /** Output values that are NaN or infinite. */
      nonFinite: number
      loadMs: number
      runMs: number
      provider: string
    }
  | { ok: false; message: string }
