import { expect, test } from '@playwright/test';
import { hydrated, signIn, watchErrors } from './helpers';

test('playbooks: the list, turning one on, a template preview, enrolling by hand, the funnel, the history, the outbox', async ({ page }) => {
  test.setTimeout(90_000);
  const errors = watchErrors(page);
  await signIn(page, 'admin@example.com');

  // A demo customer to work with: the first of the list.
  await page.goto('/customers');
  await hydrated(page);
  const first = page.locator('a[href^="/customers/"][title]').first();
  const href = await first.getAttribute('href');
  const name = (await first.getAttribute('title'))!;
  const id = href!.split('/').pop()!;
  expect(Number(id)).toBeGreaterThan(0);

  // The list filtered down to it: enroll everyone it matches; again, and each is refused
  // with the reason.
  await page.goto(`/customers?search=${encodeURIComponent(name)}`);
  await hydrated(page);
  const matching = page.getByTestId('enroll-matching');
  await matching.locator('summary').click();
  await expect(matching.locator('summary')).toContainText(/Enroll the \d+ customers? matching/);
  await matching.getByTestId('enroll-playbook').selectOption('usage-upgrade');
  await matching.getByTestId('enroll-matching-button').click();
  await expect(matching.getByTestId('enroll-matching-result')).toContainText(/[1-9]\d* of [1-9]\d* enrolled in “Usage at 80 % of the plan → upgrade”/);
  await matching.getByTestId('enroll-matching-button').click();
  await expect(matching.getByTestId('refused-customer').first()).toContainText('already enrolled');

  // The library; the trial journey is off (the demo turns on others): turn it on.
  await page.goto('/playbooks');
  await hydrated(page);
  await expect(page.getByRole('link', { name: 'Playbooks' })).toHaveAttribute('aria-current', 'page');
  expect(await page.getByTestId('playbook-row').count()).toBeGreaterThanOrEqual(9);
  const row = page.locator('[data-testid=playbook-row][data-key="trial-journey"]');
  await expect(row).toContainText('Trial started');
  if ((await row.getAttribute('data-status')) !== 'on') {
    await expect(row.getByTestId('playbook-status')).toHaveText('Off');
    await row.getByTestId('set-on').click();
  }
  await expect(row.getByTestId('playbook-status')).toHaveText('On');
  await expect(row.getByTestId('set-paused')).toBeVisible();

  // A template rendered for the real customer, as the outbox would send it.
  await page.getByTestId('preview-template').selectOption('risk-personal');
  await page.getByTestId('preview-customer').fill(id);
  await page.getByTestId('preview-button').click();
  await expect(page.getByTestId('preview-subject')).toContainText('Checking in personally, ');
  await expect(page.getByTestId('preview-subject')).not.toContainText('{{');
  await expect(page.getByTestId('preview-text')).not.toBeEmpty();
  await page.getByTestId('preview-customer').fill('no customer is called this');
  await page.getByTestId('preview-button').click();
  await expect(page.getByTestId('preview-error')).toContainText('No customer is named');

  // The playbook's page: enroll the customer by hand; again is refused with the reason.
  await row.getByRole('link').first().click();
  await expect(page).toHaveURL(/\/playbooks\/trial-journey$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Trial day 1, 3 and 6');
  await expect(page.getByTestId('definition')).toContainText('"trial_started"');
  await page.getByTestId('enroll-customer').fill(id);
  await page.getByTestId('enroll-button').click();
  await expect(page.getByTestId('enroll-result')).toContainText('Enrolled');
  await expect(page.getByTestId('funnel').getByTestId('funnel-entered')).toContainText('1');
  await expect(page.getByTestId('enrollment-row').first()).toBeVisible();
  await page.getByTestId('enroll-button').click();
  await expect(page.getByTestId('enroll-error')).toContainText('already enrolled');

  // Its history on the customer's page: the first step ran (the engine runs every half
  // second) and says what it did; the enrollment is live, with its next step.
  await page.goto(`/customers/${id}`);
  await hydrated(page);
  const enrollment = page.locator('[data-testid=enrollment][data-playbook="trial-journey"]').first();
  await expect(async () => {
    await page.reload();
    await expect(enrollment.locator('[data-testid=step-run][data-step="welcome"]')).toBeVisible({ timeout: 2_000 });
  }).toPass({ timeout: 30_000 });
  await hydrated(page);
  await expect(enrollment.locator('[data-testid=step-run][data-step="welcome"]')).toContainText('E-mail');
  await expect(enrollment.getByTestId('enrollment-next')).toContainText('Next: ');

  // The outbox holds its e-mail, with why it hasn't gone (no relay, or no address).
  await page.goto('/outbox');
  await hydrated(page);
  await page.getByTestId('tab-all').click();
  await page.getByTestId('kind').selectOption('email');
  const mail = page.getByTestId('outbox-row').filter({ hasText: 'Trial day 1, 3 and 6' }).first();
  await expect(mail).toBeVisible();
  await expect(mail).toHaveAttribute('data-kind', 'email');
  await expect(mail.getByTestId('outbox-reason')).not.toBeEmpty();
  await page.getByTestId('tab-sent').click();
  await expect(page.getByTestId('tab-sent')).toHaveAttribute('aria-selected', 'true');
  await expect(page.locator('[data-testid=outbox-row]:not([data-status=sent])')).toHaveCount(0);

  // Pausing, resuming, then cancelling the live enrollment from the customer's page.
  await page.goto(`/customers/${id}`);
  await hydrated(page);
  await enrollment.getByTestId('pause-enrollment').click();
  await expect(enrollment).toHaveAttribute('data-status', 'paused');
  await enrollment.getByTestId('resume-enrollment').click();
  await expect(enrollment).not.toHaveAttribute('data-status', 'paused');
  await expect(enrollment.getByTestId('pause-enrollment')).toBeVisible();
  await enrollment.getByTestId('cancel-enrollment').click();
  await expect(enrollment).toHaveAttribute('data-status', 'cancelled');
  await expect(enrollment.getByTestId('enrollment-finish')).toContainText('Cancelled by a person');
  expect(errors).toEqual([]);
});

test('a CSM reads playbooks without the controls; the outbox is for admins', async ({ page }) => {
  const errors = watchErrors(page);
  await signIn(page, 'priya@example.com');
  await page.goto('/playbooks');
  await hydrated(page);
  await expect(page.getByTestId('playbook-row').first()).toBeVisible();
  await expect(page.getByTestId('set-on')).toHaveCount(0);
  await expect(page.getByTestId('set-off')).toHaveCount(0);
  await expect(page.getByRole('link', { name: 'Outbox', exact: true }).and(page.locator('nav a'))).toHaveCount(0);
  // The demo's months of high-risk work: which of its tasks worked, per step.
  await page.goto('/playbooks/high-risk-intervention');
  await hydrated(page);
  const outcomes = page.getByTestId('task-outcomes');
  await expect(outcomes).toBeVisible();
  await expect(outcomes.getByTestId('step-outcomes').first()).toContainText(/\d+ %/);
  await page.goto('/playbooks/renewal');
  await hydrated(page);
  await expect(page.getByTestId('funnel')).toBeVisible();
  await expect(page.getByTestId('enroll-form')).toHaveCount(0);
  await page.goto('/outbox');
  await expect(page.getByRole('alert')).toContainText('Not allowed');
  expect(errors).toEqual([]);
});
