// The window's records table (issue #16), in Chromium against the real
// ws-server and MariaDB that e2e/run.sh started: every click on a column or a
// page button shows exactly the rows the database's own ORDER BY ... LIMIT
// gives for the chosen window, and nothing outside the window.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { launchDebianChromium } from './chromium.mjs';
import { assertPolicy, logCspViolationEvents, watchCsp } from './csp.mjs';
import { emptyTable, hora, insert, record, sql, streamCaughtUp, waitUntil } from './records.mjs';

const DASHBOARD_URL = `http://127.0.0.1:${process.env.DASHBOARD_E2E_PORT}/`;
const END = Date.parse('2026-03-01T10:04:59Z');
const PAGE_ROWS = 20;

let browser;
const pageErrors = [];

before(async () => {
  browser = await launchDebianChromium(chromium, 'dashboard-table-e2e');
  browser.page.on('pageerror', (err) => pageErrors.push(err.message));
  await logCspViolationEvents(browser.context);
  watchCsp(browser.page, pageErrors);
});

after(async () => {
  await browser?.close();
});

/** The ids the database gives for the 5-minute window that ends at END, in this order. */
function databaseIds(sort, order, offset) {
  const start = hora(END - 299_000);
  return sql(`SELECT id FROM metric_records WHERE hora BETWEEN '${start}' AND '${hora(END)}'
    ORDER BY ${sort} ${order}, id ${order} LIMIT ${PAGE_ROWS} OFFSET ${offset};`).split('\n').filter(Boolean).map(Number);
}

const shownIds = (page) => page.$$eval('[data-testid="records-row"]', (rows) => rows.map((r) => Number(r.dataset.id)));

async function showsDatabaseOrder(page, sort, order, offset) {
  const expected = databaseIds(sort, order, offset);
  await waitUntil(`the table sorted by ${sort} ${order} from ${offset}`, async () => JSON.stringify(await shownIds(page)) === JSON.stringify(expected), 5000);
  const table = page.getByTestId('records-table');
  assert.deepEqual([await table.getAttribute('data-sort'), await table.getAttribute('data-order'), Number(await table.getAttribute('data-offset'))], [sort, order, offset]);
}

test('sorting by any column and paging show the database\'s order, within the window', async () => {
  await emptyTable();
  // Two hours older: in the table, in no window; then five minutes, one reading a second, ties in every column.
  insert(Array.from({ length: 30 }, (_, i) => record({ route: 'python', ram: 99, cpu: 99, at: END - 7200_000 + i * 1000 })));
  insert(Array.from({ length: 300 }, (_, i) => record({
    route: i % 3 ? 'node' : 'python', ram: 40 + (i % 17) * 1.25, cpu: 5 + (i % 23) * 3.5,
    running: 1 + (i % 4), sleeping: 300 + (i % 9), zombie: i % 7 === 0 ? 1 : 0, stopped: i % 11 === 0 ? 2 : 0, at: END - (299 - i) * 1000,
  })));
  await streamCaughtUp(20_000);

  const { page } = browser;
  try {
    assertPolicy(await page.goto(DASHBOARD_URL));
    await waitUntil('the first page', async () => /· 300 records in the last 5 min/.test(await page.getByTestId('records-status').textContent()), 10_000);
    await showsDatabaseOrder(page, 'id', 'desc', 0);

    await page.getByTestId('records-sort-porcentaje_cpu_uso').click();
    await showsDatabaseOrder(page, 'porcentaje_cpu_uso', 'desc', 0);
    await page.getByTestId('records-next').click();
    await showsDatabaseOrder(page, 'porcentaje_cpu_uso', 'desc', 20);
    await page.getByTestId('records-next').click();
    await showsDatabaseOrder(page, 'porcentaje_cpu_uso', 'desc', 40);
    await page.getByTestId('records-sort-porcentaje_cpu_uso').click();
    await showsDatabaseOrder(page, 'porcentaje_cpu_uso', 'asc', 0);

    for (const sort of ['route', 'procesos_zombie', 'procesos_parados', 'total_procesos', 'hora', 'porcentaje_ram']) {
      await page.getByTestId(`records-sort-${sort}`).click();
      await showsDatabaseOrder(page, sort, 'desc', 0);
      await page.getByTestId('records-last').click();
      await showsDatabaseOrder(page, sort, 'desc', 280);
      await page.getByTestId('records-prev').click();
      await showsDatabaseOrder(page, sort, 'desc', 260);
    }
    assert.match(await page.getByTestId('records-status').textContent(), /^Page 14 of 15 · 300 records/);
    assert.deepEqual(pageErrors, []);
  } finally {
    await emptyTable(); // the next test starts from an empty table
  }
});
