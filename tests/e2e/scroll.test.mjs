// Scroll depth on the element that really scrolls, and on a page that grows: the two
// faults of other trackers, each with its right value.

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

describe('scroll depth', () => {
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

  const depths = (all, query) =>
    eventsNamed(all, 'scroll_depth')
      .filter((e) => e.page.url.endsWith(query))
      .map((e) => e.params.percent_scrolled);

  it('measures a <main> that scrolls when the page does not: 1 px is not 100 %', async () => {
    const { context, page, errors } = await newVisitor(browser);
    await page.goto(`${site.base}/fixtures/scroll.html?main`);
    await waitForEvents(site.base, (all) => eventsNamed(all, 'page_view').length >= 1, { what: 'the page view' });
    // A small scrolling box is not the page.
    await page.evaluate(() => (document.getElementById('box').scrollTop = 900));
    await page.evaluate(() => (document.querySelector('main').scrollTop = 1));
    await sleep(400);
    let stored = await waitForQuiet(site.base);
    assert.deepEqual(depths(stored, '?main'), [], describeEvents(stored));

    await page.evaluate(() => {
      const main = document.querySelector('main');
      main.scrollTop = main.scrollHeight;
    });
    stored = await waitForEvents(site.base, (all) => depths(all, '?main').length >= 4, { what: 'four thresholds' });
    assert.deepEqual(depths(await waitForQuiet(site.base), '?main'), [25, 50, 75, 90]);
    assert.deepEqual(errors.pageErrors, []);
    await context.close();
  });

  it('fires nothing at load on a page that grows, and each threshold when really reached', async () => {
    const { context, page, errors } = await newVisitor(browser);
    await page.goto(`${site.base}/fixtures/scroll.html?grow`);
    await page.waitForFunction(() => document.title === 'grown');
    await sleep(500);
    let stored = await waitForQuiet(site.base);
    assert.ok(eventsNamed(stored, 'page_view').some((e) => e.page.url.endsWith('?grow')));
    assert.deepEqual(depths(stored, '?grow'), [], describeEvents(stored));

    // The bottom of the viewport at 55 % of the grown page: 25 and 50 only.
    await page.evaluate(() => {
      const root = document.scrollingElement;
      root.scrollTop = 0.55 * root.scrollHeight - root.clientHeight;
    });
    stored = await waitForEvents(site.base, (all) => depths(all, '?grow').length >= 2, { what: '25 and 50' });
    stored = await waitForQuiet(site.base);
    assert.deepEqual(depths(stored, '?grow'), [25, 50], describeEvents(stored));
    await page.evaluate(() => window.scrollTo(0, document.scrollingElement.scrollHeight));
    await waitForEvents(site.base, (all) => depths(all, '?grow').length >= 4, { what: '75 and 90' });
    assert.deepEqual(depths(await waitForQuiet(site.base), '?grow'), [25, 50, 75, 90]);
    assert.deepEqual(errors.pageErrors, []);
    await context.close();
  });
});
