import { expect, test } from '@playwright/test';
import { hydrated, signIn, watchErrors } from './helpers';

test('the task cockpit: alerts become tasks, complete one with an outcome, acknowledge alerts in bulk', async ({ page }) => {
  const errors = watchErrors(page);
  await signIn(page, 'priya@example.com');
  await page.goto('/tasks');
  await hydrated(page);
  // The demo's high and critical alerts open tasks for their owners within seconds of
  // the start: the navigation counts the signed-in CSM's.
  await expect(page.getByTestId('task-count')).toBeVisible({ timeout: 30_000 });
  await page.getByTestId('tab-everyone').click();
  await expect(page.getByTestId('tab-everyone')).toHaveAttribute('aria-selected', 'true');
  const rows = page.getByTestId('cockpit-row');
  await expect(rows.first()).toBeVisible();
  await expect(page.getByTestId('cockpit-summary')).toContainText('open tasks');
  // Overdue customers come first: no on-time row precedes an overdue one.
  const overdue = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-overdue')));
  expect(overdue.indexOf('true') === -1 || overdue.lastIndexOf('true') < overdue.indexOf('false') || overdue.indexOf('false') === -1).toBe(true);

  // Complete a task with an outcome and a note: it leaves the cockpit for the done list.
  const item = page.getByTestId('task-item').first();
  const taskId = await item.getAttribute('data-task');
  const title = (await item.getByTestId('task-title').textContent()) ?? '';
  await item.getByTestId('task-outcome').selectOption('meeting_booked');
  await item.getByTestId('task-note').fill('QBR booked for Thursday');
  await item.getByTestId('task-complete').click();
  await expect(page.locator(`[data-task="${taskId}"]`)).toHaveCount(0);
  await page.getByTestId('tab-done').click();
  const done = page.getByTestId('done-task').filter({ hasText: title }).first();
  await expect(done.getByTestId('done-outcome')).toHaveText('Meeting booked');
  await expect(done).toContainText('QBR booked for Thursday');

  // Tick two waiting alerts and acknowledge them together.
  await page.getByTestId('tab-everyone').click();
  const alerts = page.getByTestId('alert-item');
  await expect(alerts.nth(1)).toBeVisible();
  const ids = await alerts.evaluateAll((els) => els.slice(0, 2).map((e) => e.getAttribute('data-alert')));
  for (const id of ids) await page.locator(`[data-alert="${id}"]`).getByTestId('pick-alert').check();
  await expect(page.getByTestId('bulk-bar')).toContainText('0 tasks, 2 alerts ticked');
  await page.getByTestId('bulk-ack').click();
  for (const id of ids) await expect(page.locator(`[data-alert="${id}"]`)).toHaveCount(0);
  await expect(page.getByTestId('bulk-bar')).toHaveCount(0);
  expect(errors).toEqual([]);
});

test("a customer's tasks: add one by hand, complete it; SLAs are shown", async ({ page }) => {
  const errors = watchErrors(page);
  await signIn(page, 'manager@example.com');
  await page.goto('/customers');
  await hydrated(page);
  await page.locator('table a[href^="/customers/"]').first().click();
  await expect(page.getByTestId('customer-tasks')).toBeVisible();
  await hydrated(page);
  const section = page.getByTestId('customer-tasks');
  await section.getByTestId('new-task-add').click();
  await expect(section.getByTestId('task-error')).toContainText('title');
  await section.getByTestId('new-task-title').fill('Send the renewal proposal');
  await section.getByTestId('new-task-add').click();
  const item = section.getByTestId('task-item').filter({ hasText: 'Send the renewal proposal' });
  await expect(item).toHaveCount(1);
  await expect(item).toContainText('Made by hand');
  await item.getByTestId('task-outcome').selectOption('reached_engaged');
  await item.getByTestId('task-complete').click();
  await expect(item).toHaveCount(0);
  await expect(section.locator('details summary')).toContainText('Completed');

  await page.goto('/tasks');
  await hydrated(page);
  await expect(page.getByTestId('sla-enterprise')).toHaveValue('2');
  await expect(page.getByTestId('sla-trial')).toHaveValue('48');
  expect(errors).toEqual([]);
});
