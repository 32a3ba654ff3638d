/** How a metric's values read: `ratio` (0.0293 reads 2.93%), `percent`, `ms`, `seconds`, `bytes`, `count` (util/format-number.ts). */
export const METRIC_UNITS = ['ratio', 'percent', 'ms', 'seconds', 'bytes', 'count'] as const;
export type MetricUnit = (typeof METRIC_UNITS)[number];
