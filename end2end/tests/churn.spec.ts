import { expect, test } from '@playwright/test';
import { hydrated, signIn, watchErrors } from './helpers';

test('the churn model page shows how well the model works and what it weighs', async ({ page }) => {
  test.setTimeout(180_000);
  const errors = watchErrors(page);
  await signIn(page, 'admin@example.com');
  await page.goto('/health/model');
  await hydrated(page);
  // The demo portfolio has a year of history: a model is trained at start.
  await expect(page.getByTestId('model-status')).toContainText('Trained');
  const auc = Number(await page.getByTestId('cv-auc').textContent());
  expect(auc).toBeGreaterThan(0.5);
  expect(auc).toBeLessThanOrEqual(1);
  await expect(page.getByTestId('lift')).toHaveText(/×$/);
  await expect(page.getByTestId('health-auc')).toHaveText(/^0\.\d{3}$/);
  await expect(page.getByTestId('calibration-chart').locator('circle').first()).toBeVisible();
  // The forward test compared algorithms: the logistic penalties and the trees, one in use.
  const candidates = page.getByTestId('candidates').locator('tbody tr');
  await expect(candidates.filter({ hasText: 'Gradient-boosted trees' })).toHaveCount(1);
  await expect(candidates.filter({ hasText: 'Logistic regression' })).toHaveCount(3);
  await expect(candidates.filter({ hasText: 'in use' })).toHaveCount(1);
  // Groups of features, each with its weight; behaviour features among them.
  const groups = page.getByTestId('coefficients').locator('tr');
  await expect(groups.first()).toBeVisible();
  expect(await groups.count()).toBeGreaterThan(5);
  await expect(page.getByTestId('backtest')).toBeVisible();
  // The forward test: the model against tenure alone and the health score.
  const forward = page.getByTestId('forward-test');
  await expect(forward).toBeVisible();
  await expect(forward).toContainText(/Mean|Not enough history/);
  if ((await forward.textContent())!.includes('Mean')) {
    await expect(page.getByTestId('forward-verdict')).toContainText(/tenure alone/);
    await expect(page.getByTestId('forward-mean')).toContainText('Mean');
    await expect(page.getByTestId('forward-mean')).toContainText(/0\.\d{3}/);
  }
  const runs = page.getByTestId('training-runs').locator('tbody tr');
  const before = await runs.count();

  // Retrain on demand: the page follows the training until the new run is listed.
  await page.getByTestId('retrain').click();
  await expect(runs).toHaveCount(before + 1, { timeout: 150_000 });
  await expect(runs.first()).toContainText('manual');
  await expect(page.getByTestId('retrain')).toHaveText('Retrain now');
  expect(errors).toEqual([]);
});

test('a customer page shows its churn risk and what drives it', async ({ page }) => {
  const errors = watchErrors(page);
  await signIn(page, 'manager@example.com');
  await page.goto('/customers/2');
  await hydrated(page);
  const panel = page.getByTestId('churn');
  await expect(panel).toBeVisible();
  await expect(page.getByTestId('churn-probability')).toHaveText(/%$/);
  await expect(page.getByTestId('churn-risk')).toHaveText(/^(Low|Medium|High) risk$/);
  await expect(panel).toContainText('Chance of churning within 90 days');
  // The link to how the model is validated.
  await panel.getByRole('link', { name: /validated/ }).click();
  await expect(page).toHaveURL(/\/health\/model$/);
  await hydrated(page);
  // Retraining is for admins: a manager sees the figures without the button.
  await expect(page.getByTestId('cv-auc')).toBeVisible();
  await expect(page.getByTestId('retrain')).toHaveCount(0);
  expect(errors).toEqual([]);
});

test('the churn model\'s weights open as a draft scorecard to review', async ({ page }) => {
  const errors = watchErrors(page);
  await signIn(page, 'admin@example.com');
  await page.goto('/health/model');
  await hydrated(page);
  await expect(page.getByTestId('suggested-weights')).toContainText('AUC alone');
  await page.getByTestId('review-draft').click();
  await expect(page).toHaveURL(/\/health\/scorecard\?draft=model/);
  await hydrated(page);
  await expect(page.getByTestId('scorecard-draft')).toContainText('weights learned from churn');
  await expect(page.getByTestId('save-scorecard')).toBeVisible();
  await page.getByRole('link', { name: 'Discard the draft' }).click();
  await expect(page.getByTestId('scorecard-draft')).toHaveCount(0);
  await expect(page.getByTestId('scorecard-suggestion')).toBeVisible();
  expect(errors).toEqual([]);
});
