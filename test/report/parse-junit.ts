import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { expect } from 'vitest';

type Case = { '@_name': string; failure?: { '@_message': string }; error?: { '@_message': string }; skipped?: { '@_message': string } };
type Suite = { '@_name': string; '@_tests': string; '@_failures': string; '@_errors': string; '@_skipped': string; testcase: Case[] };

/** The XML as a CI system reads it: well formed, then its suites and cases (parsed by a parser portlab does not use). */
export function parseJunit(xml: string) {
  expect(XMLValidator.validate(xml)).toBe(true);
  const parsed = new XMLParser({ ignoreAttributes: false, isArray: (name) => ['testsuite', 'testcase'].includes(name) }).parse(xml) as {
    testsuites: { '@_tests': string; '@_failures': string; '@_errors': string; testsuite: Suite[] };
  };
  return parsed.testsuites;
}
