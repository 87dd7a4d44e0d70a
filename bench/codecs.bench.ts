/**
 * Value codecs, one thread: store (an overwrite of a present key) and load of
 * a ~200-byte xDS-like object, of a number and of a short string, through a
 * SyncMap under each codec: 'json' (and 'json' with freeze: true, whose
 * values the read cache keeps), 'v8' (node:v8), 'structured' (the
 * default, bindings/structured.ts), and msgpackr with structuredClone (the
 * codec family lmdb-js uses) as a custom codec when it is installed (it comes
 * with lmdb, a devDependency of the benchmarks; it is not a dependency of the
 * package: its optional native addon makes npm warn about install scripts).
 * Also the encoding and decoding alone, outside the map.
 *
 * The figures chose the default codec (README, "Values"): 'structured' must
 * keep every value postMessage carries and cost no more than 'json'; its
 * primitives must beat JSON's.
 *
 *   node build/bench/codecs.bench.js [--quick]
 *
 * Each row is a tight in-process loop compiled for it alone (so that V8's
 * feedback is the row's own), best of several rounds, the rounds of all rows
 * interleaved: this machine's speed drifts over seconds.
 */
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { SyncMap, type ValueCodec, type ValueKind } from 'syncmap-wasm';
import { decodeValue, encodeValue } from '../bindings/structured.js';
import type { BenchConfig } from './lib/config.js';
import { xorshift32 } from './lib/keys.js';
import { tightLoop, type Op } from './lib/tight-loop.js';

/** An xDS-like cluster: 194 bytes as JSON. */
export const XDS_CLUSTER = {
  name: 'outbound|9080||reviews.svc',
  type: 'EDS',
  connectTimeoutMs: 250,
  lbPolicy: 'RING_HASH',
  endpoints: [
    { address: '10.0.3.17', port: 9080 },
    { address: '10.0.3.18', port: 9080 },
  ],
  version: 7,
};
const NUMBER = 12345.625;
const STRING = 'value-of-20-bytes...';
const KEYS = 1000;

type Sample = 'object' | 'number' | 'string';
const SAMPLES: Record<Sample, unknown> = { object: XDS_CLUSTER, number: NUMBER, string: STRING };

export interface CodecRow {
  codec: string;
  value: Sample;
  /** Bytes the codec stores for the value. */
  bytes: number;
  storeNs: number;
  loadNs: number;
  /** The codec alone, outside the map (undefined where the map's own code is the codec). */
  encodeNs?: number;
  decodeNs?: number;
}

/** 'json' with and without freeze: true, loads of random keys among a share of writes. */
export interface FreezeRow {
  /** The share of operations that are stores (of a new version of the object). */
  writeShare: number;
  plainNs: number;
  frozenNs: number;
  /** Of the frozen map's loads, the share its read cache answered. */
  frozenHitShare: number;
}

export interface CodecResult {
  jsonBytes: number;
  rows: CodecRow[];
  missing: string[];
  /** Absent in results written before it was measured. */
  freeze?: FreezeRow[];
}

/** Keys of the freeze table: as many objects as a controller cache of a small cluster holds. */
const FREEZE_KEYS = 10_000;
const WRITE_SHARES = [0, 0.001, 0.003, 0.01];

/**
 * ns per operation of `ops` operations on FREEZE_KEYS keys of the xDS object,
 * each a store with probability `writeShare` (a new version), else a load, the
 * keys drawn by xorshift; and the share of loads the read cache answered.
 */
function mixedLoop(freeze: boolean, writeShare: number, ops: number): { ns: number; hitShare: number } {
  const map = SyncMap.createSync<string, unknown>({ values: 'json', freeze, maxMemoryBytes: 64 << 20 });
  const keys = Array.from({ length: FREEZE_KEYS }, (_, i) => `cluster-${i.toString().padStart(6, '0')}`);
  keys.forEach((key, i) => map.store(key, { ...XDS_CLUSTER, version: i }));
  for (let pass = 0; pass < 2; pass++) for (const key of keys) map.load(key); // promoted, cached
  const writeBelow = Math.round(writeShare * 2 ** 32);
  let x = 0x9e3779b9;
  let sink = 0;
  const before = map.stats();
  const start = process.hrtime.bigint();
  for (let n = 0; n < ops; n++) {
    x = xorshift32(x);
    const key = keys[(x >>> 0) % FREEZE_KEYS]!;
    x = xorshift32(x);
    if (x >>> 0 < writeBelow) map.store(key, { ...XDS_CLUSTER, version: n });
    else sink += (map.load(key) as { version: number }).version;
  }
  const ns = Number(process.hrtime.bigint() - start) / ops;
  const after = map.stats();
  map.close();
  if (sink < 0) throw new Error('unreachable');
  return { ns, hitShare: (after.cacheHits - before.cacheHits) / Math.max(1, after.loads - before.loads) };
}

/** The freeze table: each share of writes, plain 'json' and frozen taking turns, best of `rounds`. */
function freezeUnderWrites(rounds: number, ops: number): FreezeRow[] {
  return WRITE_SHARES.map((writeShare) => {
    let plainNs = Infinity;
    let frozenNs = Infinity;
    let frozenHitShare = 0;
    for (let round = 0; round < rounds; round++) {
      plainNs = Math.min(plainNs, mixedLoop(false, writeShare, ops).ns);
      const frozen = mixedLoop(true, writeShare, ops);
      if (frozen.ns < frozenNs) {
        frozenNs = frozen.ns;
        frozenHitShare = frozen.hitShare;
      }
    }
    return { writeShare, plainNs, frozenNs, frozenHitShare };
  });
}

/** msgpackr with structuredClone, as a custom codec, if it can be loaded. */
async function msgpackrCodec(): Promise<ValueCodec<unknown> | undefined> {
  try {
    const { Packr } = (await import('msgpackr')) as typeof import('msgpackr');
    const packr = new Packr({ structuredClone: true });
    return { encode: (value) => packr.pack(value), decode: (bytes) => packr.unpack(bytes) as unknown };
  } catch {
    return undefined;
  }
}

export async function runCodecs(cfg: Pick<BenchConfig, 'mode'>, log: (line: string) => void): Promise<CodecResult> {
  const started = performance.now();
  const rounds = cfg.mode === 'quick' ? 3 : 9;
  const passes = cfg.mode === 'quick' ? 20 : 60;
  const keys = Array.from({ length: KEYS }, (_, i) => `cluster-${i.toString().padStart(6, '0')}`);
  const msgpackr = await msgpackrCodec();
  // 'json' with freeze: true hands out frozen values, which the read cache keeps (its loads are cache hits).
  const codecs: [string, ValueKind | ValueCodec<unknown>, { freeze?: boolean }?][] = [
    ['json', 'json'], ['json, freeze: true', 'json', { freeze: true }], ['v8', 'v8'], ['structured', 'structured'],
  ];
  if (msgpackr) codecs.push(['msgpackr (structuredClone)', msgpackr]);

  const plan: { row: Omit<CodecRow, 'storeNs' | 'loadNs' | 'encodeNs' | 'decodeNs'>; ops: Op[] }[] = [];
  const maps: SyncMap<string, unknown>[] = [];
  for (const [codec, values, options] of codecs) {
    for (const value of Object.keys(SAMPLES) as Sample[]) {
      const v = SAMPLES[value];
      // Loads read a map the stores do not write: a load measures values that
      // have not changed since this thread last read them, which a read cache
      // ('json' under freeze) answers, not the first load after each store.
      const written = SyncMap.createSync<string, unknown>({ values, maxMemoryBytes: 64 << 20, ...options });
      const read = SyncMap.createSync<string, unknown>({ values, maxMemoryBytes: 64 << 20, ...options });
      maps.push(written, read);
      for (const key of keys) written.store(key, v);
      for (const key of keys) read.store(key, v);
      const encoded = encodeAlone(codec, v, msgpackr);
      plan.push({
        row: { codec, value, bytes: encoded.bytes },
        ops: [
          (i) => written.store(keys[i]!, v) ?? 0,
          (i) => read.load(keys[i]!),
          ...(encoded.encode && encoded.decode ? [encoded.encode, encoded.decode] : []),
        ],
      });
    }
  }
  const loops = plan.map((p) => p.ops.map((op) => tightLoop(op, KEYS, 3)));
  const best = plan.map((p) => p.ops.map(() => Infinity));
  for (let round = 0; round < rounds; round++) {
    loops.forEach((rowLoops, r) => rowLoops.forEach((loop, o) => {
      best[r]![o] = Math.min(best[r]![o]!, loop(passes));
    }));
  }
  for (const map of maps) map.close();
  const rows: CodecRow[] = plan.map((p, r) => ({
    ...p.row,
    storeNs: best[r]![0]!,
    loadNs: best[r]![1]!,
    ...(best[r]!.length > 2 ? { encodeNs: best[r]![2]!, decodeNs: best[r]![3]! } : {}),
  }));
  const freeze = freezeUnderWrites(cfg.mode === 'quick' ? 1 : 3, cfg.mode === 'quick' ? 50_000 : 200_000);
  log(`  codecs: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return { jsonBytes: JSON.stringify(XDS_CLUSTER).length, rows, missing: msgpackr ? [] : ['msgpackr (not installed)'], freeze };
}

/**
 * The codec alone, as the map runs it: 'json' stringifies and writes UTF-8,
 * parses from UTF-8; 'v8' serializes and deserializes; 'structured' is
 * measured only through the map (its primitives never leave it).
 */
function encodeAlone(codec: string, value: unknown, msgpackr: ValueCodec<unknown> | undefined): { bytes: number; encode?: Op; decode?: Op } {
  const out = Buffer.alloc(1 << 16);
  // The same codec as 'json''s row, measured there.
  if (codec.startsWith('json, freeze')) return { bytes: Buffer.byteLength(JSON.stringify(value)) };
  if (codec === 'json') {
    const bytes = Buffer.from(JSON.stringify(value));
    return {
      bytes: bytes.length,
      encode: () => out.write(JSON.stringify(value)),
      decode: () => JSON.parse(bytes.toString('utf8', 0, bytes.length)) as unknown,
    };
  }
  if (codec === 'v8') {
    const bytes = v8.serialize(value);
    return { bytes: bytes.length, encode: () => v8.serialize(value), decode: () => v8.deserialize(bytes) as unknown };
  }
  if (codec.startsWith('msgpackr') && msgpackr) {
    const bytes = msgpackr.encode(value);
    return { bytes: bytes.length, encode: () => msgpackr.encode(value), decode: () => msgpackr.decode(bytes) };
  }
  // 'structured': an object through its encoder and decoder; a primitive never leaves the map.
  if (typeof value === 'object' && value !== null) {
    const bytes = Buffer.from(encodeValue(value));
    return { bytes: bytes.length, encode: () => encodeValue(value), decode: () => decodeValue(bytes, 0, bytes.length) };
  }
  return { bytes: typeof value === 'number' ? (Number.isInteger(value) ? 5 : 9) : 1 + Buffer.byteLength(value as string) };
}

/** The table, in Markdown. */
export function codecTable(result: CodecResult): string {
  const f = (ns: number | undefined): string => (ns === undefined ? '' : ns < 100 ? ns.toFixed(1) : ns.toFixed(0));
  const lines = [
    `Store (overwrite of a present key) and load through a SyncMap, ${KEYS} keys, one thread; the object is an xDS-like cluster of ${result.jsonBytes} bytes as JSON. Loads read a map of their own, which the stores leave alone (values unchanged since the thread last read them: 'json, freeze: true' answers them from its read cache). encode/decode: the codec alone, outside the map.`,
    '',
    '| codec | value | bytes | store ns | load ns | encode ns | decode ns |',
    '|:---|:---|---:|---:|---:|---:|---:|',
    ...result.rows.map((r) => `| ${r.codec} | ${r.value} | ${r.bytes} | ${f(r.storeNs)} | ${f(r.loadNs)} | ${f(r.encodeNs)} | ${f(r.decodeNs)} |`),
  ];
  if (result.missing.length) lines.push('', `Not measured: ${result.missing.join(', ')}.`);
  if (result.freeze) {
    lines.push(
      '',
      `'json' with and without freeze: true under writes: ${FREEZE_KEYS.toLocaleString('en-US')} keys of the same object (each its own version), one thread, random keys, each operation a store of a new version with the given probability, else a load; best of the rounds, the two maps taking turns. "cache hits": the share of the frozen map's loads its read cache answered (a write makes its key's record stale; an epoch advance costs each other record one check by the core).`,
      '',
      '| writes | json ns/op | json, freeze ns/op | freeze / json | cache hits |',
      '|---:|---:|---:|---:|---:|',
      ...result.freeze.map((r) =>
        `| ${(r.writeShare * 100).toFixed(1)}% | ${f(r.plainNs)} | ${f(r.frozenNs)} | ${(r.frozenNs / r.plainNs).toFixed(2)}x | ${(r.frozenHitShare * 100).toFixed(0)}% |`),
    );
  }
  return `${lines.join('\n')}\n`;
}

// Run directly: this table alone, printed.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const quick = process.argv.includes('--quick');
  const result = await runCodecs({ mode: quick ? 'quick' : 'full' }, (line) => void process.stderr.write(`${line}\n`));
  process.stdout.write(`\n${codecTable(result)}`);
}
