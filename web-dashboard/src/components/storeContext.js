import { createContext, useContext, useSyncExternalStore } from 'react';

export const StoreContext = createContext(null);

export function useStore() {
  const store = useContext(StoreContext);
  if (!store) throw new Error('StoreContext is missing a MetricsStore');
  return store;
}

/** Subscribes to one slice of the store: `getter` is one of its get* methods. */
export function useStoreSlice(getter) {
  const store = useStore();
  return useSyncExternalStore(store.subscribe, store[getter]);
}
