// A single-page app: route changes by pushState (with the router's own replaceState), anchors,
// hash routes and the back button. Each route to another page is one virtual page view of the
// new path, every URL change is one `history_change`, and events after a route carry its page.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  assertNoneTwice,
  assertTrackerBuilt,
  describeEvents,
  eventsNamed,
  launchBrowser,
  newVisitor,
  startCollector,
  waitForEvents,
  waitForQuiet,
} from './harness.mjs';

describe('a single-page app', () => {
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

  it('counts one page view per route, however the route changed', async () => {
    const { context, page, errors } = await newVisitor(browser);
    await page.goto(`${site.base}/fixtures/spa.html`);
    await page.waitForFunction(() => window.microfunnel.events().length > 0);

    // pushState followed by the router's replaceState of the same URL: one page view.
    await page.click('#to-pricing');
    await page.waitForFunction(() => window.microfunnel.events().length >= 3);
    await page.click('#buy');
    // An anchor in the page: a history change, not a page view.
    await page.click('#to-faq');
    // A hash route: a page view.
    await page.click('#to-cart');
    // Back to the anchor: popstate and hashchange both fire; one change. The tracker compares
    // the URL once the task that changed it has ended (so that a router's pushState and
    // replaceState are one change), so the test lets it see the cart first: on a loaded
    // machine a click and a back faster than that timer are one change there and back, none.
    await page.waitForFunction(() => location.hash === '#/cart');
    await page.waitForFunction(() =>
      window.microfunnel.events().some((e) => e.name === 'history_change' && e.params.new_url.endsWith('#/cart')),
    );
    await page.goBack();

    await waitForEvents(site.base, (all) => eventsNamed(all, 'history_change').length >= 4, {
      what: 'four history changes',
    });
    const stored = await waitForQuiet(site.base);
    assertNoneTwice(stored);

    const views = eventsNamed(stored, 'page_view');
    assert.deepEqual(
      views.map((e) => [e.page.path, new URL(e.page.url).hash, e.page.title]),
      [
        ['/fixtures/spa.html', '', 'Fixture: a single-page app'],
        ['/spa/pricing', '', 'Pricing'],
        ['/spa/pricing', '#/cart', 'Pricing'],
        ['/spa/pricing', '#faq', 'Pricing'],
      ],
      describeEvents(stored),
    );
    assert.equal(new URL(views[1].page.referrer).pathname, '/fixtures/spa.html');

    const where = (url) => new URL(url).pathname + new URL(url).hash;
    const changes = eventsNamed(stored, 'history_change');
    assert.deepEqual(
      changes.map((e) => [e.params.source, where(e.params.old_url), where(e.params.new_url)]),
      [
        ['pushState', '/fixtures/spa.html', '/spa/pricing'],
        // A fragment navigation fires popstate before hashchange; the first names the change.
        ['popstate', '/spa/pricing', '/spa/pricing#faq'],
        ['popstate', '/spa/pricing#faq', '/spa/pricing#/cart'],
        ['popstate', '/spa/pricing#/cart', '/spa/pricing#faq'],
      ],
      describeEvents(stored),
    );

    // The click after the route is on the new page, so its condition on page.path held.
    const buys = eventsNamed(stored, 'buy_click');
    assert.equal(buys.length, 1, describeEvents(stored));
    assert.equal(buys[0].page.path, '/spa/pricing');

    assert.deepEqual(errors.pageErrors, []);
    assert.deepEqual(errors.consoleErrors, []);
    await context.close();
  });
});
