import path from 'node:path';
import { PROJECT_ROOT } from '../scenario/load-scenario.ts';

export const RESULTS_DIR = process.env.PORTLAB_RESULTS_DIR ? path.resolve(process.env.PORTLAB_RESULTS_DIR) : path.join(PROJECT_ROOT, 'results');

/** 2026-11-23T13:45:07.123Z -> 20261123T134507Z, safe in file names and sorted by time. */
export const fileStamp = (at: Date) => at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
