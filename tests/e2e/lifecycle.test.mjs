// DOM ready and window loaded: each once per page load, in that order, after the page view,
// whether the tag runs before the DOM is ready or only after the window has loaded.

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

describe('DOM ready and window loaded', () => {
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

  for (const when of ['early', 'late']) {
    it(`fires each once, in order, with the tag run ${when}`, async () => {
      const { context, page, errors } = await newVisitor(browser);
      const seen = (all) => all.filter((e) => e.page.url.endsWith(`?${when}`));
      await page.goto(`${site.base}/fixtures/lifecycle.html?${when}`);
      await waitForEvents(site.base, (all) => eventsNamed(seen(all), 'window_loaded').length >= 1, {
        what: 'window_loaded',
      });
      const stored = seen(await waitForQuiet(site.base));
      assert.deepEqual(
        stored.map((e) => e.name),
        ['page_view', 'dom_ready', 'window_loaded'],
        describeEvents(stored),
      );
      assert.deepEqual(errors.pageErrors, []);
      await context.close();
    });
  }

  it('fires both at the grant on a page that waits for consent, after they happened', async () => {
    const { context, page, errors } = await newVisitor(browser);
    const seen = (all) => all.filter((e) => e.page.url.endsWith('?consent'));
    await page.goto(`${site.base}/fixtures/lifecycle.html?consent`);
    await page.waitForFunction(() => document.readyState === 'complete' && window.microfunnel);
    await page.waitForTimeout(300);
    assert.deepEqual(seen(await waitForQuiet(site.base)), []);
    await page.evaluate(() => window.microfunnel.consent('update', { analytics_storage: 'granted' }));
    await waitForEvents(site.base, (all) => eventsNamed(seen(all), 'window_loaded').length >= 1, {
      what: 'window_loaded after the grant',
    });
    const stored = seen(await waitForQuiet(site.base));
    assert.deepEqual(stored.map((e) => e.name), ['page_view', 'dom_ready', 'window_loaded'], describeEvents(stored));
    assert.deepEqual(errors.pageErrors, []);
    await context.close();
  });
});
