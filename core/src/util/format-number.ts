import type { MetricUnit } from '../model/units.js';
import { formatDuration } from './duration.js';

/**
 * Numbers as people read them, for every renderer (the job log, Slack, Teams, the audit report).
 * A measured value such as 0.029286442329757845 reads `0.0293`; with its metric's `unit` it reads
 * `2.93%` (a ratio), `412ms`, `1.5 GB` or `12,345`. Three significant digits: enough to compare
 * with a threshold, few enough to read at a glance.
 */
export { METRIC_UNITS, type MetricUnit } from '../model/units.js';

/** `0.0293`, `12.3`, `12,345`, `1.23e-7`: three significant digits, grouped thousands, no trailing zeros. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return Number.isNaN(value) ? 'NaN' : value > 0 ? '∞' : '-∞';
  if (Number.isInteger(value)) return group(value);
  const abs = Math.abs(value);
  if (abs >= 1000) return group(Math.round(value));
  if (abs < 0.001) return trimExponent(value.toExponential(2));
  const text = value.toPrecision(3);
  // 999.96 rounds to 1.00e+3 in toPrecision: past 999 it is a whole number.
  return text.includes('e') ? group(Math.round(value)) : trimZeros(text);
}

/** A measured value in its unit; `no data` for `null`. */
export function formatMeasured(value: number | null, unit?: MetricUnit): string {
  if (value === null) return 'no data';
  switch (unit) {
    case 'ratio':
      return `${formatNumber(value * 100)}%`;
    case 'percent':
      return `${formatNumber(value)}%`;
    case 'ms':
      return formatDuration(value);
    case 'seconds':
      return formatDuration(value * 1000);
    case 'bytes':
      return formatBytes(value);
    case 'count':
      return group(Math.round(value));
    default:
      return formatNumber(value);
  }
}

/** `512 B`, `1.5 KB`, `2.34 GB` (powers of 1024, as memory is counted). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${i === 0 ? String(Math.round(v)) : formatNumber(v)} ${units[i]}`;
}

/** `1 step`, `3 steps`; `1,200 nodes`. */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${group(count)} ${count === 1 ? one : many}`;
}

function group(n: number): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: 0 });
}

function trimZeros(text: string): string {
  return text.includes('.') && !text.includes('e') ? text.replace(/\.?0+$/, '') : text;
}

function trimExponent(text: string): string {
  const [mantissa = '', exponent = ''] = text.split('e');
  return `${trimZeros(mantissa)}e${exponent.replace('+', '')}`;
}
