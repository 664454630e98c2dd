import { expect, Page } from '@playwright/test';

export const PASSWORD = 'demo-password';

/** Every console message and page error of a page, kept to explain a page that didn't hydrate. */
const consoleLogs = new WeakMap<Page, string[]>();

function recordConsole(page: Page) {
  if (consoleLogs.has(page)) return;
  const log: string[] = [];
  consoleLogs.set(page, log);
  page.on('console', (m) => log.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => log.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
}

/** Collects uncaught page errors and console errors (hydration mismatches land here). */
export function watchErrors(page: Page): string[] {
  recordConsole(page);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // A missing favicon is not an application error.
    // The browser logs every 4xx answer (a refused password is a 422); those are expected.
    if (m.type() === 'error' && !m.text().includes('Failed to load resource')) errors.push(`console: ${m.text()}`);
  });
  return errors;
}

/**
 * Waits until the wasm bundle has hydrated the page. If it doesn't, the failure says why it
 * might not have: the console, failed requests and the scripts the page loaded so far.
 */
export async function hydrated(page: Page) {
  recordConsole(page);
  try {
    await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  } catch (e) {
    const scripts = await page
      .evaluate(() =>
        performance
          .getEntriesByType('resource')
          .map((r) => r as PerformanceResourceTiming)
          .filter((r) => /\.(wasm|js)$/.test(new URL(r.name).pathname))
          .map((r) => `${new URL(r.name).pathname} ${Math.round(r.duration)} ms, ${r.encodedBodySize} B`),
      )
      .catch((err) => [`(could not read: ${err})`]);
    const log = consoleLogs.get(page) ?? [];
    throw new Error(
      `${page.url()} did not hydrate.\nscripts loaded: ${scripts.join('; ') || 'none'}\n` +
        `console (last 30):\n${log.slice(-30).join('\n') || '(empty)'}\n${e}`,
    );
  }
}

/** Signs in through the login form and waits until the app has taken us in. */
export async function signIn(page: Page, email: string, password = PASSWORD) {
  recordConsole(page);
  await page.goto('/login');
  await hydrated(page);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForURL((url) => !url.pathname.startsWith('/login'));
}
