// What the main thread and its worker share: the value type and the worker's data.
import type { SyncMapHandle } from 'syncmap-wasm';

/** One cluster of an xDS-style configuration snapshot. */
export interface Cluster {
  version: number;
  endpoints: string[];
}

export interface WorkerData {
  clusters: SyncMapHandle;
  requests: SyncMapHandle;
}
