/**
 * Child process of analyst-train.test.ts (not a test): opens the service on a library, starts a
 * fine-tune on its persons of interest and writes one JSON line per event to stdout, so the test
 * can SIGKILL it mid-training.
 *
 *   node --import tsx test/integration/analyst-train-child.ts <library> <epochs> <seed>
 */
import { LineupService } from '../../src-main/engine/service'

const [dbPath, epochs, seed] = process.argv.slice(2)
if (!dbPath || !epochs || !seed) {
  process.stderr.write('usage: analyst-train-child.ts <library> <epochs> <seed>\n')
  process.exit(2)
}
const line = (x: unknown) => process.stdout.write(`${JSON.stringify(x)}\n`)
const service = new LineupService({ dbPath, host: 'browser', analyst: 'child' })
service.onEvent((e) => {
  if (e.type === 'job.progress') line({ progress: e.progress })
  else if (e.type === 'job.finished') line({ finished: e.job })
})
const job = await service['train.start']({ loss: 'rank-triplet', epochs: Number(epochs), seed: Number(seed) })
line({ started: job })
for (;;) {
  const j = await service['jobs.get']({ id: job.id })
  if (j.status !== 'running') break
  await new Promise((r) => setTimeout(r, 50))
}
await service.close()
