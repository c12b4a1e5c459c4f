import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readCheckpoint } from '../../src-main/engine/training/checkpoint'
import { jsonLines, runCli, spawnCli } from '../helpers/cli'
import { tempDir } from '../helpers/tmp'
import { makeToyDataset } from '../helpers/toy-dataset'

const tmp = tempDir('lineup-train-kill-')
// Spawned commands inherit process.env: keep the feature cache out of ~/.cache.
const savedCacheDir = process.env.LINEUP_CACHE_DIR
process.env.LINEUP_CACHE_DIR = join(tmp.path, 'cache')
afterAll(() => {
  if (savedCacheDir === undefined) delete process.env.LINEUP_CACHE_DIR
  else process.env.LINEUP_CACHE_DIR = savedCacheDir
  tmp.dispose()
})

/**
 * 30 training identities × 12 images in batches of 2 × 2: about 75 steps and a tenth of a second
 * per epoch, so a signal sent on an epoch's checkpoint line lands well inside the next epoch.
 */
const root = join(tmp.path, 'toy')
const ARGS = ['--builtin', '--epochs', '8', '--p', '2', '--k', '2', '--patience', '0']

interface Final {
  before: { R1: number; mAP: number }
  after: { R1: number; mAP: number }
  steps: number
  epochs: number
  best_epoch: number
  stop: string
  resumed_from_step: number
}
interface Header {
  step: number
  epoch: number
  finished: string | null
}
interface StepRecord {
  step: number
  epoch: number
  loss: number
  batchMAP: number
  batchR1: number
  misranked: number
  lr: number
}

const trainArgs = (out: string, json = true) => [
  'train',
  root,
  ...ARGS,
  '--out',
  out,
  ...(json ? ['--json'] : []),
]

/** Runs `lineup train` to the end; its JSON lines and the final one. */
async function trainToEnd(out: string) {
  const r = await runCli(trainArgs(out))
  expect(r.code, r.stderr).toBe(0)
  const lines = jsonLines(r.stdout)
  return { lines, final: lines.at(-1) as unknown as Final }
}

/**
 * Spawns `lineup train` and sends `signal` as soon as `when` is true of a stdout line (raw text),
 * then collects everything until it exits.
 */
function trainThenSignal(
  args: string[],
  signal: NodeJS.Signals,
  when: (line: string) => boolean | Promise<boolean>,
): Promise<{
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  at: string
  pid: number
}> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(args)
    let stdout = ''
    let stderr = ''
    let partial = ''
    let at: string | null = null
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s))
    child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      stdout += s
      const lines = (partial + s).split('\n')
      partial = lines.pop()!
      for (const line of lines) {
        if (at !== null) break
        const hit = when(line)
        const fire = (yes: boolean) => {
          if (yes && at === null) {
            at = line
            child.kill(signal)
          }
        }
        if (typeof hit === 'boolean') fire(hit)
        else void hit.then(fire)
      }
    })
    child.on('error', reject)
    child.on('close', (code, sig) =>
      at === null
        ? reject(
            new Error(`train ended before the ${signal} (exit ${code}): ${stderr}\n${stdout.slice(-500)}`),
          )
        : resolve({ code, signal: sig, stdout, stderr, at, pid: child.pid! }),
    )
  })
}

const isCheckpointFrom = (epoch: number) => (line: string) => {
  if (!line.startsWith('{"event":"checkpoint"')) return false
  return (JSON.parse(line) as { epoch: number }).epoch >= epoch
}

const history = (out: string) =>
  JSON.parse(readFileSync(join(out, 'history.json'), 'utf8')) as {
    steps: StepRecord[]
    epochs: { epoch: number; step: number; val: unknown }[]
  }
const manifestSha = (out: string) =>
  (JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { head: { sha256: string } }).head.sha256

const whole = join(tmp.path, 'uninterrupted')
/** A process id no live process has (above Linux's pid_max of 4,194,304). */
const STALE_PID = 9_999_999
let reference: { lines: Record<string, unknown>[]; final: Final }

beforeAll(async () => {
  await makeToyDataset(root, { trainIds: Array.from({ length: 30 }, (_, i) => i + 1), trainPerId: 12 })
  reference = await trainToEnd(whole) // also fills the feature cache, so the runs below start training at once
  expect(reference.final).toMatchObject({ epochs: 8, stop: 'max-epochs', resumed_from_step: 0 })
}, 120_000)

describe('lineup train killed with SIGKILL after a checkpoint, then run again', () => {
  const out = join(tmp.path, 'killed')
  let killed: Awaited<ReturnType<typeof trainThenSignal>>
  let saved: Header

  beforeAll(async () => {
    killed = await trainThenSignal(trainArgs(out), 'SIGKILL', isCheckpointFrom(2))
  })

  it('dies by the signal without finishing, leaving a checkpoint that reads back intact', () => {
    expect(killed.signal).toBe('SIGKILL')
    const seen = JSON.parse(killed.at) as { step: number; epoch: number; file: string }
    expect(seen.epoch).toBeGreaterThanOrEqual(2)
    expect(seen.file).toBe(join(out, 'checkpoint.lck'))
    expect(jsonLines(killed.stdout).some((l) => 'before' in l)).toBe(false) // no final line
    expect(existsSync(join(out, 'manifest.json'))).toBe(false)
    const ck = readCheckpoint<Header>(join(out, 'checkpoint.lck'))
    expect(ck).not.toBeNull()
    saved = ck!.header
    // The checkpoint on disk is the one reported, or a later epoch's if the signal came late.
    expect(saved.step).toBeGreaterThanOrEqual(seen.step)
    expect(saved.epoch).toBeGreaterThanOrEqual(seen.epoch)
    expect(saved.finished).toBeNull()
    // Its step is an epoch boundary of the uninterrupted run.
    const boundaries = (reference.lines.filter((l) => l.event === 'checkpoint') as { step: number }[]).map(
      (l) => l.step,
    )
    expect(boundaries).toContain(saved.step)
    if (saved.step !== seen.step)
      console.warn(`[note] the SIGKILL landed after epoch ${saved.epoch}, not ${seen.epoch}: a slow machine`)
    // Anything else in the folder is a temporary file of the killed process (a write cut short).
    const others = readdirSync(out).filter((f) => f !== 'checkpoint.lck')
    for (const f of others) expect(f).toMatch(new RegExp(`\\.tmp-${killed.pid}$`))
  })

  it('resumes from that checkpoint and ends exactly as the uninterrupted run', async () => {
    // Half-written temporary files of some other dead process are in the way too: they must not matter.
    writeFileSync(join(out, `checkpoint.lck.tmp-${STALE_PID}`), 'LINEUPCK torn')
    writeFileSync(join(out, `manifest.json.tmp-${STALE_PID}`), '{"format":')
    const resumed = await trainToEnd(out)
    const f = resumed.final
    expect(f.resumed_from_step).toBe(saved.step)
    expect(resumed.lines[0]).toMatchObject({ event: 'start', resumedFromStep: saved.step })
    // Only the epochs after the checkpoint were trained.
    const epochs = (resumed.lines.filter((l) => l.event === 'epoch') as { epoch: number }[]).map(
      (e) => e.epoch,
    )
    expect(epochs).toEqual(Array.from({ length: 8 - saved.epoch }, (_, i) => saved.epoch + 1 + i))
    const want = reference.final
    expect({
      steps: f.steps,
      epochs: f.epochs,
      best_epoch: f.best_epoch,
      stop: f.stop,
      before: f.before,
      after: f.after,
    }).toEqual({
      steps: want.steps,
      epochs: want.epochs,
      best_epoch: want.best_epoch,
      stop: want.stop,
      before: want.before,
      after: want.after,
    })
    expect(manifestSha(out)).toBe(manifestSha(whole))
    expect(readFileSync(join(out, 'head.bin')).equals(readFileSync(join(whole, 'head.bin')))).toBe(true)
    // The same batches replayed: every step's loss and batch metrics as in the uninterrupted run.
    expect(history(out).steps).toEqual(history(whole).steps)
    expect(history(out).epochs.map(({ epoch, step, val }) => ({ epoch, step, val }))).toEqual(
      history(whole).epochs.map(({ epoch, step, val }) => ({ epoch, step, val })),
    )
    // The resumed run leaves no temporary file of its own.
    const left = readdirSync(out).filter((x) => /\.tmp-/.test(x))
    for (const x of left) expect(x).toMatch(new RegExp(`\\.tmp-(${killed.pid}|${STALE_PID})$`))
  })
})

describe('lineup train interrupted with Ctrl-C (SIGINT)', () => {
  it('stops with exit code 130, says to run it again, and the run resumes to the same end', async () => {
    const out = join(tmp.path, 'interrupted')
    // Human output: wait for the "training …" line and the first checkpoint file, then Ctrl-C.
    const r = await trainThenSignal(trainArgs(out, false), 'SIGINT', async (line) => {
      if (!line.startsWith('training a ')) return false
      const file = join(out, 'checkpoint.lck')
      for (let i = 0; i < 500 && !existsSync(file); i++) await new Promise((res) => setTimeout(res, 10))
      return existsSync(file)
    })
    expect(r.signal).toBeNull()
    expect(r.code).toBe(130)
    expect(r.stdout).toMatch(
      /interrupted: training cancelled at step \d+; .+\. Run the same command again to resume\./,
    )
    expect(r.stderr).not.toMatch(/\n\s+at /)
    const ck = readCheckpoint<Header>(join(out, 'checkpoint.lck'))!
    expect(ck.header.epoch).toBeGreaterThanOrEqual(1)

    const resumed = await trainToEnd(out)
    expect(resumed.final.resumed_from_step).toBe(ck.header.step)
    expect(resumed.final.steps).toBe(reference.final.steps)
    expect(resumed.final.after).toEqual(reference.final.after)
    expect(manifestSha(out)).toBe(manifestSha(whole))
  })

  it('with --json too: exit code 130 and a message to run it again', async () => {
    const out = join(tmp.path, 'interrupted-json')
    const r = await trainThenSignal(trainArgs(out), 'SIGINT', isCheckpointFrom(1))
    expect(r.signal).toBeNull()
    expect(r.code).toBe(130)
    expect(jsonLines(r.stdout).some((l) => 'before' in l)).toBe(false)
    // On stderr, or as a JSON line: a script driving lineup --json is told too.
    expect(`${r.stderr}\n${r.stdout}`).toMatch(/run the same command again to resume/i)
  })
})
