import { expect, test } from '@playwright/test';
import { hydrated, signIn, watchErrors } from './helpers';

test('a customer page shows its health, the history, every measure and what moved it', async ({ page }) => {
  const errors = watchErrors(page);
  await signIn(page, 'manager@example.com');
  await page.goto('/customers/1');
  await hydrated(page);
  const panel = page.getByTestId('health');
  await expect(panel).toBeVisible();
  const score = Number(await page.getByTestId('health-score').textContent());
  expect(score).toBeGreaterThanOrEqual(0);
  expect(score).toBeLessThanOrEqual(100);
  await expect(page.getByTestId('health-level')).toHaveText(/^(Poor|Fair|Good|Excellent)$/);
  await expect(page.getByTestId('health-history').locator('polyline')).toHaveCount(1);
  await expect(page.getByTestId('health-groups')).toContainText('Usage');
  await expect(page.getByTestId('health-groups')).toContainText('Financial');
  // Every measure, behind a disclosure.
  await page.getByTestId('measures-toggle').click();
  await expect(page.getByTestId('health-measures')).toContainText('Active days');
  await expect(page.getByTestId('health-measures').locator('tbody tr')).toHaveCount(15);
  // The 30-day view of what moved it (demo history is weekly, so there is a score then).
  await page.getByTestId('moves-30').click();
  await expect(panel).toContainText(/pts|Nothing moved the score/);
  // The CSM's own view is a measure: set it, and it is saved for the next score.
  await page.getByTestId('csm-sentiment').selectOption('4');
  await expect(page.getByTestId('csm-sentiment-saved')).toBeVisible();
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId('csm-sentiment')).toHaveValue('4');
  expect(errors).toEqual([]);
});
