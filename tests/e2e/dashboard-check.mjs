// Opens the dashboard in Debian's chromium and waits until it shows what the
// database holds: the newest row (its id and process counts) and each route's
// stored count. Usage: node dashboard-check.mjs URL EXPECTED_JSON|- SCREENSHOT
// EXPECTED_JSON: {"latest_id": 123, "total_procesos": 233, "total": 60, "python": 30, "node": 30}
// With `-`, it prints "connected" once the page's socket is up and then reads
// EXPECTED_JSON from its first line of stdin: rows stored after that line must
// reach an open page live.
// Exits 0 when everything matched within the timeout, 1 with the differences otherwise.
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';
import { launchDebianChromium } from '../../web-dashboard/e2e/chromium.mjs';

const [url, expectedArgument, screenshot] = process.argv.slice(2);
const TIMEOUT_MS = 20_000;

async function firstLineOfStdin() {
  for await (const line of createInterface({ input: process.stdin })) return line;
  throw new Error('stdin closed before the expected JSON');
}

const browser = await launchDebianChromium(chromium, 'e2e');
const pageErrors = [];
let shown = {};
try {
  const { page } = browser;
  page.on('pageerror', (err) => pageErrors.push(err.message));
  await page.goto(url);
  await page.waitForSelector('[data-testid="connection"][data-state="connected"]', { timeout: TIMEOUT_MS });
  if (expectedArgument === '-') console.log('connected');
  const expected = JSON.parse(expectedArgument === '-' ? await firstLineOfStdin() : expectedArgument);
  const read = () => page.evaluate(() => {
    const text = (id) => document.querySelector(`[data-testid="${id}"]`)?.textContent ?? null;
    return {
      latest_id: text('latest-id'),
      total_procesos: text('latest-total_procesos'),
      total: text('route-total'),
      python: text('route-python-stored'),
      node: text('route-node-stored'),
    };
  });
  const matches = (seen) => Object.entries(expected).every(([key, value]) => seen[key] === String(value));
  const deadline = Date.now() + TIMEOUT_MS;
  shown = await read();
  while (!matches(shown) && Date.now() < deadline) {
    await page.waitForTimeout(200);
    shown = await read();
  }
  await page.screenshot({ path: screenshot, fullPage: true });
  if (!matches(shown) || pageErrors.length) {
    console.error(`dashboard shows ${JSON.stringify(shown)}, expected ${JSON.stringify(expected)}; page errors: ${JSON.stringify(pageErrors)}`);
    process.exitCode = 1;
  } else {
    console.log(`dashboard shows ${JSON.stringify(shown)}; screenshot ${screenshot}`);
  }
} finally {
  await browser.close();
}
