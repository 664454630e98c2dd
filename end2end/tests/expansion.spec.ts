import { expect, test } from '@playwright/test';
import { hydrated, signIn, watchErrors } from './helpers';

test('the expansion pipeline: totals, signals by weighted uplift, won, and the plans they use', async ({ page }) => {
  const errors = watchErrors(page);
  await signIn(page, 'manager@example.com');
  await page.goto('/expansion');
  await hydrated(page);
  // The demo's plans and usage raise signals at start.
  await expect(page.getByTestId('pipeline-total').first()).toContainText('$');
  const rows = page.getByTestId('signal-row');
  await expect(rows.first()).toBeVisible();
  const before = await rows.count();
  expect(before).toBeGreaterThan(0);
  await expect(page.getByTestId('pipeline-by-kind')).toBeVisible();

  // Marking the first won takes it out of the pipeline.
  const first = rows.first();
  const customer = (await first.locator('a').first().textContent())!;
  const kind = (await first.getAttribute('data-kind'))!;
  await first.getByRole('textbox', { name: 'Note' }).fill('Upgraded at the QBR');
  await first.getByTestId('signal-won').click();
  await expect(
    rows.filter({ hasText: customer }).and(page.locator(`[data-kind="${kind}"]`)),
  ).toHaveCount(0);

  // More than a page of signals: the pager moves on.
  await page.getByRole('button', { name: 'Next' }).click();
  await expect(page.getByText(/^Page 2 of \d+/)).toBeVisible();
  await expect(rows.first()).toBeVisible();

  // Managers read the plans; only admins edit them.
  await expect(page.getByTestId('plan-row')).toHaveCount(4);
  await expect(page.getByTestId('save-plans')).toHaveCount(0);
  expect(errors).toEqual([]);
});

test('admins edit plans: a bad number is refused, a good list is saved', async ({ page }) => {
  const errors = watchErrors(page);
  await signIn(page, 'admin@example.com');
  await page.goto('/expansion');
  await hydrated(page);
  const plans = page.getByTestId('plan-row');
  await expect(plans).toHaveCount(4);
  const seats = plans.first().getByRole('textbox', { name: 'Seats included' });
  await seats.fill('lots');
  await page.getByTestId('save-plans').click();
  await expect(page.getByTestId('plans-error')).toContainText('seat limit must be a whole number');
  await seats.fill('15');
  // A list the server refuses (two plans with one code) keeps the edits being corrected.
  const secondCode = plans.nth(1).getByRole('textbox', { name: 'Code' });
  const firstCode = await plans.first().getByRole('textbox', { name: 'Code' }).inputValue();
  const ownCode = await secondCode.inputValue();
  await secondCode.fill(firstCode);
  await page.getByTestId('save-plans').click();
  await expect(page.getByTestId('plans-error')).toContainText('Plan 2, code: ' + firstCode + ' is used by another plan');
  await expect(secondCode).toHaveValue(firstCode);
  await expect(seats).toHaveValue('15');
  await secondCode.fill(ownCode);
  const features = plans.nth(1).getByRole('textbox', { name: 'Features, comma-separated' });
  await features.fill('API access, integrations, webhooks');
  await page.getByTestId('save-plans').click();
  await expect(page.getByTestId('plans-saved')).toBeVisible();
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId('plan-row').nth(1).getByRole('textbox', { name: 'Features, comma-separated' })).toHaveValue(
    'API access, integrations, webhooks',
  );
  expect(errors).toEqual([]);
});

test('the dashboard shows ARR at risk, open alerts and the pipeline; customer pages list their signals', async ({ page }) => {
  const errors = watchErrors(page);
  await signIn(page, 'exec@example.com');
  await page.goto('/');
  await hydrated(page);
  const stats = page.getByTestId('insight-stats');
  await expect(stats).toContainText('ARR at risk');
  await expect(page.getByTestId('dashboard-alerts')).toContainText('high or critical');
  await expect(page.getByTestId('dashboard-pipeline')).toContainText('signals');
  await expect(page.getByTestId('at-risk-row').first()).toContainText('at risk');

  await page.goto('/expansion');
  await hydrated(page);
  const row = page.getByTestId('signal-row').first();
  // Executives read without acting.
  await expect(row.getByTestId('signal-won')).toHaveCount(0);
  await row.locator('a').first().click();
  await hydrated(page);
  await expect(page.getByTestId('customer-expansion').getByTestId('signal-row').first()).toBeVisible();
  expect(errors).toEqual([]);
});
