import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../common/project-root.ts';
import { ComposeBase } from '../compile/compose-schema.ts';

export const COMPOSE_BASE_FILE = path.join(PROJECT_ROOT, 'compose.base.yml');

export async function loadComposeBase(file = COMPOSE_BASE_FILE): Promise<ComposeBase> {
  return ComposeBase.parse(parse(await readFile(file, 'utf8')));
}
