import { memo } from 'react';
import { useStore } from './storeContext.js';

const RECENT_ROWS = 10;
const COLUMNS = [
  ['procesos_corriendo', 'Running'],
  ['procesos_durmiendo', 'Sleeping'],
  ['procesos_zombie', 'Zombie'],
  ['procesos_parados', 'Stopped'],
  ['total_procesos', 'Total'],
];

const STATES = ['procesos_corriendo', 'procesos_durmiendo', 'procesos_zombie', 'procesos_parados'];

/**
 * Whether running + sleeping + zombie + stopped equals the total, as the
 * contract says it must; when not, by how much and which way.
 */
export function statesCheck(row) {
  const counted = STATES.reduce((sum, field) => sum + row[field], 0);
  const difference = row.total_procesos - counted;
  if (difference === 0) return { ok: true, text: 'adds up' };
  const sum = `${STATES.map((field) => row[field]).join(' + ')} = ${counted}`;
  return {
    ok: false,
    text: difference > 0
      ? `${sum}, ${difference} short of the total ${row.total_procesos}: processes in none of the four states`
      : `${sum}, ${-difference} over the total ${row.total_procesos}: processes counted twice`,
  };
}

function StatesCell({ row, testId }) {
  const check = statesCheck(row);
  return (
    <td className={check.ok ? 'states-ok' : 'states-off'} data-testid={testId} data-ok={check.ok}>
      {check.text}
    </td>
  );
}

/** Process states of the newest row, and the newest rows below it. */
function ProcessTable({ rowsVersion }) {
  const store = useStore();
  const recent = store.rows.newest(RECENT_ROWS);
  const latest = recent[0];
  return (
    <section className="panel processes" data-testid="process-table" data-rows-version={rowsVersion}>
      <header className="panel-header">
        <h2>Processes</h2>
        <span className="muted">newest {recent.length} of {store.rows.length} rows held</span>
      </header>
      <table>
        <thead>
          <tr>
            <th scope="col">id</th>
            <th scope="col">hora (UTC)</th>
            <th scope="col">route</th>
            {COLUMNS.map(([field, label]) => (
              <th scope="col" key={field}>{label}</th>
            ))}
            <th scope="col">States vs total</th>
          </tr>
        </thead>
        <tbody>
          {latest ? (
            <tr className="latest-row" data-testid="latest-row">
              <td data-testid="latest-id">{latest.id}</td>
              <td data-testid="latest-hora">{latest.hora}</td>
              <td data-testid="latest-route">{latest.route}</td>
              {COLUMNS.map(([field]) => (
                <td key={field} data-testid={`latest-${field}`}>{latest[field]}</td>
              ))}
              <StatesCell row={latest} testId="latest-states" />
            </tr>
          ) : null}
          {recent.slice(1).map((row) => (
            <tr key={row.id} data-testid="recent-row">
              <td>{row.id}</td>
              <td>{row.hora}</td>
              <td>{row.route}</td>
              {COLUMNS.map(([field]) => (
                <td key={field}>{row[field]}</td>
              ))}
              <StatesCell row={row} testId="recent-states" />
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export default memo(ProcessTable);
