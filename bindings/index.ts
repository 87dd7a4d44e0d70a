/**
 * syncmap-wasm: Go's sync.Map for Node.js, shared by worker threads through one
 * WebAssembly memory. See README.md.
 */
export { SyncMap, LockedMap, ConcurrentMap } from './syncmap.js';
export type {
  SyncMapOptions,
  LockedMapOptions,
  AttachOptions,
  SyncMapStats,
  RangeCallback,
  InferredKey,
  InferredValue,
} from './syncmap.js';
export type { SyncMapHandle } from './sharing.js';
export type { KeyKind, ValueKind, ValueCodec, KeyOf, ValueOf } from './codecs.js';
export {
  SyncMapError,
  SyncMapFullError,
  SyncMapLockTimeoutError,
  SyncMapKeyTooLargeError,
  SyncMapValueTooLargeError,
  SyncMapInternalError,
  SyncMapClosedError,
  SyncMapTooManyThreadsError,
  SyncMapInvalidHandleError,
  SyncMapLayoutMismatchError,
  SyncMapBuildMismatchError,
  SyncMapKeyTypeError,
  SyncMapValueEncodingError,
  SyncMapValueDecodingError,
  SyncMapArgumentError,
} from './errors.js';
export type { SyncMapErrorCode } from './errors.js';
