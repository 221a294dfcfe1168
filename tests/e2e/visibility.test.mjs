// Elements seen: a visibility trigger per policy (once per page, once per element, every
// time), a minimum percent on screen for a minimum time without a break, and an element added by
// script after load that is only later scrolled into view.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  assertNoneTwice,
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

describe('element visibility', () => {
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

  it('fires as each trigger says, after the time on screen, for elements added later too', async () => {
    const { context, page, errors } = await newVisitor(browser);
    const show = (selector) =>
      page.evaluate((s) => document.querySelector(s).scrollIntoView({ block: 'center' }), selector);

    await page.goto(`${site.base}/fixtures/visibility.html`);
    // The banner is on screen at load: every_time, no minimum time.
    await waitForEvents(site.base, (all) => eventsNamed(all, 'banner_seen').length === 1, {
      what: 'the banner seen at load',
    });

    // Pricing needs 500 ms at 50 %: a glimpse of 150 ms is not enough.
    await show('#pricing');
    await sleep(150);
    await show('#banner');
    await sleep(300);
    await show('#pricing');
    await sleep(900);

    // Each card once, however often it comes back.
    await show('#card-1');
    await sleep(300);
    await show('#banner');
    await sleep(300);
    await show('#card-2');
    await sleep(300);
    await show('#card-1');
    await sleep(300);

    // The block added after load, seen for 1 s without a break.
    await page.waitForSelector('#late', { state: 'attached' });
    await show('#late');
    await sleep(400);
    await show('#card-2');
    await sleep(300);
    const backAt = await page.evaluate(() => Date.now());
    await show('#late');
    await sleep(1400);

    await waitForEvents(site.base, (all) => eventsNamed(all, 'late_seen').length >= 1, {
      what: 'the late block seen',
    });
    const stored = await waitForQuiet(site.base);
    assertNoneTwice(stored);

    // The banner came back into view twice after load (each time pricing or a card left it).
    assert.equal(eventsNamed(stored, 'banner_seen').length, 3, describeEvents(stored));
    const pricing = eventsNamed(stored, 'pricing_seen');
    assert.equal(pricing.length, 1, describeEvents(stored));
    assert.equal(pricing[0].params.element_id, 'pricing');
    assert.equal(pricing[0].params.element_text, 'Plans and prices');
    assert.equal(pricing[0].params.percent_visible, 50);
    assert.deepEqual(
      eventsNamed(stored, 'card_seen').map((e) => e.params.element_id),
      ['card-1', 'card-2'],
      describeEvents(stored),
    );
    const late = eventsNamed(stored, 'late_seen');
    assert.equal(late.length, 1, describeEvents(stored));
    // Not the 400 ms glimpse: a full second after it came back.
    assert.ok(late[0].ts >= backAt + 950, `seen at ${late[0].ts - backAt} ms after coming back`);

    // Pricing was on screen 900 ms after the glimpse; the event came once its 500 ms were up.
    const shown = stored.find((e) => e.name === 'pricing_seen');
    assert.ok(shown.ts > eventsNamed(stored, 'banner_seen')[1].ts, describeEvents(stored));

    assert.deepEqual(errors.pageErrors, []);
    assert.deepEqual(errors.consoleErrors, []);
    await context.close();
  });
});
