import { expect, test } from '@playwright/test';
import { hydrated, signIn, watchErrors } from './helpers';

test('admins edit the scorecard: problems shown by field, then a new version re-scores everyone', async ({ page }) => {
  test.setTimeout(90_000);
  const errors = watchErrors(page);
  await signIn(page, 'admin@example.com');
  await page.goto('/health/scorecard');
  await hydrated(page);
  await expect(page.getByRole('heading', { level: 1, name: 'Health scorecard' })).toBeVisible();
  const before = (await page.getByTestId('scorecard-version').textContent()) ?? '';
  const version = Number(before.match(/Version (\d+)/)?.[1]);
  await expect(page.getByTestId('group-0')).toContainText('Usage');
  await expect(page.getByTestId('group-0')).toContainText('% of the score');

  // Add a measure, then take it away again: the card keeps its fifteen measures.
  await page.getByTestId('group-0-add').selectOption('key_events');
  await page.getByTestId('group-0').getByRole('button', { name: 'Add' }).click();
  await expect(page.getByTestId('measure-key_events')).toBeVisible();
  await page.getByTestId('measure-key_events').getByRole('button', { name: 'Remove' }).click();
  await expect(page.getByTestId('measure-key_events')).toHaveCount(0);

  // Levels that don't rise are refused, with the reason, and nothing is saved.
  await page.getByTestId('level-0').fill('70');
  await page.getByTestId('level-0').blur();
  await page.getByTestId('save-scorecard').click();
  await expect(page.getByText('must rise')).toBeVisible();
  await page.getByTestId('level-0').fill('40');
  await page.getByTestId('level-0').blur();

  await page.getByTestId('group-0-weight').fill('35');
  await page.getByTestId('group-0-weight').blur();
  await page.getByTestId('save-scorecard').click();
  await expect(page.getByTestId('scorecard-version')).toContainText(`Version ${version + 1}`);
  await expect(page.getByTestId('rescore-progress')).toContainText(`re-scored with version ${version + 1}`, { timeout: 60_000 });
  await expect(page.getByTestId('group-0-weight')).toHaveValue('35');
  expect(errors.filter((e) => !e.includes('422'))).toEqual([]);
});

test('other roles read the scorecard but cannot change it', async ({ page }) => {
  await signIn(page, 'manager@example.com');
  await page.goto('/health/scorecard');
  await hydrated(page);
  await expect(page.getByTestId('group-0')).toContainText('Usage');
  await expect(page.getByTestId('save-scorecard')).toHaveCount(0);
  await expect(page.getByTestId('group-0-weight')).toBeDisabled();
});
