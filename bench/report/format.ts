/** Number formatting shared by the console, Markdown and SVG output. */

/** 12.3M, 456k, 25.1k, 950: operations per second with an SI suffix, 3 significant digits. */
export function si(n: number): string {
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${sig(n / 1e9)}G`;
  if (abs >= 1e6) return `${sig(n / 1e6)}M`;
  if (abs >= 1e3) return `${sig(n / 1e3)}k`;
  return sig(n);
}

/** Three significant digits, no exponent. */
export function sig(n: number): string {
  if (n === 0 || !Number.isFinite(n)) return String(n);
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(n))));
  return n.toFixed(Math.min(digits, 2));
}

export function ns(n: number): string {
  return n >= 100 ? n.toFixed(0) : n.toFixed(1);
}

export function ratio(n: number): string {
  return `${n >= 10 ? n.toFixed(0) : n.toFixed(2)}x`;
}

export function bytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}

export function percent(share: number): string {
  return `${+(share * 100).toFixed(1)}%`;
}

export function count(n: number): string {
  if (n >= 1e6 && n % 1e6 === 0) return `${n / 1e6}M`;
  if (n >= 1e3 && n % 1e3 === 0) return `${n / 1e3}k`;
  return String(n);
}

/** si() for axis ticks: 10M rather than 10.0M. */
export function siTick(n: number): string {
  return si(n).replace(/(\.\d*?)0+(?=[kMG]?$)/, '$1').replace(/\.(?=[kMG]?$)/, '');
}
