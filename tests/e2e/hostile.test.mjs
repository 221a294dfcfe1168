// A hostile page: it wraps fetch and pushState, has no sendBeacon and no
// IntersectionObserver, puts 2 MB of text in a tracked button and 10,000 tracked buttons on the
// page, and (in the second visit) makes localStorage throw as it does when storage is disabled.
// The tracker throws nothing into it, adds no global but `microfunnel`, and still delivers.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  assertTrackerBuilt,
  describeEvents,
  eventsNamed,
  launchBrowser,
  newVisitor,
  startCollector,
  waitForEvents,
  waitForQuiet,
} from './harness.mjs';

describe('a hostile page', () => {
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

  for (const storage of ['works', 'throws']) {
    it(`is unaffected and tracked when localStorage ${storage}`, async () => {
      const { context, page, errors } = await newVisitor(browser);
      await page.goto(`${site.base}/fixtures/hostile.html?storage=${storage}`);
      await page.waitForFunction(() => window.microfunnel.events().length > 0);
      await page.click('#huge');
      await page.click('#cta-9999');
      await waitForEvents(site.base, (all) => eventsNamed(all, 'click_cta').length >= 2, {
        what: 'both clicks',
      });
      const stored = await waitForQuiet(site.base);
      const clicks = eventsNamed(stored, 'click_cta');

      assert.equal(clicks.length, 2, describeEvents(stored));
      assert.equal(clicks[0].params.cta_text.length, 100, 'a 2 MB text is cut to 100 characters');
      assert.ok(clicks[0].params.cta_text.startsWith('Buy now xxx'));
      assert.equal(clicks[1].params.cta_id, 'cta-9999');
      assert.equal(eventsNamed(stored, 'page_view').length, 1, describeEvents(stored));

      const state = await page.evaluate(() => ({
        added: Object.keys(window).filter(
          (key) => key !== 'globalsBefore' && !window.globalsBefore.includes(key),
        ),
        pageFetches: window.pageFetches,
      }));
      assert.deepEqual(state.added, ['microfunnel'], 'no global but microfunnel');
      assert.ok(state.pageFetches >= 1, "the tracker's sends went through the page's fetch");
      assert.deepEqual(errors.pageErrors, []);
      assert.equal(
        errors.consoleErrors.filter((e) => e.includes('element visibility cannot be watched')).length,
        1,
        errors.consoleErrors.join('\n'),
      );
      await context.close();
      // The next visit starts from an empty collector view of this one.
      await site.stop();
      site = await startCollector();
    });
  }

  const csp = 'under a CSP without wasm-unsafe-eval: one console error, page unaffected, one report';
  it(csp, async () => {
    const { context, page, errors } = await newVisitor(browser);
    await page.goto(`${site.base}/fixtures/csp.html`);
    await waitForEvents(site.base, (all) => eventsNamed(all, 'tracking_blocked').length >= 1, {
      what: 'the first tracking_blocked',
    });
    await page.click('#count');
    assert.equal(await page.getAttribute('#count', 'data-clicks'), '1');
    assert.deepEqual(await page.evaluate(() => window.microfunnel.events()), []);
    await Promise.all([page.waitForURL(/page=2/), page.click('#next')]);
    await waitForEvents(site.base, (all) => eventsNamed(all, 'tracking_blocked').length >= 2, {
      what: 'the second tracking_blocked',
    });
    const stored = await waitForQuiet(site.base);

    const blocked = eventsNamed(stored, 'tracking_blocked');
    assert.equal(blocked.length, 2, describeEvents(stored));
    assert.deepEqual(blocked[0].params, { reason: 'csp', directive: "script-src 'wasm-unsafe-eval'" });
    assert.equal(blocked[0].site, 'csp-demo');
    assert.equal(blocked[0].client_id, 'c-blocked');
    assert.deepEqual(
      blocked.map((e) => new URL(e.page.url).search),
      ['', '?page=2'],
    );
    assert.equal(eventsNamed(stored, 'page_view').length, 0);

    assert.deepEqual(errors.pageErrors, []);
    const ours = errors.consoleErrors.filter((e) => e.includes('microfunnel:'));
    assert.equal(ours.length, 2, errors.consoleErrors.join('\n'));
    assert.ok(ours.every((e) => e.includes("add 'wasm-unsafe-eval' to its script-src")), ours.join('\n'));
    await context.close();
  });
});
