/**
 * The Search view end to end (issue #4): a real `lineup serve` on a temporary library, the built
 * renderer in headless Debian Chromium. Everything is done by clicking through the UI: import the
 * Market-1501 query and gallery folders, add the OSNet model in the Models panel, embed the library
 * (with a cancel and a resume), search with one query crop picked in the Library, and compare a
 * result side by side. Screenshots go to test-results/e2e/.
 */
import { createHash } from 'node:crypto'
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Browser, Locator, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { count, imagesLoaded, importThroughUi, launchChromium, openPage } from './browser'
import { marketFacts, type MarketFacts } from './market'
import { startServe, type ServeHandle } from './serve'

const repoRoot = path.resolve(fileURLToPath(new URL('../..', import.meta.url)))
const rendererIndex = path.join(repoRoot, 'out/renderer/index.html')
const market = path.resolve(repoRoot, '../shared/data/market1501')
const queryFolder = path.join(market, 'query')
const galleryFolder = path.join(market, 'bounding_box_test')
const modelFile = path.resolve(repoRoot, '../shared/models/osnet_x0_25_msmt17/osnet_x0_25_msmt17.onnx')
const shots = path.join(repoRoot, 'test-results/e2e')

const missing = [queryFolder, galleryFolder, modelFile].filter((p) => !existsSync(p))
const hasData = missing.length === 0
if (!hasData) console.warn(`[e2e] skipping the search tests: ../shared is absent (${missing.join(', ')})`)

// Two cores shared by the server, the embedding worker and Chromium: give UI polls room.
vi.setConfig({ expect: { poll: { timeout: 10_000, interval: 50 } } })

const MARKET = /^(-1|\d{4})_c(\d+)s\d+_\d+_\d+\.jpe?g$/i

let browser: Browser
let tmp: string
const servers: ServeHandle[] = []

beforeAll(async () => {
  if (!existsSync(rendererIndex))
    throw new Error(`${rendererIndex} is missing: run \`npm run build\` before the e2e tests`)
  tmp = mkdtempSync(path.join(tmpdir(), 'lineup-e2e-search-'))
  mkdirSync(shots, { recursive: true })
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  for (const s of servers) await s.stop()
  if (tmp) rmSync(tmp, { recursive: true, force: true })
})

async function serve(name: string): Promise<ServeHandle> {
  const server = await startServe(repoRoot, path.join(tmp, `${name}.lineup`))
  servers.push(server)
  return server
}

/** The result cells of the shown page, as the grid's data attributes describe them. */
async function results(
  page: Page,
): Promise<{ rank: number; id: number; camera: string; identity: string }[]> {
  return page
    .getByTestId('result-cell')
    .evaluateAll((els: { dataset: Record<string, string | undefined> }[]) =>
      els.map((el) => ({
        rank: Number(el.dataset.rank),
        id: Number(el.dataset.id),
        camera: el.dataset.camera ?? '',
        identity: el.dataset.identity ?? '',
      })),
    )
}

/** Waits until the toolbar reports `expected` results (null: any) and no search is in flight. */
async function resultsTotal(page: Page, expected: number | null = null): Promise<number> {
  const total = page.getByTestId('results-total')
  const read = async (): Promise<number | null> => {
    if (await page.getByTestId('results-loading').count()) return null
    const value = await total.getAttribute('data-total', { timeout: 1_000 }).catch(() => null)
    return value === null ? null : Number(value)
  }
  if (expected === null) await expect.poll(read).not.toBeNull()
  else await expect.poll(read).toBe(expected)
  return (await read())!
}

/** The error banner's text, or null when none is shown. */
async function bannerText(page: Page): Promise<string | null> {
  const banner = page.getByTestId('error-banner')
  return (await banner.count()) ? `the UI reported: ${await banner.textContent()}` : null
}

/**
 * Waits for `target` to become visible, failing at once with the banner's message when the UI
 * reports an error instead (a refused model, a failed embedding).
 */
async function visibleOrBanner(page: Page, target: Locator, timeout: number): Promise<void> {
  const state = async (): Promise<string | null> =>
    (await bannerText(page)) ?? ((await target.isVisible()) ? 'visible' : null)
  await expect.poll(state, { timeout, interval: 200 }).not.toBeNull()
  expect(await state()).toBe('visible')
}

/** Waits for the embedding result line and resolves to its status; the banner's message fails at once. */
async function embedOutcome(page: Page, timeout: number): Promise<string> {
  const result = page.getByTestId('embed-result')
  const state = async (): Promise<string | null> =>
    (await bannerText(page)) ?? ((await result.count()) ? result.getAttribute('data-status') : null)
  await expect.poll(state, { timeout, interval: 200 }).not.toBeNull()
  const outcome = (await state())!
  if (outcome.startsWith('the UI reported')) throw new Error(outcome)
  return outcome
}

/**
 * Opens the crop imported from `file` in the Library's detail panel (filtering by its identity and
 * camera, then clicking the cells) and resolves to its crop id.
 */
async function openInLibrary(
  page: Page,
  file: string,
  identity: string,
  camera: string,
  expected: number,
): Promise<number> {
  await page.getByTestId('tab-library').click()
  await page.getByTestId('identity-input').fill(identity)
  await page.getByTestId('identity-apply').click()
  await page.getByTestId(`camera-facet-${camera}`).click()
  await expect
    .poll(async () => Number(await page.getByTestId('grid-total').getAttribute('data-total')))
    .toBe(expected)
  const cells = page.getByTestId('grid-cell')
  await expect.poll(() => cells.count()).toBe(expected)
  for (let i = 0; i < expected; i++) {
    const cell = cells.nth(i)
    const id = Number(await cell.getAttribute('data-id'))
    await cell.click()
    await expect.poll(() => page.getByTestId('detail-panel').locator('h2').textContent()).toBe(`Crop ${id}`)
    // Compare real paths: the library may record the folder through a symlink or not.
    const shown = (await page.getByTestId('detail-path').textContent()) ?? ''
    if (existsSync(shown) && realpathSync(shown) === realpathSync(file)) return id
  }
  throw new Error(`no crop of ${identity} in ${camera} was imported from ${file}`)
}

/** Crops of the library (query + gallery folders) by camera, identity, and both. */
function combine(a: MarketFacts, b: MarketFacts): MarketFacts {
  const merge = (x: Map<string, number>, y: Map<string, number>): Map<string, number> => {
    const out = new Map(x)
    for (const [k, v] of y) out.set(k, (out.get(k) ?? 0) + v)
    return out
  }
  return {
    files: a.files + b.files,
    byCamera: merge(a.byCamera, b.byCamera),
    byIdentity: merge(a.byIdentity, b.byIdentity),
    byCameraIdentity: merge(a.byCameraIdentity, b.byCameraIdentity),
  }
}

describe.skipIf(!hasData)('search view: Market-1501 with the OSNet model', () => {
  const queryFacts = hasData ? marketFacts(queryFolder) : null
  const galleryFacts = hasData ? marketFacts(galleryFolder) : null
  const all = hasData ? combine(queryFacts!, galleryFacts!) : null
  const librarySize = all?.files ?? 0
  const modelSha = hasData ? createHash('sha256').update(readFileSync(modelFile)).digest('hex') : ''

  /**
   * The query: the first query file (by name) whose identity the gallery also shows in another
   * camera, so "exclude the query's own camera" leaves true matches to find.
   */
  const query = (() => {
    if (!hasData) return null
    for (const name of readdirSync(queryFolder).sort()) {
      const m = MARKET.exec(name)
      if (!m || m[1] === '-1' || /^0+$/.test(m[1]!)) continue
      const identity = m[1]!
      const camera = `c${Number(m[2])}`
      const elsewhere = [...galleryFacts!.byCameraIdentity].some(
        ([key, n]) => key.endsWith(`/${identity}`) && !key.startsWith(`${camera}/`) && n > 0,
      )
      if (elsewhere) return { file: path.join(queryFolder, name), identity, camera }
    }
    throw new Error('no query crop with gallery matches in another camera')
  })()

  let server: ServeHandle
  let page: Page
  const pageErrors: string[] = []
  let queryId = 0

  beforeAll(async () => {
    server = await serve('market')
    page = await openPage(browser, server.url, pageErrors)
  })

  it('imports the query and gallery folders through the UI', async () => {
    expect(await importThroughUi(page, queryFolder)).toBe(queryFacts!.files)
    expect(await importThroughUi(page, galleryFolder)).toBe(galleryFacts!.files)
    await expect
      .poll(() => page.getByTestId('camera-facet-all').getAttribute('data-count'), { timeout: 20_000 })
      .toBe(String(librarySize))
  }, 180_000)

  it('opens the Search view with guidance and no model yet', async () => {
    await page.getByTestId('tab-search').click()
    await page.getByTestId('search-view').waitFor({ state: 'visible' })
    expect(await page.getByTestId('model-row').count()).toBe(0)
    expect(await page.getByTestId('embed-start').isDisabled()).toBe(true)
    expect(await page.getByTestId('results-empty').textContent()).toMatch(/add a model/i)
  })

  it('refuses a malformed input size before sending, then adds the OSNet model', async () => {
    await page.getByTestId('model-path').fill(modelFile)
    await page.getByTestId('model-input-size').fill('256 by 128')
    await page.getByTestId('model-add').click()
    expect(await page.getByTestId('model-problem').textContent()).toMatch(/256x128/)
    expect(await page.getByTestId('model-row').count()).toBe(0)

    await page.getByTestId('model-input-size').fill('256x128')
    await page.getByTestId('model-add').click()
    const row = page.getByTestId('model-row')
    await visibleOrBanner(page, row, 60_000)
    expect(await row.getAttribute('data-key')).toBe(modelSha)
    expect(await row.getAttribute('data-active')).toBe('true')
    const text = (await row.textContent())!
    expect(text).toContain('osnet_x0_25_msmt17')
    expect(text).toContain('ONNX')
    expect(text).toContain('512-d')
    expect(text).toContain(modelSha.slice(0, 12))
    expect(await page.getByTestId('model-embedded').textContent()).toMatch(
      new RegExp(`^\\s*0 / ${librarySize.toLocaleString('en-US')} crops embedded`),
    )
    // The form is cleared for the next model.
    expect(await page.getByTestId('model-path').inputValue()).toBe('')
  }, 90_000)

  it('embeds the library with progress, cancel, and a resume that finishes the rest', async () => {
    const total = librarySize.toLocaleString('en-US')
    await page.getByTestId('embed-start').click()
    const counts = page.getByTestId('embed-progress-counts')
    await expect
      .poll(() => counts.textContent(), { timeout: 60_000 })
      .toMatch(new RegExp(`^[1-9][\\d,]* / ${total}$`))
    expect(await page.getByTestId('embed-progress').textContent()).toMatch(/crops\/s/)
    await page.getByTestId('embed-cancel').click()
    expect(await embedOutcome(page, 30_000)).toBe('cancelled')
    const first = count(await page.getByTestId('embed-embedded').textContent())
    expect(first).toBeGreaterThan(0)
    expect(first).toBeLessThan(librarySize)
    await expect.poll(() => page.getByTestId('model-row').getAttribute('data-embedded')).toBe(String(first))

    // Start again: only the crops without a vector are embedded.
    await page.getByTestId('embed-start').click()
    const left = (librarySize - first).toLocaleString('en-US')
    await expect.poll(() => counts.textContent(), { timeout: 30_000 }).toMatch(new RegExp(` / ${left}$`))
    await page.screenshot({ path: path.join(shots, 'embed.png') })
    expect(await embedOutcome(page, 240_000)).toBe('done')
    expect(count(await page.getByTestId('embed-embedded').textContent())).toBe(librarySize - first)
    expect(count(await page.getByTestId('embed-skipped').textContent())).toBe(0)
    await expect
      .poll(() => page.getByTestId('model-row').getAttribute('data-embedded'))
      .toBe(String(librarySize))
    expect(await page.getByTestId('embed-start').isDisabled()).toBe(true)
  }, 300_000)

  it('searches with a query crop picked in the Library and finds a true match in the top 5', async () => {
    const { file, identity, camera } = query!
    queryId = await openInLibrary(
      page,
      file,
      identity,
      camera,
      all!.byCameraIdentity.get(`${camera}/${identity}`)!,
    )
    await page.getByTestId('detail-search').click()
    await page.getByTestId('search-view').waitFor({ state: 'visible' })
    const chip = page.getByTestId('query-chip')
    await expect.poll(() => chip.getAttribute('data-id')).toBe(String(queryId))
    await expect.poll(() => chip.textContent()).toContain(identity)

    // Every other crop of the library is ranked; the query itself is left out.
    await resultsTotal(page, librarySize - 1)
    await page.getByTestId('filter-exclude-own-camera').check()
    await resultsTotal(page, librarySize - all!.byCamera.get(camera)!)

    const hits = await results(page)
    expect(hits.length).toBe(50)
    expect(hits.map((h) => h.rank)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1))
    expect(hits.every((h) => h.camera !== camera)).toBe(true)
    const top5 = hits.slice(0, 5)
    const match = top5.find((h) => h.identity === identity && h.camera !== camera)
    expect(match, `top 5 of ${path.basename(file)}: ${JSON.stringify(top5)}`).toBeDefined()

    const distances = await page
      .getByTestId('result-distance')
      .allTextContents()
      .then((t) => t.map(Number))
    expect(distances.length).toBe(50)
    for (let i = 1; i < distances.length; i++) expect(distances[i]).toBeGreaterThanOrEqual(distances[i - 1]!)
    for (const text of await page.getByTestId('result-distance').allTextContents())
      expect(text).toMatch(/^\d\.\d{3}$/)

    const model = page.getByTestId('results-model')
    expect(await model.getAttribute('data-key')).toBe(modelSha)
    expect(await model.textContent()).toContain(modelSha.slice(0, 12))
    expect(await page.getByTestId('results-ms').textContent()).toMatch(/^[\d.,]+ ms$/)
    expect(await page.getByTestId('results-missing').count()).toBe(0)
    await imagesLoaded(page.getByTestId('result-cell').locator('img'))
    await page.screenshot({ path: path.join(shots, 'search.png') })
  })

  it('opens a result side by side with the query; arrows step, Escape closes', async () => {
    const { identity } = query!
    const hits = await results(page)
    const index = hits.findIndex((h) => h.identity === identity)
    const hit = hits[index]!
    await page.locator(`[data-testid="result-cell"][data-index="${index}"]`).click()
    const view = page.getByTestId('compare-view')
    await view.waitFor({ state: 'visible' })
    expect(await view.getAttribute('data-rank')).toBe(String(hit.rank))
    expect(await page.getByTestId('compare-query').getAttribute('data-id')).toBe(String(queryId))
    expect(await page.getByTestId('compare-result').getAttribute('data-id')).toBe(String(hit.id))
    await expect.poll(() => page.getByTestId('compare-query-identity').textContent()).toBe(identity)
    await expect.poll(() => page.getByTestId('compare-result-identity').textContent()).toBe(identity)
    expect(await page.getByTestId('compare-result-camera').textContent()).toBe(hit.camera)
    const images = view.locator('img')
    await imagesLoaded(images)
    // Originals, shown large (Market-1501 crops are 64×128 on disk).
    const sizes = await images.evaluateAll((els: { src: string; width: number }[]) =>
      els.map((el) => ({ src: el.src, width: el.width })),
    )
    expect(sizes.map((s) => new URL(s.src).pathname)).toEqual([
      `/img/original/${queryId}`,
      `/img/original/${hit.id}`,
    ])
    for (const s of sizes) expect(s.width).toBeGreaterThanOrEqual(192)
    await page.screenshot({ path: path.join(shots, 'compare.png') })

    await page.keyboard.press('ArrowRight')
    await expect.poll(() => view.getAttribute('data-rank')).toBe(String(hit.rank + 1))
    await page.keyboard.press('ArrowLeft')
    await expect.poll(() => view.getAttribute('data-rank')).toBe(String(hit.rank))
    if (hit.rank > 1) {
      await page.keyboard.press('ArrowLeft')
      await expect.poll(() => view.getAttribute('data-rank')).toBe(String(hit.rank - 1))
    }
    await page.keyboard.press('Escape')
    await view.waitFor({ state: 'detached' })
  })

  it('filters by cameras, identity and time window, and pages through the ranking', async () => {
    const { identity, camera } = query!
    const others = [...all!.byCamera.keys()].filter((c) => c !== camera).sort()
    const chosen = others.slice(0, 2)
    for (const c of chosen) await page.getByTestId(`filter-camera-${c}`).check()
    await resultsTotal(
      page,
      chosen.reduce((n, c) => n + all!.byCamera.get(c)!, 0),
    )
    expect((await results(page)).every((h) => chosen.includes(h.camera))).toBe(true)
    await page.getByTestId('filter-cameras-all').click()
    await resultsTotal(page, librarySize - all!.byCamera.get(camera)!)

    // Identity label: every crop of the identity outside the query's camera.
    await page.getByTestId('filter-identity').fill(identity)
    await page.getByTestId('filter-identity').press('Enter')
    const sameCamera = all!.byCameraIdentity.get(`${camera}/${identity}`) ?? 0
    await resultsTotal(page, all!.byIdentity.get(identity)! - sameCamera)
    expect((await results(page)).every((h) => h.identity === identity && h.camera !== camera)).toBe(true)
    await page.getByTestId('filter-identity').fill('')
    await page.getByTestId('filter-identity').press('Enter')

    // Market-1501 crops carry no time: any time window leaves none.
    await page.getByTestId('filter-from').fill('2000-01-01T00:00:00')
    await resultsTotal(page, 0)
    await page.getByTestId('results-empty').waitFor({ state: 'visible' })
    await page.getByTestId('filter-to').fill('1999-01-01T00:00:00')
    await expect.poll(() => page.getByTestId('search-problem').textContent()).toMatch(/ends before it starts/)
    await page.getByTestId('filter-from').fill('')
    await page.getByTestId('filter-to').fill('')
    const total = await resultsTotal(page, librarySize - all!.byCamera.get(camera)!)

    // Paging: 20 per page.
    await page.getByTestId('filter-k').selectOption('20')
    await expect.poll(async () => (await results(page)).length).toBe(20)
    const firstPage = await results(page)
    await page.getByTestId('results-next').click()
    await expect.poll(async () => (await results(page))[0]?.rank).toBe(21)
    const secondPage = await results(page)
    expect(secondPage.map((h) => h.rank)).toEqual(Array.from({ length: 20 }, (_, i) => i + 21))
    expect(secondPage.some((h) => firstPage.some((f) => f.id === h.id))).toBe(false)
    await page.getByTestId('results-prev').click()
    await expect.poll(async () => (await results(page))[0]?.rank).toBe(1)
    expect((await results(page)).map((h) => h.id)).toEqual(firstPage.map((h) => h.id))
    expect(await resultsTotal(page)).toBe(total)
  })

  it('adds a query crop by id and fuses several crops of one person', async () => {
    const { identity } = query!
    await page.getByTestId('query-id-input').fill('99999999')
    await page.getByTestId('query-add').click()
    await expect.poll(() => page.getByTestId('query-problem').textContent()).toMatch(/no crop 99999999/)

    const match = (await results(page)).find((h) => h.identity === identity)!
    await page.getByTestId('query-id-input').fill(String(match.id))
    await page.getByTestId('query-add').click()
    await expect.poll(() => page.getByTestId('query-chip').count()).toBe(2)
    expect(await page.getByTestId('query-problem').count()).toBe(0)
    // Both query crops are left out of the ranking, and so are both their cameras.
    const cameras = new Set([query!.camera, match.camera])
    const expected = librarySize - [...cameras].reduce((n, c) => n + all!.byCamera.get(c)!, 0)
    await resultsTotal(page, expected)
    expect(await page.getByTestId('fusion-select').isDisabled()).toBe(false)
    await page.getByTestId('fusion-select').selectOption('max')
    await resultsTotal(page, expected)
    expect((await results(page)).some((h) => h.id === queryId || h.id === match.id)).toBe(false)

    await page
      .locator(`[data-testid="query-chip"][data-id="${match.id}"]`)
      .getByTestId('query-remove')
      .click()
    await expect.poll(() => page.getByTestId('query-chip').count()).toBe(1)
  })

  it('raised no error in the page or the banner', async () => {
    expect(pageErrors).toEqual([])
    expect(await page.getByTestId('error-banner').count()).toBe(0)
  })
})

describe.skipIf(!hasData)('search view: the built-in descriptor on a small folder', () => {
  let page: Page
  const pageErrors: string[] = []
  let folder: string
  let files = 0
  let builtinMissing = false

  beforeAll(async () => {
    // Every query crop of the first eight identities: a few dozen crops, seconds to embed.
    folder = path.join(tmp, 'small')
    mkdirSync(folder)
    const names = readdirSync(queryFolder).filter((n) => MARKET.test(n))
    const ids = [...new Set(names.map((n) => n.slice(0, 4)))].sort().slice(0, 8)
    for (const name of names.filter((n) => ids.includes(n.slice(0, 4)))) {
      copyFileSync(path.join(queryFolder, name), path.join(folder, name))
      files += 1
    }
    const server = await serve('builtin')
    page = await openPage(browser, server.url, pageErrors)
  })

  it('adds the built-in descriptor, embeds and searches', async (ctx) => {
    expect(await importThroughUi(page, folder, 30_000)).toBe(files)
    await page.getByTestId('tab-search').click()
    await page.getByTestId('model-builtin').click()
    const row = page.getByTestId('model-row')
    const banner = page.getByTestId('error-banner')
    await expect
      .poll(async () => (await banner.count()) > 0 || (await row.isVisible()), { timeout: 30_000 })
      .toBe(true)
    if ((await banner.count()) > 0 && (await banner.getAttribute('data-kind')) === 'unsupported') {
      // This build has no built-in descriptor yet (the engine says so): nothing to test here.
      console.warn(`[e2e] skipping the built-in descriptor test: ${await banner.textContent()}`)
      builtinMissing = true
      ctx.skip()
    }
    await visibleOrBanner(page, row, 30_000)
    expect(await row.getAttribute('data-key')).toMatch(/^builtin:/)
    expect(await row.getAttribute('data-active')).toBe('true')
    // Only one built-in descriptor per library: the button goes away.
    expect(await page.getByTestId('model-builtin').count()).toBe(0)

    await page.getByTestId('embed-start').click()
    expect(await embedOutcome(page, 60_000)).toBe('done')
    expect(count(await page.getByTestId('embed-embedded').textContent())).toBe(files)

    // A query by typed crop id: the first crop of the library.
    await page.getByTestId('tab-library').click()
    const first = page.getByTestId('grid-cell').first()
    const id = Number(await first.getAttribute('data-id'))
    await page.getByTestId('tab-search').click()
    await page.getByTestId('query-id-input').fill(String(id))
    await page.getByTestId('query-add').click()
    await resultsTotal(page, files - 1)
    expect(await page.getByTestId('results-model').getAttribute('data-key')).toMatch(/^builtin:/)
    const hits = await results(page)
    expect(hits.length).toBe(Math.min(50, files - 1))
    expect(hits.some((h) => h.id === id)).toBe(false)
    await imagesLoaded(page.getByTestId('result-cell').locator('img'))
    await page.screenshot({ path: path.join(shots, 'search-builtin.png') })
  }, 120_000)

  it('raised no error in the page or the banner', async () => {
    expect(pageErrors).toEqual([])
    if (!builtinMissing) expect(await page.getByTestId('error-banner').count()).toBe(0)
  })
})
