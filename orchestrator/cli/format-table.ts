/** A plain left-aligned text table; numbers are right-aligned. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  // A column of counts (digits, separators, ranges) is right-aligned; "-" alone does not make a column numeric.
  const numeric = header.map(
    (_, column) => rows.some((row) => /\d/.test(row[column] ?? '')) && rows.every((row) => /^[\d,.\-–%> ]+$/.test(row[column] ?? '')),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (numeric[column] ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
