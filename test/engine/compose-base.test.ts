import { describe, expect, it } from 'vitest';
import { loadComposeBase, stopSettingsOf } from '../../orchestrator/engine/compose-base.ts';

describe('the engine reads how services stop from compose.base.yml', () => {
  it('its stop signal and grace period, as the saved compose file states them', async () => {
    const base = await loadComposeBase();
    expect(stopSettingsOf(base['x-portlab-service'])).toEqual({ signal: 'SIGTERM', graceSeconds: 10 });
  });

  it('nothing of its own where a service states neither', () => {
    expect(stopSettingsOf({})).toBeUndefined();
  });
});
