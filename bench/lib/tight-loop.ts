/**
 * The tight loop the one-thread tables are read against: one operation over
 * `count` keys, best of several rounds. benchmark.js's own per-call cost (~2
 * ns here) would blur a 10-20 ns Map.get, so the goals are read from this.
 */

export type Op = (i: number) => unknown;

const LOOP = `
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    let sink = 0;
    const start = process.hrtime.bigint();
    for (let p = 0; p < passes; p++) for (let i = 0; i < count; i++) if (op(i) !== undefined) sink++;
    const ns = Number(process.hrtime.bigint() - start) / (passes * count);
    if (sink < 0) throw new Error('unreachable');
    if (ns < best) best = ns;
  }
  return best;
`;

/**
 * A loop of its own for `op` over keys 0 … count-1, compiled anew so that its
 * call to `op` has feedback of its own and V8 can inline it, and warmed up
 * (`warmup` rounds and passes: tier-up). Each call of the result runs one
 * round of `passes` sweeps and returns its ns per call.
 */
export function tightLoop(op: Op, count: number, warmup = 2): (passes: number) => number {
  const loop = new Function('op', 'count', 'rounds', 'passes', 'process', LOOP) as (
    op: Op,
    count: number,
    rounds: number,
    passes: number,
    p: NodeJS.Process,
  ) => number;
  loop(op, count, warmup, warmup, process);
  return (passes) => loop(op, count, 1, passes, process);
}
