// Edges of the triggers found by a review: a browser without IntersectionObserver still runs
// the timers, an element the page removed is not kept alive by a visibility trigger, a route
// taken before consent is granted is the page the tracker starts on, a page's own wrapper of
// `History.prototype.pushState` still runs, and a config that cannot be fetched is no unhandled
// rejection in the page.

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

describe('edges of the triggers', () => {
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

  it('runs the timers of a browser without IntersectionObserver', async () => {
    const { context, page, errors } = await newVisitor(browser);
    await page.goto(`${site.base}/fixtures/no-observer.html`);
    await waitForEvents(site.base, (all) => eventsNamed(all, 'engaged').length >= 2, {
      what: 'two timer events',
    });
    const stored = await waitForQuiet(site.base);
    assert.deepEqual(
      eventsNamed(stored, 'engaged').map((e) => e.params.timer_count),
      [1, 2],
      describeEvents(stored),
    );
    assert.deepEqual(errors.pageErrors, []);
    await context.close();
  });

  it('lets the page free an element it removed after it was seen', async () => {
    const { context, page, errors } = await newVisitor(browser);
    await page.goto(`${site.base}/fixtures/visibility.html`);
    await page.waitForFunction(() => window.microfunnel.events().length > 0);
    await page.evaluate(() => {
      const card = document.createElement('div');
      card.className = 'card box';
      card.id = 'card-gone';
      document.body.prepend(card);
      window.gone = new WeakRef(card);
    });
    await page.waitForFunction(() =>
      window.microfunnel.events().some((e) => e.params.element_id === 'card-gone'),
    );
    await page.evaluate(() => document.getElementById('card-gone').remove());
    // Long enough for the observers to hear of the removal.
    await sleep(300);
    const cdp = await context.newCDPSession(page);
    await cdp.send('HeapProfiler.collectGarbage');
    await cdp.send('HeapProfiler.collectGarbage');
    assert.equal(await page.evaluate(() => window.gone.deref() === undefined), true);
    assert.deepEqual(errors.pageErrors, []);
    await context.close();
  });

  it('starts on the route the visitor is on when consent comes after a route change', async () => {
    const { context, page, errors } = await newVisitor(browser);
    await page.goto(`${site.base}/fixtures/consent-spa.html`);
    await page.waitForFunction(() => window.microfunnel);
    await page.click('#to-cart');
    await sleep(300);
    await page.click('#grant');
    await page.click('#buy');
    await waitForEvents(site.base, (all) => eventsNamed(all, 'buy').length >= 1, {
      what: 'the click after consent',
    });
    const stored = await waitForQuiet(site.base);
    const mine = stored.filter((e) => ['page_view', 'buy'].includes(e.name));
    assert.deepEqual(
      mine.map((e) => [e.name, e.page.path, e.page.title]),
      [
        ['page_view', '/spa/cart', 'Cart'],
        ['buy', '/spa/cart', 'Cart'],
      ],
      describeEvents(stored),
    );
    assert.deepEqual(errors.pageErrors, []);
    await context.close();
  });

  it(
    "keeps a page's wrapper of History.prototype.pushState made after the tracker",
    async () => {
      const { context, page, errors } = await newVisitor(browser);
      await page.goto(`${site.base}/fixtures/spa.html`);
      await page.waitForFunction(() => window.microfunnel.events().length > 0);
      const calls = await page.evaluate(() => {
        // A library loaded after the tracker (a router, an error monitor) wraps the prototype.
        let seen = 0;
        const native = History.prototype.pushState;
        History.prototype.pushState = function () {
          seen++;
          return native.apply(this, arguments);
        };
        history.pushState({ n: 1 }, '', '/spa/wrapped');
        return seen;
      });
      assert.equal(calls, 1);
      assert.equal(await page.evaluate(() => history.state.n), 1);
      // And the tracker, whose wrapper the page's calls, still sees the route.
      await waitForEvents(site.base, (all) => eventsNamed(all, 'page_view', '/spa/wrapped').length === 1, {
        what: 'the page view of the wrapped route',
      });
      assert.deepEqual(errors.pageErrors, []);
      await context.close();
    },
  );

  it('stops a timer whose limit is not a whole number', async () => {
    const { context, page } = await newVisitor(browser);
    await page.goto(`${site.base}/fixtures/timer-limits.html`);
    await waitForEvents(site.base, (all) => eventsNamed(all, 'half').length >= 2, {
      what: 'two timer events',
    });
    await sleep(600);
    const stored = await waitForQuiet(site.base);
    assert.deepEqual(
      eventsNamed(stored, 'half').map((e) => e.params.timer_count),
      [1, 2],
      describeEvents(stored),
    );
    await context.close();
  });

  it('never fires a timer whose interval is longer than a browser timer holds', async () => {
    const { context, page } = await newVisitor(browser);
    await page.goto(`${site.base}/fixtures/timer-limits.html`);
    await page.waitForFunction(() => window.microfunnel.events().length > 0);
    await sleep(1000);
    const stored = await waitForQuiet(site.base);
    assert.deepEqual(eventsNamed(stored, 'far'), [], describeEvents(stored));
    await context.close();
  });

  it('leaves no unhandled rejection in the page when the config cannot be fetched', async () => {
    const { context, page } = await newVisitor(browser);
    await page.goto(`${site.base}/fixtures/missing-config.html`);
    await page.waitForFunction(() => window.microfunnel);
    await sleep(1500);
    assert.deepEqual(await page.evaluate(() => window.rejections), []);
    await context.close();
  });
});
