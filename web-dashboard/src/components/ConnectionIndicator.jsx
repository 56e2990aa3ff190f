import { memo } from 'react';
import { useStoreSlice } from './storeContext.js';

const LABELS = {
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  'database-down': 'Database down',
};

/** The socket's state, and the database's as ws-server reports it. */
function ConnectionIndicator() {
  const connection = useStoreSlice('getConnection');
  const database = useStoreSlice('getDatabase');
  const state = connection === 'connected' && database?.database === 'down' ? 'database-down' : connection;
  const detail = state === 'database-down' ? database.message : null;
  return (
    <div className={`connection connection-${state}`} data-testid="connection" data-state={state} role="status">
      <span className="dot" aria-hidden="true" />
      {LABELS[state]}
      {detail ? <span className="muted">: {detail}</span> : null}
    </div>
  );
}

export default memo(ConnectionIndicator);
