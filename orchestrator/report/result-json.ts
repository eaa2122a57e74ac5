/** Marks an array of numbers for writing on one line; never in a result's own strings (a NUL). */
const ONE_LINE = '\u0000';

/**
 * A result as results/*.json holds it: indented for reading, with arrays of numbers (the series' columns) each on
 * one line, so a series of a thousand points is three lines, not three thousand.
 */
export function formatResultJson(result: unknown): string {
  const text = JSON.stringify(
    result,
    (_key, value: unknown) =>
      Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'number' || item === null)
        ? `${ONE_LINE}${JSON.stringify(value).replaceAll(',', ', ')}`
        : value,
    2,
  );
  return `${text.replace(/"\\u0000(\[[^"]*\])"/g, '$1')}\n`;
}
