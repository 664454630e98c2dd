import { expect, test } from '@playwright/test';
import { hydrated, signIn, watchErrors } from './helpers';

/** Remembers, in the page, whether the progress bar ever showed and the highest value it had. */
async function watchProgress(page: import('@playwright/test').Page) {
  await page.evaluate(() => {
    const w = window as unknown as { sawProgress: boolean; maxProgress: number };
    w.sawProgress = false;
    w.maxProgress = 0;
    new MutationObserver(() => {
      const bar = document.querySelector('[data-testid=import-progress] [role=progressbar]');
      if (bar) {
        w.sawProgress = true;
        w.maxProgress = Math.max(w.maxProgress, Number(bar.getAttribute('aria-valuenow') ?? 0));
      }
    }).observe(document.body, { subtree: true, childList: true, attributes: true });
  });
}

test('a 100,000-row events file imports with a progress bar and lands on the timeline', async ({ page }) => {
  test.setTimeout(180_000);
  const errors = watchErrors(page);
  await signIn(page, 'manager@example.com');
  const customer = await (await page.request.post('/api/get_customer', { form: { id: '2' } })).json();
  const account = customer.row.external_id;
  const stamp = Date.now();
  const lines = ['customer_external_id,event,occurred_at,properties'];
  for (let i = 0; i < 100_000; i++) {
    const t = new Date(stamp - (i + 1) * 60_000).toISOString();
    lines.push(`${account},E2E Import ${stamp},${t},"{""n"": ${i}}"`);
  }

  await page.goto('/customers/import?kind=events');
  await hydrated(page);
  await expect(page.getByTestId('kind-events')).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId('import-columns')).toContainText('occurred_at');
  await page.setInputFiles('#csv-file', {
    name: 'history.csv',
    mimeType: 'text/csv',
    buffer: Buffer.from(lines.join('\n') + '\n'),
  });
  await expect(page.getByTestId('import-summary')).toContainText('history.csv: 100,000 data rows');
  await watchProgress(page);
  await page.getByTestId('run-import').click();
  await expect(page.getByTestId('import-result')).toContainText('Stored 100,000 events; 0 were already imported.', { timeout: 150_000 });
  const seen = await page.evaluate(() => (window as unknown as { sawProgress: boolean }).sawProgress);
  expect(seen).toBe(true);

  // Importing the same file again stores nothing new.
  await page.getByTestId('run-import').click();
  await expect(page.getByTestId('import-result')).toContainText('Stored 0 events; 100,000 were already imported.', { timeout: 150_000 });

  await page.goto(`/customers/2`);
  await hydrated(page);
  await expect(page.getByText(`E2E Import ${stamp}`).first()).toBeVisible();
  expect(errors).toEqual([]);
});

test('a contacts file with problems imports nothing and lists them; a good one adds the contact', async ({ page }) => {
  const errors = watchErrors(page);
  await signIn(page, 'manager@example.com');
  const customer = await (await page.request.post('/api/get_customer', { form: { id: '3' } })).json();
  const account = customer.row.external_id;
  const stamp = Date.now();
  await page.goto('/customers/import');
  await hydrated(page);
  await page.getByTestId('kind-contacts').click();
  await expect(page.getByTestId('import-columns')).toContainText('customer_external_id');
  await page.fill('#csv-text', `customer_external_id,name,email\n${account},E2E Person ${stamp},e2e${stamp}@example.com\nno_such_account,Someone,x@example.com\n`);
  await page.getByTestId('run-import').click();
  await expect(page.getByTestId('import-errors')).toContainText('Nothing was imported');
  await expect(page.getByTestId('import-errors')).toContainText('no customer has external id no_such_account');

  await page.fill('#csv-text', `customer_external_id,name,email,title\n${account},E2E Person ${stamp},e2e${stamp}@example.com,Head of Ops\n`);
  await page.getByTestId('run-import').click();
  await expect(page.getByTestId('import-result')).toContainText('Added 1 contacts and updated 0.');
  await page.goto('/customers/3');
  await hydrated(page);
  await expect(page.getByTestId('contacts')).toContainText(`E2E Person ${stamp}`);
  expect(errors).toEqual([]);
});
