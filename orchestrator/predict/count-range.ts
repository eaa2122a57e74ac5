import type { CountRange } from './prediction-schema.ts';

/** 28231 -> "28,231". */
export const formatCount = (value: number) => value.toLocaleString('en-US');

export const exactCount = (value: number): CountRange => ({ min: value, max: value });

export const addCounts = (a: CountRange, b: CountRange): CountRange => ({
  min: a.min + b.min,
  max: a.max === null || b.max === null ? null : a.max + b.max,
});

/** Whether a count lies in a range (a null max: no upper bound). */
export const inCount = (count: number, range: CountRange) => count >= range.min && (range.max === null || count <= range.max);

/** A range widened by `slack` on both sides (never below 0): what a tolerance allows. */
export const widened = (range: CountRange, slack: number): CountRange => ({
  min: Math.max(0, range.min - slack),
  max: range.max === null ? null : range.max + slack,
});

/** A count that is one of two: the least of their mins up to the most of their maxes (null: no bound). */
export const eitherCount = (a: CountRange, b: CountRange): CountRange => ({
  min: Math.min(a.min, b.min),
  max: a.max === null || b.max === null ? null : Math.max(a.max, b.max),
});

/** Up to a range's max from 0: what the kernel allows an application that decides for itself how much it asks for. */
export const upTo = (range: CountRange): CountRange => ({ min: 0, max: range.max });

/** "28,231", "1,000-1,055" or "at least 28,232": one spelling for reasoning, tables and verdicts. */
export const showCount = (range: CountRange) =>
  range.max === null
    ? `at least ${formatCount(range.min)}`
    : range.min === range.max
      ? formatCount(range.min)
      : `${formatCount(range.min)}-${formatCount(range.max)}`;
