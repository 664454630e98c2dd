import { expect, test } from '@playwright/test';
import { hydrated, signIn, watchErrors } from './helpers';

test('admins see the jobs the servers ran on their own; others are refused', async ({ page }) => {
  const errors = watchErrors(page);
  await signIn(page, 'admin@example.com');
  await page.goto('/');
  await hydrated(page);
  await page.getByRole('link', { name: 'Jobs' }).click();
  await expect(page).toHaveURL(/\/jobs$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Jobs' })).toBeVisible();
  await expect(page.getByTestId('job-counts')).toContainText('Failed');
  // The two queues of their own: re-scores and alert notifications.
  await expect(page.getByTestId('queues')).toContainText('Customers waiting to be re-scored');
  await expect(page.getByTestId('notifications-failed')).toHaveText(/^\d+$/);
  // The server queues the day's recompute at start and runs it within seconds.
  const nightly = page.getByTestId('job-row').filter({ hasText: 'Nightly health recompute' });
  await expect(async () => {
    await page.getByRole('button', { name: 'Refresh' }).click();
    await expect(nightly.first()).toHaveAttribute('data-state', 'done', { timeout: 2_000 });
  }).toPass({ timeout: 60_000 });
  await expect(nightly.first()).toContainText(/customers \d+/);
  await expect(nightly.first()).toContainText('1 of 3');
  expect(errors).toEqual([]);

  // A CSM has no Jobs link and is refused the page.
  await page.context().clearCookies();
  await signIn(page, 'priya@example.com');
  await hydrated(page);
  await expect(page.getByRole('link', { name: 'Jobs' })).toHaveCount(0);
  await page.goto('/jobs');
  await hydrated(page);
  await expect(page.getByRole('alert')).toBeVisible();
  await expect(page.getByTestId('jobs-table')).toHaveCount(0);
});

test("a page whose code can't be fetched (a release replaced it) is loaded again from the server", async ({ page }) => {
  await signIn(page, 'admin@example.com');
  await page.goto('/');
  await hydrated(page);
  // The next lazy file the tab asks for fails once, as a file a new release removed would.
  const refused: string[] = [];
  await page.route(/\/pkg\/[^/]+\.wasm$/, (route) => {
    const file = new URL(route.request().url()).pathname;
    if (refused.length === 0 && !file.endsWith('/vcsm.wasm')) {
      refused.push(file);
      return route.abort('connectionfailed');
    }
    return route.continue();
  });
  await page.evaluate(() => {
    (window as unknown as { beforeReload: boolean }).beforeReload = true;
  });
  await page.getByRole('link', { name: 'Jobs' }).click();
  // The tab was reloaded (the mark is gone) and works again.
  await expect
    .poll(() =>
      page
        .evaluate(() => (window as unknown as { beforeReload?: boolean }).beforeReload ?? false)
        // Asked while the page reloads: ask again.
        .catch(() => true),
    )
    .toBe(false);
  expect(refused).toHaveLength(1);
  await hydrated(page);
  await page.getByRole('link', { name: 'Jobs' }).click();
  await expect(page).toHaveURL(/\/jobs$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Jobs' })).toBeVisible();
});
