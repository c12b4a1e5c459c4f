/**
 * Helpers of the analyst e2e (test/e2e/analyst.e2e.test.ts): reading the Search view's state from
 * its data attributes, waiting for a new ranking, calling the API through the page's session (for
 * the test's own oracle checks only), and checking that a chart's canvas has its series drawn.
 */
import type { Locator, Page } from 'playwright-core'
import { expect } from 'vitest'

export interface Cell {
  index: number
  rank: number
  id: number
  camera: string
  identity: string
  verdict: string
  focused: boolean
}

/** The result cells of the shown page, in rank order. */
export async function cells(page: Page): Promise<Cell[]> {
  return page
    .getByTestId('result-cell')
    .evaluateAll((els: { dataset: Record<string, string | undefined> }[]) =>
      els.map((el) => ({
        index: Number(el.dataset.index),
        rank: Number(el.dataset.rank),
        id: Number(el.dataset.id),
        camera: el.dataset.camera ?? '',
        identity: el.dataset.identity ?? '',
        verdict: el.dataset.verdict ?? '',
        focused: el.dataset.focused === 'true',
      })),
    )
}

/** The focused result (the focus ring), once there is one. */
export async function focused(page: Page): Promise<Cell> {
  await expect.poll(async () => (await cells(page)).filter((c) => c.focused).length).toBe(1)
  return (await cells(page)).find((c) => c.focused)!
}

/** How many rankings the Search view has shown so far (it counts them). */
export async function generation(page: Page): Promise<number> {
  return Number(await page.getByTestId('results-total').getAttribute('data-generation'))
}

/** Waits until a ranking newer than `after` is shown and no search is in flight. */
export async function newRanking(page: Page, after: number, timeout = 10_000): Promise<void> {
  await expect
    .poll(
      async () =>
        (await page.getByTestId('results-loading').count()) === 0 && (await generation(page)) > after,
      { timeout },
    )
    .toBe(true)
}

/** The person bar's counts as it shows them, once no mark is waiting for the engine. */
export async function personCounts(
  page: Page,
): Promise<{ person: string; confirmed: number; rejected: number; unsure: number }> {
  const bar = page.getByTestId('person-bar')
  await expect.poll(() => bar.getAttribute('data-pending')).toBe('false')
  const d = await bar.evaluate((el: { dataset: Record<string, string | undefined> }) => ({ ...el.dataset }))
  return {
    person: d.person ?? '',
    confirmed: Number(d.confirmed),
    rejected: Number(d.rejected),
    unsure: Number(d.unsure),
  }
}

/** Calls the API through the page's session cookie (the test's oracle; the UI is driven by clicks). */
export async function api<T>(page: Page, method: string, input: unknown): Promise<T> {
  const body = await page.evaluate(
    async ([m, i]) => {
      const r = await fetch(`/api/${m}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        credentials: 'same-origin',
        body: JSON.stringify(i),
      })
      return (await r.json()) as { ok: boolean; value?: unknown; error?: { message: string } }
    },
    [method, input] as const,
  )
  if (!body.ok) throw new Error(`${method} failed: ${body.error?.message}`)
  return body.value as T
}

/** The error banner's text, or null when none is shown. */
export async function bannerText(page: Page): Promise<string | null> {
  const banner = page.getByTestId('error-banner')
  return (await banner.count()) ? `the UI reported: ${await banner.textContent()}` : null
}

/** Waits for `target` to become visible; fails at once with the banner's message if the UI reports an error. */
export async function visibleOrBanner(page: Page, target: Locator, timeout: number): Promise<void> {
  const state = async (): Promise<string | null> =>
    (await bannerText(page)) ?? ((await target.isVisible()) ? 'visible' : null)
  await expect.poll(state, { timeout, interval: 200 }).not.toBeNull()
  expect(await state()).toBe('visible')
}

/**
 * Pixels of a chart's canvas close to an RGB colour (a series' stroke): more than a handful means
 * the series was drawn, not just the axes and the grid.
 */
export async function pixelsOf(chart: Locator, rgb: [number, number, number]): Promise<number> {
  // Structural types: the test's tsconfig has no DOM library.
  interface Canvas {
    width: number
    height: number
    getContext(
      kind: '2d',
    ): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } | null
  }
  return chart.locator('canvas').evaluate((canvas: Canvas, [r, g, b]) => {
    const ctx = canvas.getContext('2d')
    if (!ctx) return 0
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height)
    let n = 0
    for (let i = 0; i < data.length; i += 4) {
      const near =
        Math.abs(data[i]! - r) < 24 && Math.abs(data[i + 1]! - g) < 24 && Math.abs(data[i + 2]! - b) < 24
      if (data[i + 3]! > 200 && near) n++
    }
    return n
  }, rgb)
}
