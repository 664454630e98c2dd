import { expect, test } from '@playwright/test';
import { hydrated, signIn, watchErrors } from './helpers';

/** Creates a source on the Integrations page and returns its write key. */
async function newSource(page: import('@playwright/test').Page, name: string): Promise<string> {
  await page.goto('/integrations');
  await hydrated(page);
  await page.fill('#src-name', name);
  await page.getByRole('button', { name: 'Create source' }).click();
  const key = (await page.getByTestId('write-key').textContent())?.trim() ?? '';
  expect(key).toMatch(/^wk_/);
  return key;
}

function basic(key: string) {
  return { Authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` };
}

test('events sent through the public API appear on the customer timeline; bad and unresolved ones are shown and replayable', async ({ page }) => {
  const errors = watchErrors(page);
  const stamp = Date.now();
  await signIn(page, 'admin@example.com');
  const key = await newSource(page, `E2E web app ${stamp}`);

  // The customer to send for: the demo portfolio's first, by its external id.
  const customer = await (await page.request.post('/api/get_customer', { form: { id: '1' } })).json();
  const event = `E2E Report Exported ${stamp}`;
  const track = await page.request.post('/v1/track', {
    headers: basic(key),
    data: { userId: `e2e-user-${stamp}`, event, properties: { format: 'pdf' }, context: { groupId: customer.row.external_id } },
  });
  expect(track.status()).toBe(200);
  expect((await track.json()).outcome.stored).toBe(1);

  // Refused: names what is wrong, keeps nothing.
  const bad = await page.request.post('/v1/track', { headers: basic(key), data: { userId: 'x' } });
  expect(bad.status()).toBe(400);
  expect((await bad.json()).errors[0].path).toBe('event');

  // Unresolved: held in the quarantine, not dropped.
  const newAccount = `acct_e2e_${stamp}`;
  const held = await page.request.post('/v1/track', {
    headers: basic(key),
    data: { userId: 'u-held', event: 'Signed Up', context: { groupId: newAccount } },
  });
  expect((await held.json()).outcome.quarantined).toBe(1);

  await page.goto('/customers/1');
  await hydrated(page);
  await expect(page.getByTestId('timeline')).toContainText(event);

  await page.goto('/integrations');
  await hydrated(page);
  const row = page.getByTestId('source-row').filter({ hasText: `E2E web app ${stamp}` });
  await expect(row).toContainText('3 received');
  await expect(row).toContainText('1 stored');
  await expect(row).toContainText('1 held');
  await expect(row).toContainText('1 rejected');
  await expect(page.getByTestId('integration-errors')).toContainText('event: is required');
  await expect(page.getByTestId('quarantine')).toContainText(newAccount);

  // Once the customer exists, replaying applies the held event.
  await page.goto('/customers/new');
  await hydrated(page);
  await page.fill('#name', `E2E Replay Co ${stamp}`);
  await page.fill('#external_id', newAccount);
  await page.getByTestId('save-customer').click();
  await expect(page).toHaveURL(/\/customers\/\d+$/);
  // The page's code is its own file (a lazy route): let it load before leaving, as a person
  // reading the page would (leaving mid-download aborts it, which the browser reports).
  await expect(page.getByRole('heading', { level: 1, name: `E2E Replay Co ${stamp}` })).toBeVisible();
  const detailUrl = page.url();

  await page.goto('/integrations');
  await hydrated(page);
  await page.getByTestId('held-row').filter({ hasText: newAccount }).getByRole('button', { name: 'Replay' }).click();
  await expect(page.getByTestId('replay-result')).toContainText('1 applied');
  await expect(page.getByTestId('held-row').filter({ hasText: newAccount })).toHaveCount(0);

  await page.goto(detailUrl);
  await expect(page.getByTestId('timeline')).toContainText('Signed Up');
  expect(errors).toEqual([]);
});

test('a revoked key is refused; a rotated key replaces the old one', async ({ page }) => {
  const stamp = Date.now();
  await signIn(page, 'admin@example.com');
  const name = `E2E rotate ${stamp}`;
  const oldKey = await newSource(page, name);
  const row = page.getByTestId('source-row').filter({ hasText: name });
  await row.getByText('Rotate key', { exact: true }).click();
  await row.getByRole('button', { name: 'Rotate now' }).click();
  // The panel already showed this source's first key: wait for the rotated one.
  await expect(page.getByTestId('new-key')).toContainText(name);
  await expect(page.getByTestId('write-key')).not.toHaveText(oldKey);
  const newKey = (await page.getByTestId('write-key').textContent())?.trim() ?? '';
  expect(newKey).toMatch(/^wk_/);
  const send = (key: string) =>
    page.request.post('/v1/identify', { headers: basic(key), data: { userId: 'nobody', traits: {} } });
  expect((await send(oldKey)).status()).toBe(401);
  expect((await send(newKey)).status()).toBe(200);

  await row.getByText('Revoke', { exact: true }).click();
  await row.getByRole('button', { name: 'Revoke the key' }).click();
  await expect(row).toContainText('Revoked');
  expect((await send(newKey)).status()).toBe(401);
});

test('the Integrations page is for admins only', async ({ page }) => {
  await signIn(page, 'manager@example.com');
  await expect(page.getByRole('link', { name: 'Integrations' })).toHaveCount(0);
  await page.goto('/integrations');
  await hydrated(page);
  await expect(page.getByRole('alert')).toContainText('Not allowed');
});
