/**
 * Child-process entry of the model probe (probe.ts): loads a model with onnxruntime and runs one
 * batch of synthetic images, so that a model which crashes or hangs onnxruntime takes down only
 * this process. Receives one ProbeRequest over IPC, answers one ProbeReply, exits.
 */
import { ImageModelSession } from './session'
import type { ProbeReply, ProbeRequest } from './probe-protocol'

async function probe(req: ProbeRequest): Promise<ProbeReply> {
  const t0 = performance.now()
  const session = await ImageModelSession.open(req.path, {
    inputName: req.inputName,
    outputName: req.outputName,
    threads: req.threads,
  })
  try {
    const loadMs = performance.now() - t0
    const [n, c, h, w] = req.shape
    // Smooth synthetic images in the range normalised photos have (about −2..2), distinct per image.
    const input = new Float32Array(n * c * h * w)
    for (let i = 0; i < input.length; i++) input[i] = 2 * Math.sin(i * 0.01 + Math.floor(i / (c * h * w)))
    const t1 = performance.now()
    const { data, dim } = await session.run(input, req.shape)
    const runMs = performance.now() - t1
    let nonFinite = 0
    for (const v of data) if (!Number.isFinite(v)) nonFinite++
    return { ok: true, rows: data.length / dim, dim, nonFinite, loadMs, runMs, provider: session.provider }
  } finally {
    await session.close()
  }
}

// The parent gone (killed, or gave up and disconnected): nobody waits for the answer.
process.once('disconnect', () => process.exit(1))

process.once('message', (req: ProbeRequest) => {
  probe(req)
    .catch((err: unknown): ProbeReply => ({
      ok: false,
      message: err instanceof Error ? err.message : String(err),
    }))
    .then((reply) => process.send!(reply, () => process.exit(0)))
})
