/**
 * Reads what a host needs to link a module from its binary: the signature of
 * every import, its own memories' limits and its exports. (The JS API reports
 * imports without their types, so the emulator checks signatures from here.)
 * Only the sections involved are decoded; the rest are skipped by size.
 */

export type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128' | 'funcref' | 'externref';

export interface FuncType {
  params: ValType[];
  results: ValType[];
}

export interface Limits {
  min: number;
  max: number | undefined;
  shared: boolean;
  flags: number;
}

export type ImportDesc =
  | { kind: 'function'; type: FuncType }
  | { kind: 'table' }
  | { kind: 'memory'; limits: Limits }
  | { kind: 'global' }
  | { kind: 'tag' };

export interface ModuleImport {
  module: string;
  name: string;
  desc: ImportDesc;
}

export interface ModuleExport {
  name: string;
  kind: 'function' | 'table' | 'memory' | 'global' | 'tag';
  index: number;
}

export interface ModuleInfo {
  types: FuncType[];
  imports: ModuleImport[];
  /** Signatures of the module's own functions (after the imported ones). */
  functions: FuncType[];
  memories: Limits[];
  exports: ModuleExport[];
}

const VALTYPES: Record<number, ValType> = {
  0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128', 0x70: 'funcref', 0x6f: 'externref',
};
const EXPORT_KINDS = ['function', 'table', 'memory', 'global', 'tag'] as const;

class Reader {
  at = 0;
  constructor(readonly bytes: Uint8Array) {}

  byte(): number {
    if (this.at >= this.bytes.length) throw new Error('wasm binary: unexpected end');
    return this.bytes[this.at++]!;
  }

  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) return result;
      shift += 7;
      if (shift > 35) throw new Error('wasm binary: LEB128 too long');
    }
  }

  name(): string {
    const len = this.u32();
    const text = new TextDecoder('utf-8', { fatal: true }).decode(this.bytes.subarray(this.at, this.at + len));
    this.at += len;
    return text;
  }

  valtype(): ValType {
    const b = this.byte();
    const t = VALTYPES[b];
    if (!t) throw new Error(`wasm binary: unknown value type 0x${b.toString(16)}`);
    return t;
  }

  limits(): Limits {
    const flags = this.byte();
    if (flags & ~0x07) throw new Error(`wasm binary: invalid limits flags 0x${flags.toString(16)}`);
    const min = this.u32();
    const max = flags & 1 ? this.u32() : undefined;
    return { min, max, shared: (flags & 2) !== 0, flags };
  }
}

export function readModule(bytes: Uint8Array): ModuleInfo {
  const r = new Reader(bytes);
  const magic = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  for (const b of magic) if (r.byte() !== b) throw new Error('wasm binary: bad magic or version');
  const info: ModuleInfo = { types: [], imports: [], functions: [], memories: [], exports: [] };
  while (r.at < bytes.length) {
    const id = r.byte();
    const size = r.u32();
    const end = r.at + size;
    if (id === 1) {
      for (let n = r.u32(); n > 0; n--) {
        if (r.byte() !== 0x60) throw new Error('wasm binary: expected a function type');
        const params = Array.from({ length: r.u32() }, () => r.valtype());
        const results = Array.from({ length: r.u32() }, () => r.valtype());
        info.types.push({ params, results });
      }
    } else if (id === 2) {
      for (let n = r.u32(); n > 0; n--) {
        const module = r.name();
        const name = r.name();
        const kind = r.byte();
        let desc: ImportDesc;
        if (kind === 0) {
          const type = info.types[r.u32()];
          if (!type) throw new Error('wasm binary: import of an unknown type');
          desc = { kind: 'function', type };
        } else if (kind === 1) {
          r.byte();
          r.limits();
          desc = { kind: 'table' };
        } else if (kind === 2) {
          desc = { kind: 'memory', limits: r.limits() };
        } else if (kind === 3) {
          r.valtype();
          r.byte();
          desc = { kind: 'global' };
        } else if (kind === 4) {
          r.byte();
          r.u32();
          desc = { kind: 'tag' };
        } else {
          throw new Error(`wasm binary: unknown import kind ${kind}`);
        }
        info.imports.push({ module, name, desc });
      }
    } else if (id === 3) {
      for (let n = r.u32(); n > 0; n--) {
        const type = info.types[r.u32()];
        if (!type) throw new Error('wasm binary: function of an unknown type');
        info.functions.push(type);
      }
    } else if (id === 5) {
      for (let n = r.u32(); n > 0; n--) info.memories.push(r.limits());
    } else if (id === 7) {
      for (let n = r.u32(); n > 0; n--) {
        const name = r.name();
        const kind = EXPORT_KINDS[r.byte()];
        if (!kind) throw new Error('wasm binary: unknown export kind');
        info.exports.push({ name, kind, index: r.u32() });
      }
    }
    r.at = end;
  }
  return info;
}

/** The signature of an exported function, or undefined. */
export function exportedFunctionType(info: ModuleInfo, name: string): FuncType | undefined {
  const e = info.exports.find((x) => x.name === name && x.kind === 'function');
  if (!e) return undefined;
  const imported = info.imports.filter((i) => i.desc.kind === 'function');
  if (e.index < imported.length) {
    const desc = imported[e.index]!.desc;
    return desc.kind === 'function' ? desc.type : undefined;
  }
  return info.functions[e.index - imported.length];
}

export function signature(t: FuncType): string {
  return `(${t.params.join(', ')}) -> (${t.results.join(', ')})`;
}
