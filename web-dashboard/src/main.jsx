import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import App from './components/App.jsx';
import { connectDashboard } from './lib/socket.js';
import { MetricsStore } from './lib/store.js';
import './styles.css';

// /config.js is written from the environment when the server starts, so one
// build serves every environment. An empty WS_URL means the page's own origin:
// the server proxies /socket.io/ to ws-server (WS_UPSTREAM).
const configured = window.__CONFIG__?.WS_URL;
const wsUrl = configured === '' ? window.location.origin : configured;
const root = createRoot(document.getElementById('root'));

if (!wsUrl) {
  root.render(
    <p className="config-error" data-testid="config-error">
      Configuration missing: /config.js did not set WS_URL, so the dashboard does not know where ws-server is.
    </p>,
  );
} else {
  const store = new MetricsStore();
  connectDashboard(store, wsUrl);
  root.render(
    <StrictMode>
      <App store={store} wsUrl={wsUrl} />
    </StrictMode>,
  );
}
