import { memo } from 'react';
import { useStoreSlice } from './storeContext.js';

const ROUTES = [
  ['python', 'Route 1 · Python'],
  ['node', 'Route 2 · Node'],
];

/** The traffic split as the database sees it: the `summary` event. */
function RoutePanel() {
  const summary = useStoreSlice('getSummary');
  if (!summary) {
    return (
      <section className="panel routes" data-testid="route-panel" data-state="waiting">
        <h2>Routes</h2>
        <p className="muted">Waiting for the first summary from ws-server…</p>
      </section>
    );
  }
  const python = summary.routes?.python ?? {};
  return (
    <section className="panel routes" data-testid="route-panel" data-state="ready">
      <header className="panel-header">
        <h2>Routes</h2>
        <span className="muted">
          <span data-testid="route-total">{summary.total}</span> rows stored
        </span>
      </header>
      <div className="split-bar" role="img" aria-label={`Python ${python.split_percent ?? 0} %`}>
        <div className="split-python" style={{ width: `${python.split_percent ?? 0}%` }} />
      </div>
      <div className="route-cards">
        {ROUTES.map(([route, label]) => {
          const figures = summary.routes?.[route] ?? {};
          return (
            <dl className={`route-card route-${route}`} key={route}>
              <dt>{label}</dt>
              <dd>
                <strong data-testid={`route-${route}-stored`}>{figures.stored ?? 0}</strong> stored
              </dd>
              <dd>
                <strong data-testid={`route-${route}-split`}>{Number(figures.split_percent ?? 0).toFixed(1)} %</strong> of all
              </dd>
              <dd>
                <strong data-testid={`route-${route}-rate`}>{Number(figures.records_per_second ?? 0).toFixed(2)}</strong> records/s
              </dd>
            </dl>
          );
        })}
      </div>
    </section>
  );
}

export default memo(RoutePanel);
