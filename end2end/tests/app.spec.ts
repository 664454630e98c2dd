import { expect, test } from '@playwright/test';
import { hydrated, signIn, watchErrors } from './helpers';

test('signing in: a wrong password is refused, the right one opens the dashboard', async ({ page }) => {
  const errors = watchErrors(page);
  await page.goto('/login');
  await hydrated(page);
  await page.fill('#email', 'admin@example.com');
  await page.fill('#password', 'not-the-password');
  await page.click('button[type=submit]');
  await expect(page.getByTestId('login-error')).toContainText('Wrong e-mail or password');
  await expect(page).toHaveURL(/\/login/);

  await page.fill('#password', 'demo-password');
  await page.click('button[type=submit]');
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole('heading', { name: 'Dashboard' })).toBeVisible();
  await expect(page.getByTestId('stats')).toContainText('MRR');
  await expect(page.getByTestId('current-user')).toContainText('admin@example.com');
  expect(errors).toEqual([]);
});

test('signed out, a page sends you to the login page and back after signing in', async ({ page }) => {
  await page.goto('/customers?stage=at_risk');
  await expect(page).toHaveURL(/\/login\?next=/);
  await hydrated(page);
  await page.fill('#email', 'manager@example.com');
  await page.fill('#password', 'demo-password');
  await page.click('button[type=submit]');
  await expect(page).toHaveURL(/\/customers\?stage=at_risk/);
  await expect(page.getByTestId('customer-row').first()).toContainText('At risk');
});

test('every page renders and hydrates without errors', async ({ page }) => {
  const errors = watchErrors(page);
  await signIn(page, 'admin@example.com');
  await expect(page).toHaveURL(/\/$/);
  for (const [path, heading] of [
    ['/', 'Dashboard'],
    ['/customers', 'Customers'],
    ['/customers/1', null],
    ['/customers/1/edit', null],
    ['/customers/new', 'New customer'],
    ['/customers/import', 'Import from CSV'],
    ['/users', 'Users'],
    ['/jobs', 'Jobs'],
    ['/integrations', 'Integrations'],
    ['/health/scorecard', 'Health scorecard'],
    ['/health/model', 'Churn model'],
    ['/alerts', 'Alerts'],
    ['/alerts/rules', 'Alert rules'],
    ['/expansion', 'Expansion'],
    ['/account', 'Your account'],
  ] as const) {
    await page.goto(path);
    await hydrated(page);
    if (heading) await expect(page.getByRole('heading', { level: 1, name: heading })).toBeVisible();
    else await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
  }
  await page.goto('/customers/999999');
  await hydrated(page);
  await expect(page.getByRole('alert')).toContainText('No customer with id 999999');
  expect(errors.filter((e) => !e.includes('404'))).toEqual([]);
  // The icon every page links to is served (from public/).
  await expect(page.locator('link[rel=icon]')).toHaveAttribute('href', '/favicon.svg');
  const icon = await page.request.get('/favicon.svg');
  expect(icon.status()).toBe(200);
  expect(icon.headers()['content-type']).toContain('svg');
});

test('search the customer list on the server', async ({ page }) => {
  await signIn(page, 'priya@example.com');
  await page.goto('/customers');
  await hydrated(page);
  const rows = page.getByTestId('customer-row');
  await expect(rows).toHaveCount(50);
  await expect(page.getByTestId('result-count')).toContainText(/of \d{3}/);
  const name = (await rows.nth(3).locator('a').first().innerText()).trim();

  await page.fill('#q', name);
  await page.getByTestId('apply-filters').click();
  await expect(page).toHaveURL(new RegExp(`q=${encodeURIComponent(name).replace(/%20/g, '(%20|\\+)')}`));
  await expect(rows.first()).toContainText(name);
  expect(await rows.count()).toBeLessThan(50);

  await page.fill('#q', 'zzz-no-such-customer');
  await page.getByTestId('apply-filters').click();
  await expect(page.getByText('No customers match these filters')).toBeVisible();
});

test('the list sorts and filters by churn risk, and exports what it shows', async ({ page }) => {
  const errors = watchErrors(page);
  await signIn(page, 'manager@example.com');
  await page.goto('/customers');
  await hydrated(page);
  await page.getByRole('link', { name: /Churn risk/ }).click();
  await expect(page).toHaveURL(/sort=churn/);
  const first = page.getByTestId('churn-cell').first();
  await expect(first).toContainText('High');
  await page.selectOption('#risk', 'high');
  await page.getByTestId('apply-filters').click();
  await expect(page).toHaveURL(/risk=high/);
  const cells = page.getByTestId('churn-cell');
  await expect(cells.first()).toContainText('High');
  const texts = await cells.allInnerTexts();
  expect(texts.every((t) => t.includes('High'))).toBe(true);

  const href = await page.getByTestId('export-csv').getAttribute('href');
  expect(href).toContain('risk=high');
  const res = await page.request.get(href!);
  expect(res.status()).toBe(200);
  expect(res.headers()['content-type']).toContain('text/csv');
  const lines = (await res.text()).trim().split('\n');
  expect(lines[0]).toContain('health_score,health_level,churn_risk,churn_probability,churn_factors');
  expect(lines.length - 1).toBeGreaterThanOrEqual(texts.length);
  expect(lines.slice(1).every((l) => l.includes(',high,'))).toBe(true);
  expect(errors).toEqual([]);
});

test('create a customer, then find it and open its detail', async ({ page }) => {
  const errors = watchErrors(page);
  const name = `Playwright Co ${Date.now()}`;
  await signIn(page, 'priya@example.com');
  await page.goto('/customers');
  await hydrated(page);
  await page.getByTestId('new-customer').click();
  await expect(page).toHaveURL(/\/customers\/new$/);
  await hydrated(page);

  // Bad input first: every problem is shown beside its field, nothing is saved.
  await page.fill('#mrr', 'twelve');
  await page.getByTestId('save-customer').click();
  await expect(page.getByTestId('form-error')).toBeVisible();
  await expect(page.getByText('is required')).toBeVisible();
  await expect(page.getByText('must be an amount such as 1250 or 1250.50')).toBeVisible();
  await expect(page).toHaveURL(/\/customers\/new$/);

  await page.fill('#name', name);
  await page.fill('#external_id', `pw_${Date.now()}`);
  await page.fill('#domain', 'playwright.example.com');
  await page.selectOption('#tier', 'enterprise');
  await page.fill('#mrr', '12345.50');
  await page.fill('#seats', '80');
  await page.selectOption('#owner_email', 'priya@example.com');
  await page.getByTestId('save-customer').click();
  await expect(page).toHaveURL(/\/customers\/\d+$/);
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
  await expect(page.getByText('$12,345.50').first()).toBeVisible();

  await page.goto(`/customers?q=${encodeURIComponent(name)}`);
  await expect(page.getByTestId('customer-row')).toHaveCount(1);
  await page.getByRole('link', { name }).click();
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
  expect(errors).toEqual([]);
});

test('a note added on the detail page appears on the timeline', async ({ page }) => {
  await signIn(page, 'priya@example.com');
  await page.goto('/customers/2');
  await hydrated(page);
  const note = `Called the champion ${Date.now()}`;
  await page.fill('#note-body', note);
  await page.getByRole('button', { name: 'Save note' }).click();
  await expect(page.getByTestId('timeline').locator('li').first()).toContainText(note);
  await expect(page.locator('#note-body')).toHaveValue('');
});

test('a contact added on the detail page is listed', async ({ page }) => {
  await signIn(page, 'priya@example.com');
  await page.goto('/customers/3');
  await hydrated(page);
  const name = `Grace Hopper ${Date.now()}`;
  await page.getByTestId('add-contact').locator('summary').click();
  await page.fill('#c-email', 'not-an-email');
  await page.getByRole('button', { name: 'Add contact' }).click();
  await expect(page.getByText('is required')).toBeVisible();
  await page.fill('#c-name', name);
  await page.fill('#c-email', `grace${Date.now()}@example.com`);
  await page.selectOption('#c-role', 'executive_sponsor');
  await page.getByRole('button', { name: 'Add contact' }).click();
  await expect(page.getByTestId('contacts')).toContainText(name);
});

test('an admin sees what happened to a customer as events, newest first', async ({ page }) => {
  const errors = watchErrors(page);
  await signIn(page, 'admin@example.com');
  await page.goto('/customers/1');
  await hydrated(page);
  const events = page.getByTestId('domain-events');
  await expect(events).toContainText('what playbooks start from');
  // Product events only when asked for: they would bury the rest.
  await expect(events.locator('li[data-kind="customer.created"]')).toHaveCount(1);
  await expect(events.locator('li[data-kind="event.received"]')).toHaveCount(0);
  await page.getByTestId('events-usage').check();
  await expect(events.locator('li[data-kind="event.received"]').first()).toContainText('Product event received');
  expect(errors).toEqual([]);
});

test('an executive can read but not edit', async ({ page }) => {
  await signIn(page, 'exec@example.com');
  await expect(page).toHaveURL(/\/$/);
  await page.goto('/customers');
  await hydrated(page);
  await expect(page.getByTestId('customer-row').first()).toBeVisible();
  await expect(page.getByTestId('new-customer')).toHaveCount(0);
  await page.goto('/customers/1');
  await hydrated(page);
  await expect(page.getByTestId('timeline')).toBeVisible();
  await expect(page.getByTestId('edit-customer')).toHaveCount(0);
  await expect(page.getByTestId('domain-events')).toHaveCount(0);
  await expect(page.locator('#note-body')).toHaveCount(0);
  await expect(page.getByTestId('add-contact')).toHaveCount(0);
  await page.goto('/customers/1/edit');
  await expect(page.getByRole('alert')).toContainText('Not allowed');
  await page.goto('/customers/new');
  await expect(page.getByRole('alert')).toContainText('Not allowed');
});

test('after hydration, interactions run in the browser without reloading', async ({ page }) => {
  await signIn(page, 'admin@example.com');
  await page.goto('/customers');
  await hydrated(page);
  const sidebar = page.getByTestId('sidebar');
  await expect(sidebar).toHaveAttribute('data-collapsed', 'false');
  await page.getByTestId('sidebar-toggle').click();
  await expect(sidebar).toHaveAttribute('data-collapsed', 'true');
  await page.getByTestId('sidebar-toggle').click();
  await expect(sidebar).toHaveAttribute('data-collapsed', 'false');

  // Sorting navigates on the client: a value set on window survives.
  await page.evaluate(() => ((window as any).__stillHere = true));
  await page.getByTestId('sort-mrr').click();
  await expect(page).toHaveURL(/sort=mrr/);
  await expect(page.getByTestId('sort-mrr')).toContainText('↓');
  expect(await page.evaluate(() => (window as any).__stillHere)).toBe(true);
});

test('with JavaScript disabled, pages still show their data', async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto('/login');
  await page.fill('#email', 'admin@example.com');
  await page.fill('#password', 'demo-password');
  await page.click('button[type=submit]');
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByTestId('stats')).toContainText('Customers');
  await expect(page.getByTestId('recently-active').locator('li').first()).toBeVisible();

  await page.goto('/customers?sort=mrr');
  await expect(page.getByTestId('customer-row')).toHaveCount(50);
  await page.getByTestId('next-page').click();
  await expect(page).toHaveURL(/page=2/);
  await expect(page.getByTestId('result-count')).toContainText(/51–100 of \d{3}/);

  await page.goto('/customers/1');
  await expect(page.getByTestId('timeline').locator('li').first()).toBeVisible();
  await expect(page.getByTestId('contacts')).toBeVisible();
  await context.close();
});

test('CSV import reports bad rows and imports nothing, then imports a good file', async ({ page }) => {
  await signIn(page, 'manager@example.com');
  await page.goto('/customers/import');
  await hydrated(page);
  const stamp = Date.now();
  await page.fill('#csv-text', `name,external_id,mrr\nGood ${stamp},imp_${stamp},100\n,imp_${stamp}_b,abc\n`);
  await page.getByTestId('run-import').click();
  await expect(page.getByTestId('import-errors')).toContainText('Nothing was imported');
  await expect(page.getByTestId('import-errors')).toContainText('must be an amount');

  await page.fill('#csv-text', `name,external_id,mrr\nGood ${stamp},imp_${stamp},100\nAlso Good ${stamp},imp_${stamp}_b,250.50\n`);
  await page.getByTestId('run-import').click();
  await expect(page.getByTestId('import-result')).toContainText('Imported 2 customers');
  await page.goto(`/customers?q=${stamp}`);
  await expect(page.getByTestId('customer-row')).toHaveCount(2);
});

test('signing out ends the session', async ({ page }) => {
  await signIn(page, 'admin@example.com');
  await expect(page).toHaveURL(/\/$/);
  await hydrated(page);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login/);
  await page.goto('/customers');
  await expect(page).toHaveURL(/\/login\?next=/);
});
