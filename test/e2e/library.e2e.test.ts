/**
 * The library view end to end: a real `lineup serve` on a temporary library, the built renderer
 * (out/renderer) in headless Debian Chromium, and the Market-1501 query folder imported by clicking
 * through the UI. Screenshots go to test-results/e2e/.
 */
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type Locator, type Page } from 'playwright-core'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { marketFacts } from './market'
import { startServe, type ServeHandle } from './serve'

const repoRoot = path.resolve(fileURLToPath(new URL('../..', import.meta.url)))
const rendererIndex = path.join(repoRoot, 'out/renderer/index.html')
const queryFolder = path.resolve(repoRoot, '../shared/data/market1501/query')
const chromiumPath = '/usr/bin/chromium'
const shots = path.join(repoRoot, 'test-results/e2e')
const hasData = existsSync(queryFolder)
if (!hasData) console.warn(`[e2e] skipping the import tests: no Market-1501 query folder at ${queryFolder}`)

// Two cores shared with a server, an import worker and Chromium: give UI polls room (default 1 s).
vi.setConfig({ expect: { poll: { timeout: 10_000, interval: 50 } } })

/** Rendered cells must stay far below the library size: the grid is virtualised. */
const MAX_RENDERED_CELLS = 300

let server: ServeHandle
let browser: Browser
let page: Page
let tmp: string
const pageErrors: string[] = []
let allowMissingOriginal = false

beforeAll(async () => {
  if (!existsSync(rendererIndex))
    throw new Error(`${rendererIndex} is missing: run \`npm run build\` before the e2e tests`)
  if (!existsSync(chromiumPath))
    throw new Error(`no Chromium at ${chromiumPath}: install it with \`apt-get install -y chromium\``)
  tmp = mkdtempSync(path.join(tmpdir(), 'lineup-e2e-'))
  mkdirSync(shots, { recursive: true })
  server = await startServe(repoRoot, path.join(tmp, 'lib.lineup'))
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--no-sandbox',
      '--headless',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  })
  page = await browser.newPage({ viewport: { width: 1440, height: 900 } })
  page.on('pageerror', (err) => pageErrors.push(err.message))
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return
    // The one failed load a test provokes on purpose: the original of a crop whose file was deleted.
    if (allowMissingOriginal && msg.location().url.includes('/img/original/')) return
    pageErrors.push(msg.text())
  })
  await page.goto(server.url)
})

afterAll(async () => {
  await browser?.close()
  await server?.stop()
  if (tmp) rmSync(tmp, { recursive: true, force: true })
})

/** The grid's total as the toolbar reports it, once the current filter's first page answered. */
async function gridTotal(p: Page): Promise<number> {
  const total = p.getByTestId('grid-total')
  await expect.poll(() => total.getAttribute('data-total')).not.toBe('')
  return Number(await total.getAttribute('data-total'))
}

/** Waits until every image the locator matches has loaded (a broken image fails the wait). */
async function imagesLoaded(images: Locator): Promise<void> {
  await expect
    .poll(
      () =>
        images.evaluateAll((els: { complete: boolean; naturalWidth: number }[]) =>
          els.every((img) => img.complete && img.naturalWidth > 0),
        ),
      { timeout: 10_000 },
    )
    .toBe(true)
}

/** True when the element lies wholly inside the grid's scroll viewport. */
async function inViewport(element: Locator): Promise<boolean> {
  const box = await element.boundingBox()
  const grid = await page.getByTestId('grid').boundingBox()
  return box !== null && grid !== null && box.y >= grid.y && box.y + box.height <= grid.y + grid.height + 1
}

async function waitForTotal(p: Page, expected: number): Promise<void> {
  await expect
    .poll(async () => Number(await p.getByTestId('grid-total').getAttribute('data-total')), {
      timeout: 10_000,
    })
    .toBe(expected)
}

describe('browser-mode server', () => {
  it('refuses a wrong token with 401 and an API call without a session', async () => {
    const wrong = await fetch(`${server.origin}/?token=not-the-token`, { redirect: 'manual' })
    expect(wrong.status).toBe(401)
    const noSession = await fetch(`${server.origin}/api/app.info`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    })
    expect(noSession.status).toBe(401)
    expect(await noSession.json()).toMatchObject({ ok: false, error: { kind: 'unauthorized' } })
  })

  it('answers bad input with an invalid-input envelope naming the field', async () => {
    const res = await fetch(`${server.origin}/api/library.crops`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}` },
      body: JSON.stringify({ limit: -5 }),
    })
    const body = (await res.json()) as { ok: boolean; error?: { kind: string; message: string } }
    expect(body).toMatchObject({ ok: false, error: { kind: 'invalid-input' } })
    expect(body.error?.message).toMatch(/limit/)

    // The same through the page's session cookie, as the UI's client sends it.
    const inPage = await page.evaluate(async () => {
      const r = await fetch('/api/library.crop', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        credentials: 'same-origin',
        body: JSON.stringify({ id: 'seven' }),
      })
      return (await r.json()) as unknown
    })
    expect(inPage).toMatchObject({ ok: false, error: { kind: 'invalid-input' } })
  })

  it('opens on an empty library without errors', async () => {
    await waitForTotal(page, 0)
    await expect.poll(() => page.getByTestId('grid-empty').isVisible()).toBe(true)
    expect(await page.getByTestId('error-banner').count()).toBe(0)
  })
})

describe.skipIf(!hasData)('library view on the Market-1501 query set', () => {
  const facts = hasData ? marketFacts(queryFolder) : null

  it('imports the folder through the import panel and reports the result', async () => {
    expect(facts!.files).toBe(1676)
    await page.getByTestId('import-path').fill(queryFolder)
    await page.getByTestId('import-button').click()
    // Progress shows done/total while the import runs (1,676 files take seconds, events come often).
    await page.getByTestId('progress').waitFor({ state: 'visible' })
    await expect.poll(() => page.getByTestId('progress-counts').textContent()).toMatch(/\/ 1,676$/)
    await page.screenshot({ path: path.join(shots, 'import.png') })
    const result = page.getByTestId('import-result')
    await result.waitFor({ state: 'visible', timeout: 30_000 })
    expect(await result.getAttribute('data-status')).toBe('done')
    expect(await page.getByTestId('import-imported').textContent()).toBe('1,676')
    expect(await page.getByTestId('import-duplicates').textContent()).toBe('0')
    await waitForTotal(page, 1676)
    expect(await page.getByTestId('grid-cell').count()).toBeGreaterThan(0)
  })

  it('lists cameras c1..c6 with counts that sum to the library total', async () => {
    await expect.poll(() => page.getByTestId('camera-facet-all').getAttribute('data-count')).toBe('1676')
    let sum = 0
    for (const camera of ['c1', 'c2', 'c3', 'c4', 'c5', 'c6']) {
      const facet = page.getByTestId(`camera-facet-${camera}`)
      const count = Number(await facet.getAttribute('data-count'))
      expect(count, camera).toBe(facts!.byCamera.get(camera))
      expect(await facet.textContent()).toContain(count.toLocaleString('en-US'))
      sum += count
    }
    expect(sum).toBe(1676)
    expect(await page.getByTestId('library-total').textContent()).toBe('1,676')
  })

  it('keeps the grid virtualised while scrolling to the last crop', async () => {
    const grid = page.getByTestId('grid')
    const cells = page.getByTestId('grid-cell')
    expect(await cells.count()).toBeLessThan(MAX_RENDERED_CELLS)
    const scrollHeight = await grid.evaluate((el: { scrollHeight: number }) => el.scrollHeight)
    for (let step = 1; step <= 8; step++) {
      await grid.evaluate(
        (el: { scrollTop: number }, y: number) => (el.scrollTop = y),
        (scrollHeight * step) / 8,
      )
      await page.waitForTimeout(40)
      expect(await cells.count()).toBeLessThan(MAX_RENDERED_CELLS)
    }
    const last = page.locator('[data-testid="grid-cell"][data-index="1675"]')
    await last.waitFor({ state: 'visible', timeout: 10_000 })
    await imagesLoaded(last.locator('img'))
    expect(await cells.count()).toBeLessThan(MAX_RENDERED_CELLS)
    await imagesLoaded(cells.locator('img'))
    await page.screenshot({ path: path.join(shots, 'library.png') })
  })

  it('shows a crop in the detail panel with its SHA-256', async () => {
    await page.getByTestId('grid').evaluate((el: { scrollTop: number; scrollHeight: number }) => {
      el.scrollTop = el.scrollHeight
    })
    const cell = page.locator('[data-testid="grid-cell"][data-index="1675"]')
    await cell.click()
    const panel = page.getByTestId('detail-panel')
    await panel.waitFor({ state: 'visible' })
    // The panel narrows the grid; the clicked crop must stay on screen after the columns reflow.
    const selected = page.locator('[data-testid="grid-cell"][data-selected="true"]')
    await expect.poll(() => selected.getAttribute('data-index')).toBe('1675')
    await expect.poll(() => inViewport(selected)).toBe(true)
    const sha = page.getByTestId('detail-sha256')
    await expect.poll(() => sha.textContent()).toMatch(/^[0-9a-f]{64}$/)
    const file = (await page.getByTestId('detail-path').textContent())!
    expect(path.dirname(file)).toBe(queryFolder)
    expect(await sha.textContent()).toBe(createHash('sha256').update(readFileSync(file)).digest('hex'))
    await imagesLoaded(panel.locator('img'))
    await imagesLoaded(page.getByTestId('grid-cell').locator('img'))
    await page.screenshot({ path: path.join(shots, 'detail.png') })
    await page.getByTestId('detail-close').click()
    await panel.waitFor({ state: 'detached' })
  })

  it('filters by camera, then by one identity, and back', async () => {
    const c1 = facts!.byCamera.get('c1')!
    // An identity seen by c1 and by other cameras too, so both filters change the count.
    const [identity] = [...facts!.byIdentity.entries()].find(
      ([id, n]) =>
        (facts!.byCameraIdentity.get(`c1/${id}`) ?? 0) > 0 && n > facts!.byCameraIdentity.get(`c1/${id}`)!,
    )!
    const inC1 = facts!.byCameraIdentity.get(`c1/${identity}`)!

    await page.getByTestId('camera-facet-c1').click()
    await waitForTotal(page, c1)
    await expect.poll(() => page.getByTestId('grid-cell').first().textContent()).toContain('c1')

    await page.getByTestId('identity-input').fill('9999')
    await page.getByTestId('identity-apply').click()
    await page.getByTestId('identity-problem').waitFor({ state: 'visible' })
    expect(await gridTotal(page)).toBe(c1)

    await page.getByTestId('identity-input').fill(identity)
    await page.getByTestId('identity-apply').click()
    await waitForTotal(page, inC1)
    const labels = await page.getByTestId('grid-cell').allTextContents()
    expect(labels).toHaveLength(inC1)
    for (const label of labels) expect(label).toMatch(new RegExp(`c1\\s*${identity}`))
    await imagesLoaded(page.getByTestId('grid-cell').locator('img'))
    await page.screenshot({ path: path.join(shots, 'filtered.png') })

    await page.getByTestId('camera-facet-all').click()
    await waitForTotal(page, facts!.byIdentity.get(identity)!)

    await page.getByTestId('identity-clear').click()
    await waitForTotal(page, 1676)
  })

  it('cancels a running import and reloads the facets with what it kept', async () => {
    const trainFolder = path.resolve(queryFolder, '../bounding_box_train')
    await page.getByTestId('import-path').fill(trainFolder)
    await page.getByTestId('import-button').click()
    const counts = page.getByTestId('progress-counts')
    await expect.poll(() => counts.textContent()).toMatch(/^[1-9][\d,]* \/ 2,412$/)
    await page.getByTestId('import-cancel').click()
    const result = page.getByTestId('import-result')
    await result.waitFor({ state: 'visible', timeout: 20_000 })
    expect(await result.getAttribute('data-status')).toBe('cancelled')
    const kept = Number((await page.getByTestId('import-imported').textContent())!.replace(/,/g, ''))
    expect(kept).toBeLessThan(2412)
    await waitForTotal(page, 1676 + kept)
    await expect
      .poll(() => page.getByTestId('camera-facet-all').getAttribute('data-count'))
      .toBe(String(1676 + kept))
    const facets = await page
      .locator('[data-testid^="camera-facet-c"]')
      .evaluateAll((els: { dataset: { count?: string } }[]) =>
        els.reduce((sum, el) => sum + Number(el.dataset.count), 0),
      )
    expect(facets).toBe(1676 + kept)
  })

  it('falls back to the thumbnail when the original of a crop has moved', async () => {
    const folder = path.join(tmp, 'moved')
    mkdirSync(folder)
    const file = path.join(folder, '9999_c1s1_000001_00.png')
    await sharp({ create: { width: 32, height: 64, channels: 3, background: { r: 180, g: 40, b: 40 } } })
      .png()
      .toFile(file)
    await page.getByTestId('import-path').fill(folder)
    await page.getByTestId('import-button').click()
    await expect
      .poll(() => page.getByTestId('import-result').getAttribute('data-status'), { timeout: 20_000 })
      .toBe('done')
    expect(await page.getByTestId('import-imported').textContent()).toBe('1')
    rmSync(file)

    allowMissingOriginal = true
    await page.getByTestId('identity-input').fill('9999')
    await page.getByTestId('identity-apply').click()
    await waitForTotal(page, 1)
    await page.getByTestId('grid-cell').first().click()
    await page.getByTestId('detail-missing-original').waitFor({ state: 'visible' })
    await imagesLoaded(page.getByTestId('detail-panel').locator('img'))
    await page.getByTestId('detail-close').click()
    await page.getByTestId('identity-clear').click()
  })

  it('raised no error in the page or the banner', async () => {
    expect(pageErrors).toEqual([])
    expect(await page.getByTestId('error-banner').count()).toBe(0)
  })
})
