// Browser end-to-end, run by e2e/run.sh (which starts MariaDB, ws-server and the
// dashboard twice: with WS_URL and with WS_UPSTREAM): rows inserted into the
// database appear in the charts and the process table within 2 s, also when
// the dashboard proxies socket.io, with the server's Content-Security-Policy
// enforced and never violated; a screenshot is saved as an artifact.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { launchDebianChromium } from './chromium.mjs';
import { assertPolicy, logCspViolationEvents, watchCsp } from './csp.mjs';
import { ROOT, insert, record } from './records.mjs';

const DASHBOARD_URL = `http://127.0.0.1:${process.env.DASHBOARD_E2E_PORT}/`;
const PROXY_DASHBOARD_ORIGIN = `http://127.0.0.1:${process.env.DASHBOARD_PROXY_E2E_PORT}`;
const SCREENSHOT = join(process.env.E2E_ARTIFACTS, 'dashboard-e2e.png');
const APPEAR_WITHIN_MS = 2000;

const text = (page, testId) => page.getByTestId(testId).textContent();

let browser;
let context;
let page;
const pageErrors = [];
let cspViolations;

before(async () => {
  browser = await launchDebianChromium(chromium, 'dashboard-e2e');
  ({ context, page } = browser);
  await logCspViolationEvents(context);
  page.on('pageerror', (err) => pageErrors.push(err.message));
  cspViolations = watchCsp(page);
});

after(async () => {
  await browser?.close();
});

test('rows inserted into the database appear in the charts and the table within 2 s', async () => {
  const policy = assertPolicy(await page.goto(DASHBOARD_URL));
  assert.match(policy, new RegExp(`connect-src 'self' http://127\\.0\\.0\\.1:${process.env.WS_E2E_PORT} ws://127\\.0\\.0\\.1:${process.env.WS_E2E_PORT};`));
  await page.getByTestId('empty-state').waitFor({ timeout: 10_000 });
  await page.waitForSelector('[data-testid="connection"][data-state="connected"]', { timeout: 10_000 });

  // Two minutes of 1 Hz readings that end now, alternating routes like the 50/50 split.
  const now = Date.now();
  const history = Array.from({ length: 120 }, (_, i) => {
    const ram = Math.round((55 + 12 * Math.sin(i / 9)) * 100) / 100;
    const cpu = Math.round((35 + 25 * Math.sin(i / 5) * Math.cos(i / 17)) * 100) / 100;
    return record({ route: i % 2 ? 'node' : 'python', ram, cpu, at: now - (120 - i) * 1000 });
  });
  const historyLastId = insert(history);
  await page.waitForFunction(
    (id) => document.querySelector('[data-testid="latest-id"]')?.textContent === String(id),
    historyLastId,
    { timeout: APPEAR_WITHIN_MS },
  );
  assert.equal(await page.getByTestId('ram-chart').getAttribute('data-points'), '120');
  assert.equal(await page.getByTestId('cpu-chart').getAttribute('data-points'), '120');
  assert.equal(await text(page, 'ram-chart-latest'), `${history.at(-1).porcentaje_ram.toFixed(2)} %`);

  // One distinctive reading: every value it carries must show up.
  const reading = record({ route: 'node', ram: 77.77, cpu: 33.33, running: 4, sleeping: 321, zombie: 1, stopped: 2, at: now });
  const readingId = insert([reading]);
  const started = Date.now();
  await page.waitForFunction(
    (id) => document.querySelector('[data-testid="latest-id"]')?.textContent === String(id),
    readingId,
    { timeout: APPEAR_WITHIN_MS },
  );
  const appearedMs = Date.now() - started;
  assert.equal(await text(page, 'ram-chart-latest'), '77.77 %');
  assert.equal(await text(page, 'cpu-chart-latest'), '33.33 %');
  assert.equal(await page.getByTestId('ram-chart').getAttribute('data-newest-y'), '77.77');
  assert.equal(await page.getByTestId('cpu-chart').getAttribute('data-newest-y'), '33.33');
  assert.equal(await page.getByTestId('ram-chart').getAttribute('data-points'), '121');
  assert.equal(await text(page, 'latest-procesos_corriendo'), '4');
  assert.equal(await text(page, 'latest-procesos_durmiendo'), '321');
  assert.equal(await text(page, 'latest-procesos_zombie'), '1');
  assert.equal(await text(page, 'latest-procesos_parados'), '2');
  assert.equal(await text(page, 'latest-total_procesos'), '328');
  assert.equal(await text(page, 'latest-states'), 'adds up');
  assert.equal(await page.getByTestId('recent-row').count(), 9);
  // Victory drew the lines.
  assert.match(await page.locator('[data-testid="ram-chart"] svg path').first().getAttribute('d'), /^M[\d.]+,[\d.]+L/);

  // The route panel counts what the database holds: 60 python, 61 node.
  await page.waitForFunction(() => document.querySelector('[data-testid="route-total"]')?.textContent === '121', null, {
    timeout: APPEAR_WITHIN_MS,
  });
  assert.equal(await text(page, 'route-python-stored'), '60');
  assert.equal(await text(page, 'route-node-stored'), '61');

  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  console.log(`reading appeared in the browser ${appearedMs} ms after its INSERT; screenshot ${SCREENSHOT}`);
  assert.deepEqual(pageErrors, []);
  assert.deepEqual(cspViolations, []);
});

test('through the dashboard server as socket.io proxy (WS_UPSTREAM), rows appear within 2 s', async () => {
  const proxied = await context.newPage();
  const sockets = [];
  proxied.on('websocket', (ws) => sockets.push(ws.url()));
  proxied.on('pageerror', (err) => pageErrors.push(err.message));
  const proxiedViolations = watchCsp(proxied);
  try {
    assert.match(assertPolicy(await proxied.goto(`${PROXY_DASHBOARD_ORIGIN}/`)), /connect-src 'self';/);
    assert.equal(await proxied.evaluate(() => window.__CONFIG__.WS_URL), '');
    await proxied.waitForSelector('[data-testid="connection"][data-state="connected"]', { timeout: 10_000 });
    // The browser knows only its own origin: the WebSocket went through the proxy.
    assert.ok(sockets.length > 0, 'no WebSocket was opened');
    for (const url of sockets) assert.ok(url.startsWith(`ws://127.0.0.1:${process.env.DASHBOARD_PROXY_E2E_PORT}/socket.io/`), url);

    const id = insert([record({ route: 'python', ram: 66.66, cpu: 22.22, at: Date.now() })]);
    await proxied.waitForFunction(
      (id) => document.querySelector('[data-testid="latest-id"]')?.textContent === String(id),
      id,
      { timeout: APPEAR_WITHIN_MS },
    );
    assert.equal(await text(proxied, 'ram-chart-latest'), '66.66 %');
    assert.equal(await text(proxied, 'cpu-chart-latest'), '22.22 %');
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(proxiedViolations, []);
  } finally {
    await proxied.close();
  }
});

test('the policy is enforced and a violation would be seen', async () => {
  const probe = await context.newPage();
  const violations = watchCsp(probe);
  try {
    await probe.goto(DASHBOARD_URL);
    await probe.waitForSelector('[data-testid="connection"][data-state="connected"]', { timeout: 10_000 });
    // An inline script and a socket to an origin the policy does not list: both refused.
    const outcome = await probe.evaluate(async () => {
      const inline = document.createElement('script');
      inline.textContent = 'window.inlineRan = true;';
      document.head.append(inline);
      const socket = new WebSocket('ws://127.0.0.1:9/');
      const refused = await new Promise((resolve) => {
        socket.onerror = () => resolve(true);
        socket.onopen = () => resolve(false);
      });
      return { inlineRan: window.inlineRan === true, refused };
    });
    assert.deepEqual(outcome, { inlineRan: false, refused: true });
    const deadline = Date.now() + 2000;
    const seen = (directive) => violations.some((v) => v.includes(directive));
    while (!(seen('script-src') && seen('connect-src')) && Date.now() < deadline) await probe.waitForTimeout(50);
    assert.ok(seen('script-src') && seen('connect-src'), violations.join('\n'));

    // frame-ancestors 'none': another page cannot frame the dashboard.
    await probe.goto('about:blank');
    await probe.evaluate((url) => {
      const frame = document.createElement('iframe');
      frame.src = url;
      document.body.append(frame);
    }, DASHBOARD_URL);
    const framed = await probe.waitForEvent('framenavigated', { predicate: (f) => f !== probe.mainFrame(), timeout: 5000 });
    assert.ok(framed.url().startsWith('chrome-error:'), `the dashboard loaded in a frame: ${framed.url()}`);
  } finally {
    await probe.close();
  }
});

test('a database outage shows, and rows stored after recovery arrive', async () => {
  const mariadb = join(ROOT, 'scripts', 'mariadb.sh');
  assert.equal(spawnSync(mariadb, ['kill'], { stdio: 'inherit' }).status, 0);
  await page.waitForSelector('[data-testid="connection"][data-state="database-down"]', { timeout: 15_000 });
  assert.equal(spawnSync(mariadb, ['up'], { stdio: ['ignore', 'ignore', 'inherit'] }).status, 0);
  await page.waitForSelector('[data-testid="connection"][data-state="connected"]', { timeout: 15_000 });

  const id = insert([record({ route: 'python', ram: 42.42, cpu: 12.34, at: Date.now() })]);
  await page.waitForFunction(
    (id) => document.querySelector('[data-testid="latest-id"]')?.textContent === String(id),
    id,
    { timeout: 5_000 },
  );
  assert.equal(await text(page, 'ram-chart-latest'), '42.42 %');
  assert.deepEqual(pageErrors, []);
  assert.deepEqual(cspViolations, []);
});
