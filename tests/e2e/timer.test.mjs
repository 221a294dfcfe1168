// The timer trigger: every interval after the module starts, with its count, up to its limit;
// a timer whose condition does not hold fires nothing.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  assertTrackerBuilt,
  describeEvents,
  eventsNamed,
  launchBrowser,
  newVisitor,
  sleep,
  startCollector,
  waitForEvents,
  waitForQuiet,
} from './harness.mjs';

describe('timers', () => {
  let browser;
  let site;

  before(
    async () => {
      assertTrackerBuilt();
      site = await startCollector();
      browser = await launchBrowser();
    },
    { timeout: 30_000 },
  );

  after(async () => {
    await browser?.close();
    await site?.stop();
  });

  it('fires every interval with its count, up to its limit', async () => {
    const { context, page, errors } = await newVisitor(browser);
    await page.goto(`${site.base}/fixtures/timer.html`);
    await waitForEvents(site.base, (all) => eventsNamed(all, 'engaged').length >= 3, {
      what: 'three timer events',
    });
    // Past the limit: twice the interval more, and nothing else comes.
    await sleep(700);
    const stored = await waitForQuiet(site.base);

    const engaged = eventsNamed(stored, 'engaged');
    assert.deepEqual(
      engaged.map((e) => [e.params.timer_count, e.params.timer_interval_ms]),
      [
        [1, 300],
        [2, 300],
        [3, 300],
      ],
      describeEvents(stored),
    );
    const gaps = engaged.slice(1).map((e, i) => e.ts - engaged[i].ts);
    assert.ok(gaps.every((gap) => gap >= 250 && gap < 1000), `gaps ${gaps}`);
    assert.equal(eventsNamed(stored, 'timer').length, 0, describeEvents(stored));
    assert.deepEqual(errors.pageErrors, []);
    await context.close();
  });
});
