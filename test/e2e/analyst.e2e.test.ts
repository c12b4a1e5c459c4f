/**
 * The analyst's loop end to end (issue #6): a real `lineup serve` on a temporary library, the built
 * renderer in headless Debian Chromium, everything done through the UI. Import Market-1501's
 * bounding_box_train/ (151 identities, so there are persons to learn from), add the OSNet model and
 * embed, search, mark results by keyboard with the ground-truth identity as the oracle and watch
 * the list re-rank at once, start a second person by mouse, fine-tune (refused first with one
 * person; a long run cancelled), read the charts and the before/after, activate the new version
 * and roll back, open the person's timeline and export the case report. Screenshots of each step
 * go to test-results/e2e/analyst-*.png.
 */
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  api,
  cells,
  focused,
  generation,
  newRanking,
  personCounts,
  pixelsOf,
  visibleOrBanner,
  type Cell,
} from './analyst-ui'
import { count, imagesLoaded, importThroughUi, launchChromium, openPage } from './browser'
import { marketFacts } from './market'
import { startServe, type ServeHandle } from './serve'

const repoRoot = path.resolve(fileURLToPath(new URL('../..', import.meta.url)))
const rendererIndex = path.join(repoRoot, 'out/renderer/index.html')
const trainFolder = path.resolve(repoRoot, '../shared/data/market1501/bounding_box_train')
const modelFile = path.resolve(repoRoot, '../shared/models/osnet_x0_25_msmt17/osnet_x0_25_msmt17.onnx')
const shots = path.join(repoRoot, 'test-results/e2e')

const missing = [trainFolder, modelFile].filter((p) => !existsSync(p))
const hasData = missing.length === 0
if (!hasData) console.warn(`[e2e] skipping the analyst tests: ../shared is absent (${missing.join(', ')})`)

// Two cores shared by the server, its workers and Chromium: give UI polls room.
vi.setConfig({ expect: { poll: { timeout: 10_000, interval: 50 } } })

let browser: Browser
let server: ServeHandle
let page: Page
let tmp: string
const pageErrors: string[] = []
/** What each step took, printed at the end. */
const timings: Record<string, number> = {}

const shot = (name: string): Promise<Buffer> =>
  page.screenshot({ path: path.join(shots, `analyst-${name}.png`) })

async function timed<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const t = performance.now()
  try {
    return await fn()
  } finally {
    timings[name] = Math.round(performance.now() - t)
  }
}

beforeAll(async () => {
  if (!hasData) return
  if (!existsSync(rendererIndex))
    throw new Error(`${rendererIndex} is missing: run \`npm run build\` before the e2e tests`)
  tmp = mkdtempSync(path.join(tmpdir(), 'lineup-e2e-analyst-'))
  mkdirSync(shots, { recursive: true })
  browser = await launchChromium()
  server = await startServe(repoRoot, path.join(tmp, 'case.lineup'))
  page = await openPage(browser, server.url, pageErrors)
})

afterAll(async () => {
  if (Object.keys(timings).length > 0) console.info('[e2e] analyst timings (ms):', timings)
  await browser?.close()
  await server?.stop()
  if (tmp) rmSync(tmp, { recursive: true, force: true })
})

/**
 * Opens the first crop of `identity` in the Library and searches with it; resolves to its crop id
 * and camera.
 */
async function searchWithIdentity(identity: string, crops: number): Promise<{ id: number; camera: string }> {
  // The Search view counts its rankings; read the count before leaving it.
  const before = (await page.getByTestId('results-total').count()) ? await generation(page) : 0
  await page.getByTestId('tab-library').click()
  await page.getByTestId('identity-input').fill(identity)
  await page.getByTestId('identity-apply').click()
  await expect
    .poll(async () => Number(await page.getByTestId('grid-total').getAttribute('data-total')))
    .toBe(crops)
  const first = page.getByTestId('grid-cell').first()
  const id = Number(await first.getAttribute('data-id'))
  await first.click()
  await expect.poll(() => page.getByTestId('detail-panel').locator('h2').textContent()).toBe(`Crop ${id}`)
  await page.getByTestId('detail-search').click()
  await page.getByTestId('search-view').waitFor({ state: 'visible' })
  await expect.poll(() => page.getByTestId('query-chip').getAttribute('data-id')).toBe(String(id))
  await newRanking(page, before)
  const crop = await api<{ camera: string }>(page, 'library.crop', { id })
  return { id, camera: crop.camera }
}

/** The crop ids of `list` without `drop`, in order. */
const without = (list: Cell[], drop: number): number[] => list.map((c) => c.id).filter((id) => id !== drop)

/** True when the crops both lists hold are not in the same relative order. */
function reordered(before: number[], after: number[]): boolean {
  const common = new Set(after.filter((id) => before.includes(id)))
  const a = before.filter((id) => common.has(id))
  const b = after.filter((id) => common.has(id))
  return a.some((id, i) => id !== b[i])
}

describe.skipIf(!hasData)('the analyst loop: Market-1501 training identities with the OSNet model', () => {
  const facts = hasData ? marketFacts(trainFolder) : null
  // The two identities with the most crops: each has true matches to confirm in its top 50.
  const [idA, idB] = hasData
    ? [...facts!.byIdentity].sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0])).map(([i]) => i)
    : []
  const modelSha = hasData ? createHash('sha256').update(readFileSync(modelFile)).digest('hex') : ''

  let queryA = { id: 0, camera: '' }
  /** Crops confirmed for person A, with their cameras, as the test marked them. */
  const confirmedA = new Map<number, string>()
  let rejectedA = 0

  it('imports bounding_box_train, adds the OSNet model and embeds the library', async () => {
    const imported = await timed('import', () => importThroughUi(page, trainFolder))
    expect(imported).toBe(facts!.files)
    await page.getByTestId('tab-search').click()
    await page.getByTestId('model-path').fill(modelFile)
    await page.getByTestId('model-input-size').fill('256x128')
    await page.getByTestId('model-add').click()
    const row = page.getByTestId('model-row')
    await visibleOrBanner(page, row, 60_000)
    expect(await row.getAttribute('data-key')).toBe(modelSha)
    await timed('embed', async () => {
      await page.getByTestId('embed-start').click()
      const result = page.getByTestId('embed-result')
      await visibleOrBanner(page, result, 150_000)
      expect(await result.getAttribute('data-status')).toBe('done')
    })
    expect(count(await page.getByTestId('embed-embedded').textContent())).toBe(facts!.files)
  }, 200_000)

  it('searches with a crop; no person of interest until the first mark; the first result is focused', async () => {
    queryA = await searchWithIdentity(idA!, facts!.byIdentity.get(idA!)!)
    expect(Number(await page.getByTestId('results-total').getAttribute('data-total'))).toBe(facts!.files - 1)
    await page.getByTestId('person-bar-none').waitFor({ state: 'visible' })
    const list = await cells(page)
    expect(list.length).toBe(50)
    expect((await focused(page)).index).toBe(0)
    expect(list.every((c) => c.verdict === '')).toBe(true)
    await imagesLoaded(page.getByTestId('result-cell').locator('img'))
    await shot('01-search')
  })

  it('moves the focus ring with arrows and J/K, compares with Enter, and ignores keys typed in fields', async () => {
    // Columns as laid out: the cells on the first cell's row.
    const tops = await page
      .getByTestId('result-cell')
      .evaluateAll((els: { getBoundingClientRect(): { top: number } }[]) =>
        els.map((el) => Math.round(el.getBoundingClientRect().top)),
      )
    const columns = tops.filter((t) => t === tops[0]).length
    expect(columns).toBeGreaterThan(1)
    const steps: [string, number][] = [
      ['j', 1],
      ['j', 2],
      ['k', 1],
      ['ArrowLeft', 0],
      ['ArrowRight', 1],
      ['ArrowDown', 1 + columns],
      ['ArrowUp', 1],
      ['Home', 0],
    ]
    for (const [key, index] of steps) {
      await page.keyboard.press(key)
      expect((await focused(page)).index, `after ${key}`).toBe(index)
    }
    // The focused card holds the keyboard focus (roving tabindex).
    expect(await page.evaluate('document.activeElement?.dataset.index')).toBe('0')

    await page.keyboard.press('Enter')
    const compare = page.getByTestId('compare-view')
    await compare.waitFor({ state: 'visible' })
    expect(await compare.getAttribute('data-rank')).toBe('1')
    await page.keyboard.press('Escape')
    await compare.waitFor({ state: 'detached' })

    // Typing in a field is typing, not triage: no mark, no person.
    const field = page.getByTestId('query-id-input')
    await field.click()
    await page.keyboard.type('ynuz')
    expect(await field.inputValue()).toBe('ynuz')
    await field.fill('')
    expect(await page.getByTestId('person-bar-none').count()).toBe(1)
    expect((await cells(page)).every((c) => c.verdict === '')).toBe(true)
    await field.blur()
  })

  it('marks five results by keyboard; each mark re-ranks the list at once and shows what moved', async () => {
    const ms: number[] = []
    for (let n = 0; n < 5; n++) {
      let target = await focused(page)
      // Triage top-down; when none was wrong so far, the last mark goes to the wrong crop nearest
      // the end of the page, so a rejection is made too (a look-alike spotted further down).
      if (n === 4 && rejectedA === 0) {
        await page.keyboard.press('End')
        target = await focused(page)
        expect(target.index).toBe(49)
        while (target.identity === idA || target.verdict !== '') {
          expect(target.index, `a crop of another identity than ${idA} on the page`).toBeGreaterThan(0)
          await page.keyboard.press('k')
          target = await focused(page)
        }
      }
      const before = await cells(page)
      const g = await generation(page)
      const same = target.identity === idA
      const t = performance.now()
      await page.keyboard.press(same ? 'y' : 'n')
      await newRanking(page, g)
      ms.push(Math.round(performance.now() - t))
      const after = await cells(page)
      expect(after.length).toBe(50)
      const moves = page.getByTestId('result-move')
      expect(await moves.count(), 'movement badges after a mark').toBeGreaterThan(0)
      const summary = page.getByTestId('rerank-summary')
      const sum =
        Number(await summary.getAttribute('data-up')) +
        Number(await summary.getAttribute('data-down')) +
        Number(await summary.getAttribute('data-new'))
      expect(sum).toBe(await moves.count())
      if (same) {
        confirmedA.set(target.id, target.camera)
        // A confirmed crop joins the query: gone from the results, kept in the sightings strip…
        expect(after.some((c) => c.id === target.id)).toBe(false)
        await page.locator(`[data-testid="sighting-chip"][data-id="${target.id}"]`).waitFor()
        // …and the others are ranked against the new query, not just shifted up by one.
        expect(reordered(without(before, target.id), without(after, target.id))).toBe(true)
      } else {
        rejectedA += 1
        // A rejected crop sinks (or leaves the page) with its look-alikes; where it is, it shows the mark.
        const now = after.find((c) => c.id === target.id)
        if (now) {
          expect(now.verdict).toBe('different')
          expect(now.index).toBeGreaterThan(target.index)
        }
      }
      const counts = await personCounts(page)
      expect(counts.confirmed).toBe(confirmedA.size)
      expect(counts.rejected).toBe(rejectedA)
    }
    timings['mark→re-rank (each)'] = Math.max(...ms)
    // Instant: a mark to the re-ranked list shown, through HTTP, on 2,412 crops.
    for (const m of ms) expect(m).toBeLessThan(2_000)
    expect(confirmedA.size).toBeGreaterThanOrEqual(1)
    expect(rejectedA).toBeGreaterThanOrEqual(1)
    expect(await page.getByTestId('person-bar-name').textContent()).toBe('Person 1')
    await expect.poll(() => page.getByTestId('tab-persons').textContent()).toMatch(/Persons\s*1/)
    await page.keyboard.press('Home')
    await imagesLoaded(page.getByTestId('result-cell').locator('img'))
    await shot('02-marked')
  })

  it('undoes the last mark with Z, then marks it again; marks from the comparison too', async () => {
    const last = await personCounts(page)
    const g = await generation(page)
    await page.keyboard.press('z')
    await newRanking(page, g)
    const undone = await personCounts(page)
    expect(undone.confirmed + undone.rejected).toBe(last.confirmed + last.rejected - 1)
    const status = (await page.getByTestId('person-status').textContent()) ?? ''
    const crop = Number(/^Undone: crop (\d+) is unmarked again/.exec(status)?.[1])
    // The focus ring is on the crop the undo brought back, unmarked: mark it again by its label.
    const back = await focused(page)
    expect(back.id).toBe(crop)
    expect(back.verdict).toBe('')
    const g2 = await generation(page)
    await page.keyboard.press(back.identity === idA ? 'y' : 'n')
    await newRanking(page, g2)
    expect(await personCounts(page)).toEqual(last)

    // Enter compares the focused result side by side; U marks it there, Z takes it back.
    await page.keyboard.press('Home')
    const first = await focused(page)
    await page.keyboard.press('Enter')
    const compare = page.getByTestId('compare-view')
    await compare.waitFor({ state: 'visible' })
    const g3 = await generation(page)
    await page.keyboard.press('u')
    await newRanking(page, g3)
    await expect.poll(() => page.getByTestId('compare-mark-unsure').getAttribute('aria-pressed')).toBe('true')
    expect(await page.getByTestId('compare-result').getAttribute('data-id')).toBe(String(first.id))
    await shot('03-compare-marked')
    await page.keyboard.press('Escape')
    await compare.waitFor({ state: 'detached' })
    expect((await cells(page)).find((c) => c.id === first.id)?.verdict).toBe('unsure')
    expect(await personCounts(page)).toEqual({ ...last, unsure: 1 })
    const g4 = await generation(page)
    await page.keyboard.press('z')
    await newRanking(page, g4)
    expect(await personCounts(page)).toEqual(last)
    expect((await cells(page)).find((c) => c.id === first.id)?.verdict).toBe('')
  })

  it('renames the person and keeps notes', async () => {
    await page.getByTestId('person-bar-rename').click()
    await page.getByTestId('person-bar-name-input').fill('Suspect A')
    await page.getByTestId('person-bar-name-input').press('Enter')
    await expect.poll(() => page.getByTestId('person-bar-name').textContent()).toBe('Suspect A')
    await page.getByTestId('person-bar-notes-toggle').click()
    await page.getByTestId('person-bar-notes').fill('Purple shirt; seen on several cameras.')
    await page.getByTestId('person-bar-notes-save').click()
    await page.getByRole('status').filter({ hasText: 'Saved' }).waitFor()
    const stored = await api<{ name: string; notes: string }[]>(page, 'persons.list', {})
    expect(stored).toMatchObject([{ name: 'Suspect A', notes: 'Purple shirt; seen on several cameras.' }])
    await shot('04-person-named')
    await page.getByTestId('person-bar-notes-toggle').click()
  })

  it('refuses to fine-tune with one person and says why', async () => {
    await page.getByTestId('finetune-start').click()
    const refusal = page.getByTestId('finetune-refusal')
    await refusal.waitFor({ state: 'visible' })
    expect(await refusal.textContent()).toMatch(/at least 2 persons with 2 confirmed crops/)
    expect(await page.getByTestId('train-dialog').count()).toBe(0)
    await refusal.scrollIntoViewIfNeeded()
    await shot('05-refusal')
  })

  it('starts a second person with the mouse: two confirmed crops and a rejection', async () => {
    const queryB = await searchWithIdentity(idB!, facts!.byIdentity.get(idB!)!)
    await page.getByTestId('person-bar-none').waitFor({ state: 'visible' })
    const markByMouse = async (cell: Cell, verdict: 'same' | 'different'): Promise<void> => {
      const g = await generation(page)
      await page
        .locator('li', { has: page.locator(`[data-testid="result-cell"][data-id="${cell.id}"]`) })
        .getByTestId(`mark-${verdict}`)
        .click()
      await newRanking(page, g)
    }
    for (let n = 0; n < 2; n++) {
      const match = (await cells(page)).find((c) => c.identity === idB && c.verdict === '')
      expect(match, `a crop of ${idB} in the top 50 of crop ${queryB.id}`).toBeDefined()
      await markByMouse(match!, 'same')
    }
    const wrong = (await cells(page)).find((c) => c.identity !== idB && c.verdict === '')!
    await markByMouse(wrong, 'different')
    const counts = await personCounts(page)
    expect(counts).toMatchObject({ confirmed: 2, rejected: 1, unsure: 0 })
    expect(await page.getByTestId('person-bar-name').textContent()).toBe('Person 2')
    await expect.poll(() => page.getByTestId('finetune-ready').getAttribute('data-ready')).toBe('2')
    await shot('06-second-person')
  })

  it('cancels a long fine-tune; shows progress with an ETA and live charts meanwhile', async () => {
    await page.getByTestId('finetune-loss').selectOption('baseline')
    await page.getByTestId('finetune-epochs').fill('1000')
    await page.getByTestId('finetune-start').click()
    const dialog = page.getByTestId('train-dialog')
    await dialog.waitFor({ state: 'visible' })
    expect(await page.getByTestId('finetune-refusal').count()).toBe(0)
    const counts = page.getByTestId('train-progress-counts')
    await expect.poll(() => counts.textContent(), { timeout: 30_000 }).toMatch(/^\d[\d,]* \/ 1,000$/)
    expect(await page.getByTestId('train-progress').textContent()).toMatch(/ETA \d/)
    await expect
      .poll(async () => Number(await page.getByTestId('chart-loss').getAttribute('data-points')))
      .toBeGreaterThan(0)
    await shot('07-training')
    await page.getByTestId('train-cancel').click()
    await expect.poll(() => dialog.getAttribute('data-status'), { timeout: 30_000 }).toBe('cancelled')
    expect(await page.getByTestId('train-ended').textContent()).toMatch(/cancelled at step \d+/)
    expect(await page.getByTestId('train-activate').count()).toBe(0)
    await page.keyboard.press('Escape')
    await dialog.waitFor({ state: 'detached' })
  }, 60_000)

  it('fine-tunes with Rank-Triplet: charts of the run, then the before/after on the labels', async () => {
    await page.getByTestId('finetune-loss').selectOption('rank-triplet')
    await page.getByTestId('finetune-epochs').fill('60')
    // Camera centering is on unless the analyst unticks it.
    expect(await page.getByTestId('finetune-centering').isChecked()).toBe(true)
    await timed('fine-tune', async () => {
      await page.getByTestId('finetune-start').click()
      await page.getByTestId('train-dialog').waitFor({ state: 'visible' })
      await visibleOrBanner(page, page.getByTestId('train-comparison'), 90_000)
    })
    expect(await page.getByTestId('train-dialog').getAttribute('data-status')).toBe('done')
    // The paper's Fig. 5 charts: drawn on canvas, one point per epoch at least.
    const charts: [string, [number, number, number][]][] = [
      ['chart-loss', [[106, 162, 240]]],
      // mAP and R1 may coincide (R1 drawn over mAP): either colour counts.
      [
        'chart-batch',
        [
          [79, 178, 134],
          [217, 164, 65],
        ],
      ],
      ['chart-misranked', [[226, 109, 109]]],
    ]
    for (const [id, colours] of charts) {
      const chart = page.getByTestId(id)
      expect(await chart.locator('canvas').count(), id).toBe(1)
      expect(Number(await chart.getAttribute('data-points')), id).toBeGreaterThanOrEqual(60)
      let drawn = 0
      for (const rgb of colours) drawn += await pixelsOf(chart, rgb)
      expect(drawn, `${id}: series pixels`).toBeGreaterThan(20)
    }
    // The library's Market cameras each have 20+ crops: each gets its own mean.
    expect(await page.getByTestId('train-centering').textContent()).toMatch(
      /Centred on the means of 6 cameras \(c1, c2, c3, c4, c5, c6\)/,
    )
    // No validation batch in a fine-tune on marks: said so instead of an empty chart.
    expect(await page.getByTestId('chart-validation-none').count()).toBe(1)

    const metrics = page.getByTestId('train-metric')
    expect(await metrics.count()).toBe(2)
    for (const m of await metrics.all()) {
      for (const attr of ['data-before', 'data-after']) {
        const v = Number(await m.getAttribute(attr))
        expect(v).toBeGreaterThanOrEqual(0)
        expect(v).toBeLessThanOrEqual(1)
      }
    }
    // Two persons: too few to hold any out, and the panel says the comparison is optimistic.
    expect(await page.getByTestId('train-heldout').getAttribute('data-heldout')).toBe('false')
    expect(await page.getByTestId('train-person').count()).toBe(2)
    // Every confirmed match is listed with its rank before and after.
    expect(await page.getByTestId('train-match').count()).toBe(confirmedA.size + 2)
    await shot('08-before-after')
  }, 120_000)

  it('activates the new version; the models panel lists both and rolls back', async () => {
    await page.getByTestId('train-activate').click()
    await expect
      .poll(() => page.getByTestId('train-decision').getAttribute('data-decision'), { timeout: 20_000 })
      .toBe('activated')
    await page.getByTestId('train-close').click()
    const head = page.locator('[data-testid="model-row"][data-kind="head"]')
    const base = page.locator(`[data-testid="model-row"][data-key="${modelSha}"]`)
    await expect.poll(() => head.getAttribute('data-active')).toBe('true')
    expect(await base.getAttribute('data-active')).toBe('false')
    expect(await head.getAttribute('data-base')).toBe(await base.getAttribute('data-id'))
    expect(await head.getAttribute('data-embedded')).toBe(String(facts!.files))
    const resultsModel = page.getByTestId('results-model')
    await expect.poll(() => resultsModel.getAttribute('data-key')).toMatch(/^head:[0-9a-f]{64}$/)
    const headKey = (await head.getAttribute('data-key'))!

    // Roll back to the base model, then forward again.
    await base.getByTestId('model-activate').click()
    await expect.poll(() => base.getAttribute('data-active')).toBe('true')
    await expect.poll(() => resultsModel.getAttribute('data-key')).toBe(modelSha)
    await head.getByTestId('model-activate').click()
    await expect.poll(() => head.getAttribute('data-active')).toBe('true')
    await expect.poll(() => resultsModel.getAttribute('data-key')).toBe(headKey)
    await head.scrollIntoViewIfNeeded()
    await shot('09-models')
  }, 60_000)

  it('after a reload, the last fine-tune can be shown again: its charts and before/after, from the library', async () => {
    await page.reload()
    const last = page.getByTestId('finetune-last')
    await last.waitFor({ timeout: 20_000 })
    await page.getByTestId('finetune-show').click()
    await page.getByTestId('train-dialog').waitFor({ state: 'visible' })
    expect(await page.getByTestId('train-dialog').getAttribute('data-status')).toBe('done')
    for (const id of ['chart-loss', 'chart-batch', 'chart-misranked']) {
      const chart = page.getByTestId(id)
      expect(await chart.locator('canvas').count(), id).toBe(1)
      expect(Number(await chart.getAttribute('data-points')), id).toBeGreaterThanOrEqual(60)
    }
    expect(await page.getByTestId('train-metric').count()).toBe(2)
    await page.getByTestId('train-close').click()
  }, 60_000)

  it("opens the person's page: sightings on a timeline, one lane per camera; a sighting leads back", async () => {
    await page.getByTestId('tab-persons').click()
    await page.getByTestId('persons-view').waitFor()
    expect(await page.getByTestId('person-row').count()).toBe(2)
    await page.getByTestId('person-row').filter({ hasText: 'Suspect A' }).click()
    const personPage = page.getByTestId('person-page')
    await expect.poll(() => page.getByTestId('person-page-name').textContent()).toBe('Suspect A')
    expect(await page.getByTestId('person-page-notes').inputValue()).toBe(
      'Purple shirt; seen on several cameras.',
    )

    const cameras = new Set([queryA.camera, ...confirmedA.values()])
    const timeline = page.getByTestId('timeline')
    await expect.poll(() => timeline.getAttribute('data-sightings')).toBe(String(confirmedA.size + 1))
    expect(await timeline.getAttribute('data-lanes')).toBe(String(cameras.size))
    const lanes = await page
      .getByTestId('timeline-lane')
      .evaluateAll((els: { dataset: Record<string, string | undefined> }[]) =>
        els.map((el) => [el.dataset.camera ?? '', Number(el.dataset.count)] as const),
      )
    expect(lanes.map(([c]) => c).sort()).toEqual([...cameras].sort())
    const sightings = await page
      .getByTestId('timeline-sighting')
      .evaluateAll((els: { dataset: Record<string, string | undefined> }[]) =>
        els.map((el) => ({
          id: Number(el.dataset.id),
          camera: el.dataset.camera,
          order: Number(el.dataset.order),
        })),
      )
    expect(sightings.map((s) => s.order)).toEqual(sightings.map((_, i) => i + 1))
    for (const s of sightings)
      expect(s.camera).toBe(s.id === queryA.id ? queryA.camera : confirmedA.get(s.id))
    for (const [camera, n] of lanes) expect(sightings.filter((s) => s.camera === camera).length).toBe(n)
    await imagesLoaded(personPage.locator('img'))
    await shot('10-person')

    // A confirmed sighting leads back to the person's ranking, pointed out in the strip.
    const target = sightings.find((s) => s.id !== queryA.id)!
    await page.locator(`[data-testid="timeline-sighting"][data-id="${target.id}"]`).click()
    await page.getByTestId('search-view').waitFor({ state: 'visible' })
    await expect.poll(() => page.getByTestId('person-bar-name').textContent()).toBe('Suspect A')
    expect(await page.getByTestId('query-chip').getAttribute('data-id')).toBe(String(queryA.id))
    await expect
      .poll(() => page.getByTestId('results-total').getAttribute('data-queries'))
      .toBe(String(confirmedA.size + 1))
    const chip = page.locator(`[data-testid="sighting-chip"][data-id="${target.id}"]`)
    expect(await chip.getAttribute('class')).toMatch(/highlight/)
    const shown = await cells(page)
    expect(shown.some((c) => confirmedA.has(c.id) || c.id === queryA.id)).toBe(false)
    await shot('11-back-to-ranking')
  })

  it("exports the case report: a download holding every sighting's SHA-256", async () => {
    await page.getByTestId('person-bar-open').click()
    await expect.poll(() => page.getByTestId('person-page-name').textContent()).toBe('Suspect A')
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('person-page-export').click(),
    ])
    expect(download.suggestedFilename()).toMatch(/^lineup-report-Suspect-A-[0-9a-f]{8}\.html$/)
    const html = readFileSync(await download.path(), 'utf8')
    const exported = page.getByTestId('person-page-exported')
    await exported.waitFor({ state: 'visible' })
    const seal = (await exported.getAttribute('data-seal'))!
    expect(seal).toMatch(/^[0-9a-f]{64}$/)
    expect(html).toContain(seal)
    expect(html).toContain('Suspect A')
    // The crops' SHA-256, computed here from the original files on disk.
    for (const id of [queryA.id, ...confirmedA.keys()]) {
      const crop = await api<{ path: string; sha256: string }>(page, 'library.crop', { id })
      const sha = createHash('sha256').update(readFileSync(crop.path)).digest('hex')
      expect(sha).toBe(crop.sha256)
      expect(html, `crop ${id}`).toContain(sha)
    }
    expect(await page.getByTestId('person-page-download').getAttribute('href')).toMatch(/^blob:/)
    await shot('12-report')
  })

  it('raised no error in the page or the banner', async () => {
    expect(pageErrors).toEqual([])
    expect(await page.getByTestId('error-banner').count()).toBe(0)
  })
})
