// What the browser downloads before a page is interactive: opens each page of a running
// server in Chromium (signing in as the demo admin for the pages behind sign-in), waits
// until it has hydrated, and sums the JavaScript and wasm it fetched, gzipped (level 9),
// per page and for the first page a user opens (login, then the dashboard).
// Usage: VCSM_BASE_URL=http://127.0.0.1:3300 node end2end/tools/bundle-size.mjs [/path ...]
import { chromium } from '@playwright/test';
import { gzipSync } from 'node:zlib';

const base = process.env.VCSM_BASE_URL ?? 'http://127.0.0.1:3300';
const pages = process.argv.slice(2).length
  ? process.argv.slice(2)
  : ['/', '/customers', '/customers/1', '/alerts', '/alerts/rules', '/expansion', '/health/scorecard', '/health/model', '/integrations', '/customers/import', '/users', '/jobs', '/account'];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

/** Opens `path` in a fresh page of `context`, returns {url: gzipped bytes} of its js and wasm. */
async function downloads(context, path, before) {
  const page = await context.newPage();
  const fetched = new Map();
  page.on('response', async (response) => {
    const url = new URL(response.url());
    if (!/\.(js|wasm)$/.test(url.pathname)) return;
    try {
      const body = await response.body();
      fetched.set(url.pathname, { raw: body.length, gz: gzipSync(body, { level: 9 }).length });
    } catch { /* a redirect has no body */ }
  });
  await page.goto(base + path);
  if (before) await before(page);
  await page.locator('body[data-hydrated="true"]').waitFor({ timeout: 60_000 });
  await page.waitForLoadState('networkidle');
  await page.close();
  return fetched;
}

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
const total = (m) => [...m.values()].reduce((a, f) => ({ raw: a.raw + f.raw, gz: a.gz + f.gz }), { raw: 0, gz: 0 });
const rows = [];
// Signed out: the login page, each file fetched from scratch (no cache between pages).
const anonymous = await browser.newContext();
const login = await downloads(anonymous, '/login');
rows.push(['/login', login]);
await anonymous.close();
// Signed in: each page in a fresh context (an empty cache) with the session cookie.
const signing = await browser.newContext();
const page = await signing.newPage();
await page.goto(base + '/login');
await page.locator('body[data-hydrated="true"]').waitFor({ timeout: 60_000 });
await page.fill('#email', process.env.VCSM_EMAIL ?? 'admin@example.com');
await page.fill('#password', process.env.VCSM_PASSWORD ?? 'demo-password');
await page.click('button[type=submit]');
await page.waitForURL((url) => !url.pathname.startsWith('/login'));
const cookies = await signing.cookies();
await signing.close();
for (const path of pages) {
  const context = await browser.newContext();
  await context.addCookies(cookies);
  rows.push([path, await downloads(context, path)]);
  await context.close();
}
await browser.close();

for (const [path, files] of rows) {
  const t = total(files);
  const list = [...files.entries()].map(([u, f]) => `${u.split('/').pop()} ${kb(f.gz)}`).join(', ');
  console.log(`${path.padEnd(22)} js+wasm ${kb(t.gz).padStart(10)} gzipped (${kb(t.raw)} raw): ${list}`);
}
const first = Math.max(total(rows[0][1]).gz, total(rows[1][1]).gz);
console.log(`first page (login or dashboard, the larger): ${kb(first)} gzipped`);
