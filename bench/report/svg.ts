/**
 * Charts as plain SVG, written by the bench itself (no chart library): line
 * charts with linear or log axes, composed into panels. Text uses a generic
 * sans-serif font so that the files render the same on GitHub and locally.
 */

export interface Series {
  name: string;
  color: string;
  dash?: boolean;
  points: [x: number, y: number][];
}

export interface Axis {
  label: string;
  log?: boolean;
  /** Tick positions; for the x axis also the domain. */
  ticks?: number[];
  format?: (v: number) => string;
}

export interface Panel {
  title: string;
  x: Axis;
  y: Axis;
  series: Series[];
}

const W = 420; // one panel
const H = 300;
const M = { left: 64, right: 16, top: 32, bottom: 44 };
const FONT = 'font-family="Helvetica, Arial, sans-serif"';

/** A qualitative palette that stays readable on white. */
export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf', '#7f7f7f'];

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function scale(axis: Axis, min: number, max: number, from: number, to: number): (v: number) => number {
  const f = axis.log ? Math.log10 : (v: number) => v;
  const a = f(min);
  const b = f(max);
  return (v) => (b === a ? (from + to) / 2 : from + ((f(v) - a) / (b - a)) * (to - from));
}

function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) ticks.push(10 ** e);
  return ticks;
}

function linearTicks(min: number, max: number): number[] {
  const span = max - min || 1;
  const step = 10 ** Math.floor(Math.log10(span / 4));
  const nice = [1, 2, 5, 10].map((m) => m * step).find((s) => span / s <= 6) ?? step * 10;
  const ticks: number[] = [];
  for (let t = Math.ceil(min / nice) * nice; t <= max + 1e-9; t += nice) ticks.push(+t.toPrecision(12));
  return ticks;
}

function panel(p: Panel, ox: number, oy: number): string {
  const all = p.series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y) && (!p.y.log || y > 0));
  const xs = p.x.ticks ?? all.map(([x]) => x);
  let xMin = Math.min(...xs);
  let xMax = Math.max(...xs);
  if (xMin === xMax) {
    xMin -= 1;
    xMax += 1;
  }
  let yMin = p.y.log ? Math.min(...all.map(([, y]) => y)) : 0;
  let yMax = Math.max(...all.map(([, y]) => y), 0);
  if (p.y.log) {
    yMin = 10 ** Math.floor(Math.log10(yMin || 1));
    yMax = 10 ** Math.ceil(Math.log10(yMax || 10));
  } else {
    yMax = yMax * 1.08 || 1;
  }
  const sx = scale(p.x, xMin, xMax, ox + M.left, ox + W - M.right);
  const sy = scale(p.y, yMin, yMax, oy + H - M.bottom, oy + M.top);
  const fx = p.x.format ?? String;
  const fy = p.y.format ?? String;
  const out: string[] = [];
  out.push(`<text x="${ox + W / 2}" y="${oy + 18}" text-anchor="middle" font-size="13" font-weight="bold" ${FONT}>${escape(p.title)}</text>`);
  const yTicks = p.y.ticks ?? (p.y.log ? logTicks(yMin, yMax) : linearTicks(yMin, yMax));
  for (const t of yTicks) {
    if (t < yMin || t > yMax) continue;
    const y = sy(t).toFixed(1);
    out.push(`<line x1="${ox + M.left}" x2="${ox + W - M.right}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${ox + M.left - 6}" y="${y}" dy="4" text-anchor="end" font-size="11" ${FONT}>${escape(fy(t))}</text>`);
  }
  for (const t of xs.filter((v, i, a) => a.indexOf(v) === i)) {
    const x = sx(t).toFixed(1);
    out.push(`<line x1="${x}" x2="${x}" y1="${oy + M.top}" y2="${oy + H - M.bottom}" stroke="#f0f0f0"/>`);
    out.push(`<text x="${x}" y="${oy + H - M.bottom + 16}" text-anchor="middle" font-size="11" ${FONT}>${escape(fx(t))}</text>`);
  }
  out.push(
    `<rect x="${ox + M.left}" y="${oy + M.top}" width="${W - M.left - M.right}" height="${H - M.top - M.bottom}" fill="none" stroke="#999"/>`,
  );
  out.push(`<text x="${ox + (M.left + W - M.right) / 2}" y="${oy + H - 8}" text-anchor="middle" font-size="11" ${FONT}>${escape(p.x.label)}</text>`);
  out.push(
    `<text transform="translate(${ox + 14},${oy + (M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle" font-size="11" ${FONT}>${escape(p.y.label)}</text>`,
  );
  for (const s of p.series) {
    const pts = s.points.filter(([, y]) => Number.isFinite(y) && (!p.y.log || y > 0)).map(([x, y]) => [sx(x), sy(y)] as const);
    if (pts.length > 1) {
      const d = pts.map(([x, y], i) => `${i ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`).join('');
      out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dash ? ' stroke-dasharray="6,4"' : ''}/>`);
    }
    for (const [x, y] of pts) out.push(`<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="3" fill="${s.color}"/>`);
  }
  return out.join('\n');
}

/** Panels in a row (wrapping after `columns`), one shared legend below, a caption on top. */
export function chart(caption: string, panels: Panel[], columns = panels.length): string {
  const rows = Math.ceil(panels.length / columns);
  const legend = new Map<string, Series>();
  for (const p of panels) for (const s of p.series) if (!legend.has(s.name)) legend.set(s.name, s);
  const perRow = Math.max(1, Math.floor((columns * W - 40) / 230));
  const legendRows = Math.ceil(legend.size / perRow);
  const width = columns * W;
  const top = 30;
  const height = top + rows * H + legendRows * 20 + 16;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`);
  out.push(`<rect width="100%" height="100%" fill="white"/>`);
  out.push(`<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" ${FONT}>${escape(caption)}</text>`);
  panels.forEach((p, i) => out.push(panel(p, (i % columns) * W, top + Math.floor(i / columns) * H)));
  [...legend.values()].forEach((s, i) => {
    const x = 40 + (i % perRow) * 230;
    const y = top + rows * H + 14 + Math.floor(i / perRow) * 20;
    out.push(`<line x1="${x}" x2="${x + 26}" y1="${y - 4}" y2="${y - 4}" stroke="${s.color}" stroke-width="2"${s.dash ? ' stroke-dasharray="6,4"' : ''}/>`);
    out.push(`<text x="${x + 32}" y="${y}" font-size="11" ${FONT}>${escape(s.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
