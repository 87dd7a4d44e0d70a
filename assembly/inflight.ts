// Blocks in flight: a value block or an entry that this thread has allocated
// and not yet published (made reachable from a table or an entry) or freed.
// No shared structure reaches such a block, so a thread stopped between the
// allocation and the publication (Worker.terminate() stops one at any
// instruction) would leak it; the slot's held words (slots.ts) name it for the
// reaper instead, which frees it (reaper.ts).
//
//   held value   A value block (entry.ts, valueNew), complete or not: a chunked
//                value is named from its first block on, its chain well formed
//                at every instruction.
//   held entry   An entry (entryNew), named once its key length is stored (its
//                size known); its key is copied after. Its value word names the
//                held value, which is freed on its own.
//
// The rule that makes the reaper's free safe: a word names a block only while
// nothing but this thread can reach it. So the owner
//   - records a block as soon as it is allocated: valueNew and entryNew take
//     the word to record it in (as tableNew takes an intent's word);
//   - lets go of it (letGoValue, letGoEntry) just before the store or CAS that
//     publishes it;
//   - records it again right after a CAS that failed;
//   - frees an entry with freeNamed() (alloc.ts), which lets go of it in
//     the same run of instructions that links it into a free list; a value
//     stays held, marked as being freed, while its chunks are freed, then
//     passes to the held block (freeHeldValue).
// A thread stopped between a let-go and the publication leaks that block: a
// window of a few instructions (Worker.terminate() stops a thread at a
// function's entry or a loop's back-edge, none of which lies in between).
//
// What a thread has taken *out* of the map and not yet retired is the other
// half of the same problem; reclaim.ts keeps it (the slot's unretired words).
//
// The words are plain: only the owner writes them while it lives, and the
// reaper reads them after the host said the owner exited (everything it stored
// is visible by then). A let-go is ordered before the publishing CAS as any
// store before an atomic operation is; before a plain publishing store (an
// entry into a table) by program order, which neither Binaryen nor V8 changes
// for two stores to memory.

import { DEBUG } from "./config";
import { crashPoint } from "./faults";
import { SLOT_HELD_ENTRY, SLOT_HELD_VALUE } from "./slots";
import { freeNamed } from "./alloc";
import { entryBlockSize, freeUnfinishedNamed, valueBlockSize, valueFreeChunks, valueIsWhole } from "./entry";
import { freeHeldBlock, holdBlock } from "./reclaim";

// Thread-local: this thread's slot, 0 while not attached.
let slot: usize = 0;

export function inflightBind(bound: usize): void {
  slot = bound;
}

/** The word valueNew records a new value block in (this thread's held value). */
// @ts-ignore: decorator
@inline export function heldValueWord(): usize {
  if (DEBUG) assert(slot != 0); // attached: else the word would be at address 216
  return slot + SLOT_HELD_VALUE;
}

/** The word entryNew records a new entry in (this thread's held entry). */
// @ts-ignore: decorator
@inline export function heldEntryWord(): usize {
  if (DEBUG) assert(slot != 0);
  return slot + SLOT_HELD_ENTRY;
}

/** Names `block` again as this thread's unpublished value (after a failed CAS, before a retry). */
// @ts-ignore: decorator
@inline export function holdValue(block: u32): void {
  store<u32>(slot + SLOT_HELD_VALUE, block);
}

/** Just before the held value is published or freed: from here on it is not this thread's alone. */
// @ts-ignore: decorator
@inline export function letGoValue(): void {
  store<u32>(slot + SLOT_HELD_VALUE, 0);
}

/** Just before the held entry is published or freed. */
// @ts-ignore: decorator
@inline export function letGoEntry(): void {
  store<u32>(slot + SLOT_HELD_ENTRY, 0);
}

/** Frees this thread's held entry, which its operation did not publish (freeNamed() lets go of it as it links it). */
export function freeHeldEntry(entry: usize): void {
  freeNamed(entry, entryBlockSize(entry), slot + SLOT_HELD_ENTRY);
}

// A held value word with this bit is a value being freed (freeHeldValue): its
// chain is a finished value's, shortened from its head, which whoever takes the
// word frees as a whole value (valueFree), not as one valueNew left unfinished.
// Blocks are 8-byte aligned: the bit is never part of an address.
// @ts-ignore: decorator
@inline const FREEING: u32 = 1;

/**
 * Frees this thread's held value block, which its operation did not publish.
 * It stays held, marked FREEING, while its chunks are freed (each named in
 * turn by the slot's held block, reclaim.ts), and passes from the held value to
 * the held block for its own free: a thread stopped anywhere loses none of it.
 */
export function freeHeldValue(block: u32): void {
  if (DEBUG) assert((block & FREEING) == 0);
  freeValueNamed(slot + SLOT_HELD_VALUE, <usize>block);
}

/**
 * Frees the finished value `block` that the held-value word `word` (this
 * thread's, or a dead owner's) names: marked FREEING there while its chunks
 * are freed (each named by this thread's held block), then passed from the word
 * to this thread's held block for its own free. Resumable by whoever takes the
 * word over; a thread stopped anywhere loses none of it.
 */
function freeValueNamed(word: usize, block: usize): void {
  store<u32>(word, <u32>block | FREEING); // its chain is shortened from the head from here on
  crashPoint(); // a thread stopped here leaves it named by `word`
  valueFreeChunks(block);
  const size = valueBlockSize(block);
  holdBlock(block, size); // from `word` to this thread's held block, with no call between
  store<u32>(word, 0);
  freeHeldBlock(block, size);
}

/**
 * Frees what `owner` (a slot whose thread exited, or this thread's own after a
 * trap unwound its operation) held unpublished. Repeatable, and a reaper that
 * dies here loses nothing: the value stays named by `owner`'s word, marked
 * FREEING, while its chunks are freed (each named by this thread's held
 * block), and passes from that word to this thread's held block for its own
 * free, as in freeHeldValue. (Taken with an exchange and then freed, it was
 * lost whole by a reaper stopped at the free's call: 4 KiB in a stress run.)
 */
export function inflightFree(owner: usize): void {
  // The entry is freed with freeNamed(): its size lies past the words a
  // free list writes over (entry.ts).
  const entry = <usize>load<u32>(owner + SLOT_HELD_ENTRY);
  if (entry) freeNamed(entry, entryBlockSize(entry), owner + SLOT_HELD_ENTRY);
  const word = owner + SLOT_HELD_VALUE;
  const value = load<u32>(word);
  if (!value) return;
  const block = <usize>(value & ~FREEING);
  if (!(value & FREEING) && !valueIsWhole(block)) {
    // valueNew stopped before its last chunk, or while it freed the chain it
    // could not finish: only freeUnfinishedNamed knows its chunks' sizes.
    freeUnfinishedNamed(word, block);
    return;
  }
  freeValueNamed(word, block);
}
