import { describe, expect, it } from 'vitest';
import { describeEnd, LAST_LINES, LastLines } from '../../orchestrator/observe/application-end.ts';

describe("how an application of the user's own ended", () => {
  it('keeps its last lines, blank ones left out', () => {
    const last = new LastLines();
    for (let index = 1; index <= LAST_LINES + 2; index++) last.add(`line ${index}`);
    last.add('   ');
    expect(last.get()).toEqual(Array.from({ length: LAST_LINES }, (_, index) => `line ${index + 3}`));
  });

  it('says its image, its exit code and its last lines in one sentence', () => {
    expect(describeEnd({ image: 'my-server:1', exitCode: 2, lastLines: ['listen: address in use', 'exiting'] })).toBe(
      'its application my-server:1 exited with code 2; its last lines: listen: address in use | exiting',
    );
    expect(describeEnd({ image: 'my-server:1', exitCode: null, lastLines: [] })).toBe(
      'its application my-server:1 exited; it printed nothing',
    );
  });
});
