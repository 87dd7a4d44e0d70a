import { randomFrom } from '../fixtures/random.mjs';

/** A small seeded PRNG (mulberry32, test/fixtures/random.mjs) for reproducible fuzz runs and schedules. */
export class Random {
  private readonly draw: () => number;

  constructor(readonly seed: number) {
    this.draw = randomFrom(seed);
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.draw();
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
}
