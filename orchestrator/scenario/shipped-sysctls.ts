import path from 'node:path';
import shipped from './netns-sysctls.json' with { type: 'json' };
import { PROJECT_ROOT } from '../common/project-root.ts';
import { catalogOf } from './sysctl-names.ts';

/** Written by `npm run sysctl-list` from a probe in a new network namespace; never edited by hand. */
export const SHIPPED_SYSCTLS_FILE = path.join(PROJECT_ROOT, 'orchestrator', 'scenario', 'netns-sysctls.json');

/** What a dry run checks sysctl names against: it asks no engine, so it says whose list this is. */
export const SHIPPED_SYSCTLS = catalogOf(
  shipped.names,
  `portlab's list of a new network namespace's sysctls (recorded on Linux ${shipped.kernel}; a dry run asks no engine)`,
);
