import type { CountRange } from './prediction-schema.ts';

/** 28231 -> "28,231". */
export const formatCount = (value: number) => value.toLocaleString('en-US');

export const exactCount = (value: number): CountRange => ({ min: value, max: value });

export const addCounts = (a: CountRange, b: CountRange): CountRange => ({
  min: a.min + b.min,
  max: a.max === null || b.max === null ? null : a.max + b.max,
});

/** "28,231", "1,000-1,055" or "at least 28,232": one spelling for reasoning, tables and verdicts. */
export const showCount = (range: CountRange) =>
  range.max === null
    ? `at least ${formatCount(range.min)}`
    : range.min === range.max
      ? formatCount(range.min)
      : `${formatCount(range.min)}-${formatCount(range.max)}`;
