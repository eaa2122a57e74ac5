import path from 'node:path';
import { parseArgs } from 'node:util';
import { readResultFile, writeReport } from '../report/write-report.ts';
import { userCwd } from '../scenario/load-scenario.ts';
import { isEntryPoint, runEntryPoint } from './entry-point.ts';
import { badUsage, EXIT, showUsage } from './exit-codes.ts';
import { reportError } from './report-error.ts';

export const REPORT_USAGE = `usage: npm run report -- <result.json> [...more]

  Writes <name>-<stamp>-<run id>.html beside each result file (<name>-<stamp>-<run id>.json), from the result
  alone, and prints its path.

exit codes: 0 every report written, 2 a file is missing or is not a portlab result, 3 writing failed`;

/** `npm run report -- <result.json> ...`: the HTML page of each result, regenerated from the file alone. */
export async function reportCommand(argv: string[]): Promise<number> {
  let files: string[];
  try {
    const parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: { help: { type: 'boolean', short: 'h' } } });
    if (parsed.values.help) return showUsage(REPORT_USAGE);
    files = parsed.positionals;
  } catch (error) {
    return badUsage((error as Error).message, REPORT_USAGE);
  }
  if (files.length === 0) return badUsage('name at least one result file', REPORT_USAGE);
  try {
    for (const file of files) {
      const resolved = path.resolve(userCwd(), file);
      const report = await writeReport(await readResultFile(resolved), resolved);
      process.stdout.write(`report: ${path.relative(userCwd(), report)}\n`);
    }
    return EXIT.pass;
  } catch (error) {
    return reportError(error);
  }
}

if (isEntryPoint(import.meta.url)) process.exitCode = await runEntryPoint(process.argv.slice(2), reportCommand);
