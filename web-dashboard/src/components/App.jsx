import ComparisonPanel from './ComparisonPanel.jsx';
import ConnectionIndicator from './ConnectionIndicator.jsx';
import MetricChart from './MetricChart.jsx';
import ProcessTable from './ProcessTable.jsx';
import RecordsTable from './RecordsTable.jsx';
import RoutePanel from './RoutePanel.jsx';
import WindowInfo from './WindowInfo.jsx';
import WindowSelector from './WindowSelector.jsx';
import { StoreContext, useStore, useStoreSlice } from './storeContext.js';

function Metrics({ wsUrl }) {
  const store = useStore();
  const rowsVersion = useStoreSlice('getRowsVersion');
  if (store.rows.length === 0) {
    return (
      <section className="panel empty-state" data-testid="empty-state">
        <h2>No records yet</h2>
        <p>
          The dashboard is waiting for rows from ws-server at <code>{wsUrl}</code>. They appear here as soon as a
          route stores a record (run the Locust replay, or POST a record to the ingress).
        </p>
      </section>
    );
  }
  return (
    <>
      <WindowInfo />
      <div className="charts">
        <MetricChart title="RAM %" field="porcentaje_ram" testId="ram-chart" color="#2563eb" />
        <MetricChart title="CPU %" field="porcentaje_cpu_uso" testId="cpu-chart" color="#dc2626" />
      </div>
      <ProcessTable rowsVersion={rowsVersion} />
      <RecordsTable />
    </>
  );
}

export default function App({ store, wsUrl }) {
  return (
    <StoreContext.Provider value={store}>
      <header className="top-bar">
        <h1>VM load monitor</h1>
        <WindowSelector />
        <ConnectionIndicator />
      </header>
      <main>
        <Metrics wsUrl={wsUrl} />
        <RoutePanel />
        <ComparisonPanel />
      </main>
    </StoreContext.Provider>
  );
}
