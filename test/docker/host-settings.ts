/**
 * The tests that change a host-wide setting (nf_conntrack_max, fs.file-max), or fill most of a host-wide table that
 * everything else on the host shares (four-wide-range's 258,044 of 262,144 conntrack entries), run only where the
 * machine is declared disposable: PORTLAB_TEST_HOST_SETTINGS=1, which .ci/run sets. CI=true alone is not that: it is
 * set on every shared CI runner. Elsewhere they say so and do not run; scripts/test.sh repeats it in the run's last
 * lines.
 */
export const HOST_SETTINGS_ALLOWED = process.env.PORTLAB_TEST_HOST_SETTINGS === '1';

/** The suffix of such a test's name: why it did not run, when it did not. */
export const hostSettingsNote = (what: string) =>
  HOST_SETTINGS_ALLOWED ? '' : ` (not run: it ${what} for the host; set PORTLAB_TEST_HOST_SETTINGS=1 on a machine you can spare)`;
