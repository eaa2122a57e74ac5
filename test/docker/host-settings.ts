/**
 * The tests that change a host-wide setting (nf_conntrack_max, fs.file-max) run only where the machine is declared
 * disposable: CI=true, or PORTLAB_TEST_HOST_SETTINGS=1. Elsewhere they say so and do not run; scripts/test.sh repeats
 * it in the run's last lines.
 */
export const HOST_SETTINGS_ALLOWED = process.env.CI === 'true' || process.env.PORTLAB_TEST_HOST_SETTINGS === '1';

/** The suffix of such a test's name: why it did not run, when it did not. */
export const hostSettingsNote = (setting: string) =>
  HOST_SETTINGS_ALLOWED
    ? ''
    : ` (not run: it changes ${setting} for the host; set PORTLAB_TEST_HOST_SETTINGS=1 on a machine you can spare)`;
