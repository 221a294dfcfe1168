// Funnels in the page: one visitor walks the demo's checkout funnel across page loads and two
// tabs of the same site. Each step reaches the collector once, the page can react to it (a
// callback, a data-layer push, a class on <html>), and the console says where the visitor is.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  assertTrackerBuilt,
  describeEvents,
  eventsNamed,
  launchBrowser,
  startCollector,
  waitForEvents,
  waitForQuiet,
  watchErrors,
} from './harness.mjs';

const stepsOf = (events) =>
  eventsNamed(events, 'funnel_step')
    .filter((event) => event.params.funnel === 'checkout')
    .map((event) => event.params.step);

const hasStep = (step) => (events) => stepsOf(events).includes(step);

describe('the checkout funnel across page loads and two tabs', () => {
  let collector;
  let browser;
  let context;
  let tabA;
  let tabB;
  const errors = [];
  const seen = {};

  before(
    async () => {
      assertTrackerBuilt();
      collector = await startCollector();
      browser = await launchBrowser();
      // One context: both tabs share the site's storage, as two tabs of one browser do.
      context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
      tabA = await context.newPage();
      tabB = await context.newPage();
      errors.push(watchErrors(tabA), watchErrors(tabB));
      const base = collector.base;

      // Tab A lands: step 1.
      await tabA.goto(`${base}/`);
      await tabA.waitForLoadState('networkidle');
      await tabA.evaluate(() => microfunnel.flush());
      await waitForEvents(base, hasStep(1), { what: 'step 1 from tab A' });

      // Tab B opens the product page: step 2, from the state tab A saved.
      await tabB.goto(`${base}/product.html`);
      await tabB.waitForLoadState('networkidle');
      await tabB.evaluate(() => microfunnel.flush());
      await waitForEvents(base, hasStep(2), { what: 'step 2 from tab B' });

      // Tab A goes to the product page too and adds to cart: step 3. A callback that throws
      // is registered first; the one after it must still run.
      await tabA.goto(`${base}/product.html`);
      await tabA.waitForLoadState('networkidle');
      await tabA.evaluate(() => {
        window.stepsSeen = [];
        microfunnel.on('funnel_step', () => {
          throw new Error('a careless page callback');
        });
        microfunnel.on('funnel_step', (params) => window.stepsSeen.push(params.step));
      });
      await tabA.click('#add-to-cart');
      seen.callback = await tabA.evaluate(() => window.stepsSeen);
      seen.pushed = await tabA.evaluate(() =>
        window.dataLayer.filter((entry) => entry.event === 'microfunnel.funnel_step'),
      );
      seen.classAfterCart = await tabA.evaluate(() => document.documentElement.className);
      seen.explainAtCart = await tabA.evaluate(() => microfunnel.explain('checkout'));
      await tabA.evaluate(() => microfunnel.flush());
      await waitForEvents(base, hasStep(3), { what: 'step 3 from tab A' });

      // Tab B, still showing the product page it loaded before the cart, adds to cart again
      // (no second step 3: tab A already reached it) and clicks Checkout: step 4, from the
      // state tab A moved on, and the funnel completes.
      await tabB.click('#add-to-cart');
      await tabB.click('a[href="/checkout.html"] >> visible=true');
      await tabB.waitForLoadState('networkidle');
      seen.classOnCheckout = await tabB.evaluate(() => document.documentElement.className);
      seen.progressOnCheckout = await tabB.evaluate(() => microfunnel.progress());
      seen.progressInTabA = await tabA.evaluate(() => microfunnel.progress());
      await tabB.evaluate(() => microfunnel.flush());
      await waitForEvents(base, (events) => eventsNamed(events, 'funnel_complete').length > 0, {
        what: 'funnel_complete',
      });
      seen.events = await waitForQuiet(base);
    },
    { timeout: 90_000 },
  );

  after(async () => {
    await context?.close();
    await browser?.close();
    await collector?.stop();
  });

  it('sends each step once, in order, whichever tab reached it', () => {
    assert.deepEqual(stepsOf(seen.events), [1, 2, 3, 4], describeEvents(seen.events));
    assert.equal(eventsNamed(seen.events, 'funnel_complete').length, 1);
    assert.equal(eventsNamed(seen.events, 'funnel_abandon').length, 0);
    const steps = eventsNamed(seen.events, 'funnel_step');
    assert.deepEqual(
      steps.map((event) => event.page.path),
      ['/', '/product.html', '/product.html', '/product.html'],
    );
    const elapsed = steps.map((event) => event.params.elapsed_ms);
    assert.ok(
      elapsed.every((ms, i) => i === 0 || ms >= elapsed[i - 1]),
      `elapsed grows: ${elapsed}`,
    );
  });

  it('calls the page back, even after a callback that throws, and pushes to the data layer', () => {
    assert.deepEqual(seen.callback, [3]);
    assert.equal(seen.pushed.length, 1);
    assert.equal(seen.pushed[0].step, 3);
    assert.equal(seen.pushed[0].step_name, 'Add to cart');
    for (const tab of errors) assert.deepEqual(tab.pageErrors, []);
  });

  it('sets a class on <html> per step, and for completion', () => {
    assert.match(seen.classAfterCart, /\bmf-checkout-step-3\b/);
    assert.doesNotMatch(seen.classAfterCart, /\bmf-checkout-step-2\b/);
    assert.match(seen.classOnCheckout, /\bmf-checkout-step-4\b/);
    assert.match(seen.classOnCheckout, /\bmf-checkout-complete\b/);
  });

  it('explains where the funnel is and what it waits for', () => {
    assert.equal(
      seen.explainAtCart,
      '`checkout` is at step 3 of 4; it waits for click_cta where params.cta_text contains ' +
        '`checkout` (ignoring case); last: funnel `checkout` reached step 3 `Add to cart`',
    );
  });

  it('shows the same progress in both tabs', () => {
    for (const rows of [seen.progressOnCheckout, seen.progressInTabA]) {
      const row = rows.find((r) => r.funnel === 'checkout');
      assert.equal(row.step, 4);
      assert.equal(row.complete, true);
      assert.equal(row.next, null);
    }
  });
});
