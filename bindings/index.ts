/**
 * syncmap-wasm: Go's sync.Map for Node.js, shared by worker threads through one
 * WebAssembly memory. See README.md.
 */

/*
 * The two WebAssembly types a handle holds. @types/node does not declare the
 * WebAssembly namespace (TypeScript's DOM lib does), so without these a plain
 * Node project fails to compile this package's types (TS2503) or, with
 * skipLibCheck, sees `handle.memory` as any. Declared as lib.dom.d.ts declares
 * them, member for member, so that the two merge where both are present.
 */
declare global {
  namespace WebAssembly {
    /** A compiled WebAssembly module (structured-cloneable). */
    interface Module {}
    /** A WebAssembly memory; a map's is shared, so its buffer is a SharedArrayBuffer at run time. */
    interface Memory {
      readonly buffer: ArrayBuffer;
      grow(delta: number): number;
    }
  }
}

export { SyncMap, LockedMap, ConcurrentMap, SyncMapSnapshot } from './syncmap.js';
export type {
  SyncMapChanges,
  WriteOptions,
  SyncMapOptions,
  LockedMapOptions,
  AttachOptions,
  LockedAttachOptions,
  SyncMapStats,
  RangeCallback,
  InferredKey,
  InferredValue,
  KeyKindFor,
  ValueKindFor,
  OptionsFor,
  OptionsArgument,
  NoExtraOptions,
} from './syncmap.js';
export type { SyncMapHandle } from './sharing.js';
export type { ReadCacheOption } from './read-cache.js';
export type { KeyKind, ValueKind, ValueCodec, KeyOf, ValueOf, JsonValue, JsonCompatible } from './codecs.js';
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
