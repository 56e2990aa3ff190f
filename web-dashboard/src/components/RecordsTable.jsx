import { memo } from 'react';
import { RECORDS_PAGE_ROWS } from '../lib/store.js';
import { statesCheck } from './ProcessTable.jsx';
import { useStore, useStoreSlice } from './storeContext.js';

const COLUMNS = [
  ['id', 'id'],
  ['hora', 'hora (UTC)'],
  ['route', 'route'],
  ['porcentaje_ram', 'RAM %'],
  ['porcentaje_cpu_uso', 'CPU %'],
  ['procesos_corriendo', 'Running'],
  ['procesos_durmiendo', 'Sleeping'],
  ['procesos_zombie', 'Zombie'],
  ['procesos_parados', 'Stopped'],
  ['total_procesos', 'Total'],
  ['received_at', 'received (UTC)'],
];

const ARIA_SORT = { asc: 'ascending', desc: 'descending' };

/**
 * Every record of the chosen window, a page at a time, sorted by any column:
 * ws-server's database sorts and pages (`records`), so the order is the
 * database's and the browser holds one page. A page is the window as it was
 * when asked (through_id); Refresh asks again.
 */
function RecordsTable() {
  const store = useStore();
  const records = useStoreSlice('getRecords');
  useStoreSlice('getRowsVersion'); // whether newer rows arrived since the page
  const { page } = records;
  const pages = page ? Math.max(1, Math.ceil(page.total / RECORDS_PAGE_ROWS)) : 1;
  const pageNumber = Math.floor(records.offset / RECORDS_PAGE_ROWS) + 1;
  let status;
  if (records.state === 'error') status = `The records could not be loaded: ${records.error}. Retrying.`;
  else if (!page) status = 'Loading the window’s records…';
  else status = `Page ${pageNumber} of ${pages} · ${page.total} records in the last ${page.minutes} min (ids up to ${page.through_id})${records.state === 'loading' ? ' · loading…' : ''}`;
  const newer = page !== null && store.lastId !== null && store.lastId > page.through_id;
  return (
    <section className="panel records" data-testid="records-table" data-state={records.state} data-sort={records.sort} data-order={records.order} data-offset={records.offset}>
      <header className="panel-header">
        <h2>The window’s records</h2>
        <span className="muted" data-testid="records-status">{status}</span>
      </header>
      <table className="records-grid">
        <thead>
          <tr>
            {COLUMNS.map(([field, label]) => (
              <th scope="col" key={field} aria-sort={records.sort === field ? ARIA_SORT[records.order] : 'none'}>
                <button type="button" className="sort-button" data-testid={`records-sort-${field}`} onClick={() => store.sortRecords(field)}>
                  {label}
                  {records.sort === field ? (records.order === 'asc' ? ' ▲' : ' ▼') : ''}
                </button>
              </th>
            ))}
            <th scope="col">States vs total</th>
          </tr>
        </thead>
        <tbody>
          {(page?.rows ?? []).map((row) => {
            const check = statesCheck(row);
            return (
              <tr key={row.id} data-testid="records-row" data-id={row.id}>
                {COLUMNS.map(([field]) => (field === 'received_at'
                  ? <td key={field} title={row.received_at}>{row.received_at.slice(11, 23)}</td>
                  : <td key={field}>{row[field]}</td>))}
                <td className={check.ok ? 'states-ok' : 'states-off'}>{check.text}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <nav className="pager">
        <button type="button" data-testid="records-first" disabled={records.offset === 0} onClick={() => store.pageRecords(-pages)}>First</button>
        <button type="button" data-testid="records-prev" disabled={records.offset === 0} onClick={() => store.pageRecords(-1)}>Previous</button>
        <button type="button" data-testid="records-next" disabled={pageNumber >= pages} onClick={() => store.pageRecords(1)}>Next</button>
        <button type="button" data-testid="records-last" disabled={pageNumber >= pages} onClick={() => store.pageRecords(pages)}>Last</button>
        <button type="button" data-testid="records-refresh" className={newer ? 'refresh-newer' : undefined} onClick={() => store.requestRecords?.()}>
          {newer ? `Refresh: newer records up to id ${store.lastId}` : 'Refresh'}
        </button>
      </nav>
    </section>
  );
}

export default memo(RecordsTable);
