// Per-policy request counts, shared by every VM of the plugin (one per worker
// thread) through the host's shared data (proxy_get_shared_data /
// proxy_set_shared_data), which is one store per process and VM id.
//
// Keys (Text.COUNTER_*; policy.ts stores each policy's key in its encoding):
//   syncmap-filter/requests/policy/<policy name bytes>
//   syncmap-filter/requests/default
// Value: the count, a u64, 8 bytes little endian. Any VM, or any other plugin
// in the same VM id, reads it with proxy_get_shared_data.
//
// An increment is a compare-and-swap loop: read the value and its CAS token,
// write value + 1 with that token, and start again on CAS_MISMATCH (another VM
// wrote in between). The ABI has no atomic insert-if-absent: a write to a key
// that does not exist ignores the token. So every key is created when its
// configuration is loaded (counterEnsure), before any request can count into
// it. In Envoy each configuration is loaded first in a check VM of its own,
// before any other VM, so the main thread's and the workers' VMs find their
// keys made; a host that loads it on two VMs at once while a third already
// counts could lose that third's first counts.

import { HostStatus, proxy_get_shared_data, proxy_set_shared_data } from "./abi";
import { CLEAR_RESULTS, RESULT, RESULT_CAS, RESULT_DATA, RESULT_SIZE, hostFree, inMemory, results } from "./hostmem";
import { allocOrCollect } from "../memory";
import { pin, unpin } from "../reclaim";
import { ENTRY_VALUE, VALUE_BYTES, isLive } from "../entry";
import { tableCapacity, tableEntryAt } from "../table";
import { POLICY_KEY_AT, POLICY_KEY_BYTES, policyTableDefault, policyTableEntries } from "./policy";

// How often an increment retries after CAS_MISMATCH before it gives up (and
// that one count is lost). Each retry means another VM's increment of the same
// key landed in between, so even 4 busy workers rarely need more than 2 or 3.
// @ts-ignore: decorator
@inline const MAX_CAS_ATTEMPTS: u32 = 16;

// @ts-ignore: decorator
@inline const COUNT_SIZE: usize = 8;

let count: usize = 0; // 8 bytes: the value written

export function countersInit(): bool {
  if (!count) count = allocOrCollect(COUNT_SIZE);
  return count != 0;
}

/** Creates the key with a count of 0 if it does not exist. */
export function counterEnsure(key: usize, keyLen: usize): void {
  CLEAR_RESULTS();
  const status = proxy_get_shared_data(key, keyLen, results + RESULT_DATA, results + RESULT_SIZE, results + RESULT_CAS);
  if (status == HostStatus.OK) {
    hostFree(<usize>RESULT(RESULT_DATA));
    return;
  }
  if (status != HostStatus.NOT_FOUND) return;
  store<u64>(count, 0);
  proxy_set_shared_data(key, keyLen, count, COUNT_SIZE, 0);
}

/** Adds one to the count under the key. False if it could not (and the count is lost). */
export function counterIncrement(key: usize, keyLen: usize): bool {
  for (let attempt: u32 = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
    CLEAR_RESULTS();
    const status = proxy_get_shared_data(key, keyLen, results + RESULT_DATA, results + RESULT_SIZE, results + RESULT_CAS);
    let value: u64 = 0;
    let cas: u32 = 0; // NOT_FOUND: the write creates the key (and ignores the token anyway)
    if (status == HostStatus.OK) {
      const data = <usize>RESULT(RESULT_DATA);
      // Anything but 8 bytes was not written by this filter: start again from 0.
      if (<usize>RESULT(RESULT_SIZE) == COUNT_SIZE && data && inMemory(data, COUNT_SIZE)) value = load<u64>(data);
      cas = RESULT(RESULT_CAS);
      hostFree(data);
    } else if (status != HostStatus.NOT_FOUND) {
      return false;
    }
    store<u64>(count, value + 1);
    const written = proxy_set_shared_data(key, keyLen, count, COUNT_SIZE, cas);
    if (written == HostStatus.OK) return true;
    if (written != HostStatus.CAS_MISMATCH) return false;
  }
  return false;
}

/**
 * Creates the counters of every policy in a freshly loaded table, and of its
 * default policy, so that requests only ever update existing keys.
 */
export function counterEnsureAll(table: usize): void {
  pin();
  const entries = policyTableEntries(table);
  const capacity = tableCapacity(entries);
  for (let i: u32 = 0; i < capacity; i++) {
    const entry = tableEntryAt(entries, i);
    if (!entry) continue;
    const value = load<u32>(entry + ENTRY_VALUE);
    if (!isLive(value)) continue;
    const policy = <usize>value + VALUE_BYTES;
    counterEnsure(POLICY_KEY_AT(policy), POLICY_KEY_BYTES(policy));
  }
  const fallback = policyTableDefault(table);
  if (fallback) counterEnsure(POLICY_KEY_AT(fallback), POLICY_KEY_BYTES(fallback));
  unpin();
}
