import { memo } from 'react';
import { WINDOW_CHOICES_MINUTES } from '../lib/store.js';
import { useStore, useStoreSlice } from './storeContext.js';

function WindowSelector() {
  const store = useStore();
  const { minutes } = useStoreSlice('getChart');
  return (
    <div className="window-selector" role="group" aria-label="Time window">
      {WINDOW_CHOICES_MINUTES.map((choice) => (
        <button
          key={choice}
          type="button"
          aria-pressed={choice === minutes}
          data-testid={`window-${choice}`}
          onClick={() => store.chooseWindow(choice)}
        >
          {choice} min
        </button>
      ))}
    </div>
  );
}

export default memo(WindowSelector);
