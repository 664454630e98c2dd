import { expect, test } from '@playwright/test';
import { hydrated, signIn, watchErrors } from './helpers';

// A customer name that runs script if it is written unescaped anywhere: in the body, an
// attribute, the <title> (where leptos_meta writes it as it is) or a <script>.
const HOSTILE = `</title><script>window.__xss=1</script><img src=x onerror="window.__xss=2">"'><xss-probe></xss-probe>`;

test('a hostile customer name stays text on every page, hydrated and under the CSP', async ({ page }) => {
  const errors = watchErrors(page);
  await signIn(page, 'priya@example.com');
  const form: Record<string, string> = {
    'input[name]': HOSTILE, 'input[external_id]': `xss_${Date.now()}`, 'input[domain]': '',
    'input[tier]': 'mid_market', 'input[stage]': 'active', 'input[churned_on]': '', 'input[plan]': '<img src=x onerror="window.__xss=3">',
    'input[mrr]': '100', 'input[currency]': 'USD', 'input[seats]': '5', 'input[contract_start]': '',
    'input[renewal_date]': '', 'input[owner_email]': '', 'input[tags]': '',
  };
  const res = await page.request.post('/api/create_customer', { form });
  expect(res.status(), await res.text()).toBe(200);
  const id = await res.json();
  await page.request.post('/api/add_note', { form: { customer_id: String(id), body: HOSTILE } });
  // A new customer is scored a second or two after it is created: let its first score and
  // prediction land, so every visit below sees the same page.
  await expect
    .poll(async () => (await (await page.request.post('/api/customer_churn', { form: { id: String(id) } })).json()) !== null, { timeout: 30_000 })
    .toBe(true);

  for (const path of [`/customers/${id}`, `/customers/${id}/edit`, `/customers?q=${encodeURIComponent('xss-probe')}`]) {
    await page.goto(path);
    await hydrated(page);
    expect(await page.evaluate(() => (window as any).__xss)).toBeUndefined();
    await expect(page.locator('xss-probe')).toHaveCount(0);
  }
  await page.goto(`/customers/${id}`);
  await hydrated(page);
  expect(await page.title()).toContain('</title><script>');
  await expect(page.getByRole('heading', { level: 1 })).toContainText('<script>window.__xss=1</script>');
  expect(await page.evaluate(() => (window as any).__xss)).toBeUndefined();

  // The same pages without JavaScript: the server's HTML alone makes no markup of it.
  const context = await page.context().browser()!.newContext({ javaScriptEnabled: false });
  const plain = await context.newPage();
  await plain.context().addCookies(await page.context().cookies());
  await plain.goto(`/customers/${id}`);
  await expect(plain.locator('xss-probe')).toHaveCount(0);
  await expect(plain.locator('img[src=x]')).toHaveCount(0);
  expect(await plain.title()).toContain('</title><script>');
  await context.close();
  expect(errors).toEqual([]);
});

test('a user changes their own password on the account page', async ({ page }) => {
  const errors = watchErrors(page);
  const email = `pat${Date.now()}@example.com`;
  const first = 'amber glacier notebook';
  const second = 'violet tractor lemonade';
  await signIn(page, 'admin@example.com');
  const made = await page.request.post('/api/create_user', {
    form: { email, name: 'Pat Quinn', role: 'csm', password: first },
  });
  expect(made.status()).toBe(200);
  await page.context().clearCookies();

  await signIn(page, email, first);
  await page.getByTestId('current-user').click();
  await expect(page).toHaveURL(/\/account$/);
  await hydrated(page);
  await expect(page.getByTestId('account-who')).toContainText(email);
  // A wrong current password and a weak new one are refused beside their fields.
  await page.fill('#a-current', 'not my password');
  await page.fill('#a-new', 'password1');
  await page.fill('#a-confirm', 'password1');
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.getByText('is not your current password')).toBeVisible();
  await expect(page.getByText('too easy to guess')).toBeVisible();
  await page.fill('#a-current', first);
  await page.fill('#a-new', second);
  await page.fill('#a-confirm', second);
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.getByTestId('password-changed')).toBeVisible();

  await page.context().clearCookies();
  await signIn(page, email, second);
  await expect(page.getByTestId('current-user')).toContainText(email);
  expect(errors).toEqual([]);
});
