import { existsSync } from 'node:fs'
import { chromium, type Browser, type Locator, type Page } from 'playwright-core'
import { expect } from 'vitest'

export const chromiumPath = '/usr/bin/chromium'

/** Headless Debian Chromium as the e2e tests drive it (software rendering, no background traffic). */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(chromiumPath))
    throw new Error(`no Chromium at ${chromiumPath}: install it with \`apt-get install -y chromium\``)
  return chromium.launch({
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
}

/**
 * Opens a page that records uncaught errors and console errors into `errors` (a test asserts it
 * stays empty), at 1440×900 like the library e2e.
 */
export async function openPage(browser: Browser, url: string, errors: string[]): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } })
  page.on('pageerror', (err) => errors.push(err.message))
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`${msg.text()} (${msg.location().url})`)
  })
  await page.goto(url)
  return page
}

/** Waits until every image the locator matches has loaded (a broken image fails the wait). */
export async function imagesLoaded(images: Locator, timeout = 10_000): Promise<void> {
  await expect
    .poll(
      () =>
        images.evaluateAll((els: { complete: boolean; naturalWidth: number }[]) =>
          els.every((img) => img.complete && img.naturalWidth > 0),
        ),
      { timeout },
    )
    .toBe(true)
}

/** "10,987" → 10987. */
export function count(text: string | null): number {
  return Number((text ?? '').replace(/[^\d]/g, ''))
}

/**
 * Imports `folder` through the Library view's import panel and waits for the result line; resolves
 * to the number imported.
 */
export async function importThroughUi(page: Page, folder: string, timeout = 120_000): Promise<number> {
  await page.getByTestId('tab-library').click()
  await page.getByTestId('import-path').fill(folder)
  const result = page.getByTestId('import-result')
  // Dismiss the previous result line first, so the one awaited below is this import's.
  if (await result.isVisible()) {
    await page.getByRole('button', { name: 'Dismiss import result' }).click()
    await result.waitFor({ state: 'detached' })
  }
  await page.getByTestId('import-button').click()
  await result.waitFor({ state: 'visible', timeout })
  expect(await result.getAttribute('data-status')).toBe('done')
  return count(await page.getByTestId('import-imported').textContent())
}
