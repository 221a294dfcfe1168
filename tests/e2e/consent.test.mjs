// Consent and storage faults: while analytics storage is denied nothing is stored and nothing
// is sent; a grant starts tracking; a revocation stops it and removes what was stored; Global
// Privacy Control overrides a grant when the config honours it; and a browser whose storage is
// full still delivers every event once.

import assert from 'node:assert/strict';
import { afterEach, after, before, beforeEach, describe, it } from 'node:test';

import {
  assertNoneTwice,
  assertTrackerBuilt,
  describeEvents,
  eventsNamed,
  fetchEvents,
  launchBrowser,
  newVisitor,
  sleep,
  startCollector,
  waitForEvents,
  waitForQuiet,
} from './harness.mjs';

/** What the tracker left in the browser: its storage keys and the page's cookies. */
function traces(page) {
  return page.evaluate(() => ({
    keys: Object.keys(localStorage).filter((key) => /^(mf|microfunnel):/.test(key)),
    cookies: document.cookie,
  }));
}

describe('consent', () => {
  let browser;
  let site;

  before(
    async () => {
      assertTrackerBuilt();
      browser = await launchBrowser();
    },
    { timeout: 30_000 },
  );

  after(async () => {
    await browser?.close();
  });

  // A collector per test, so that everything it stored is that test's visitor's.
  beforeEach(async () => {
    site = await startCollector();
  });

  afterEach(async () => {
    await site?.stop();
  });

  async function open(query, prepare) {
    const visitor = await newVisitor(browser);
    if (prepare) await visitor.context.addInitScript(prepare);
    await visitor.page.goto(`${site.base}/fixtures/consent.html?${query}`);
    await visitor.page.waitForFunction(() => window.microfunnel && window.microfunnel.consent);
    return visitor;
  }

  /** Clicks the CTA `n` times and lets more than one batch wait pass. */
  async function click(page, n) {
    for (let i = 0; i < n; i++) await page.click('[data-cta]');
    await sleep(1_000);
  }

  it('stores and sends nothing while denied, and tracks from the grant on', async () => {
    const { context, page, errors } = await open('default=denied');
    await click(page, 2);
    assert.deepEqual(await fetchEvents(site.base), [], 'nothing sent while denied');
    assert.deepEqual(await traces(page), { keys: [], cookies: '' }, 'nothing stored');
    assert.equal(await page.evaluate(() => window.microfunnel.consent()), 'denied');

    const state = await page.evaluate(() =>
      window.microfunnel.consent('update', { analytics_storage: 'granted' }),
    );
    assert.equal(state, 'granted');
    await waitForEvents(site.base, (all) => eventsNamed(all, 'page_view').length === 1, {
      what: 'the page view after the grant',
    });
    await click(page, 1);
    const stored = await waitForQuiet(site.base);
    // The clicks made while denied are gone: only the one after the grant counts.
    assert.equal(eventsNamed(stored, 'click_cta').length, 1, describeEvents(stored));
    assert.equal(eventsNamed(stored, 'page_view').length, 1, describeEvents(stored));
    assert.ok((await traces(page)).keys.length > 0, 'the visitor id is stored once granted');
    assert.deepEqual(errors.pageErrors, []);
    await context.close();
  });

  it('sends one cookieless page view, with no identifier, while denied if configured', async () => {
    const { context, page, errors } = await open('default=denied&cookieless&token=s3cr3t');
    const [view] = await waitForEvents(site.base, (all) => all.length === 1, {
      what: 'the cookieless page view',
    });
    await click(page, 2);
    const denied = await waitForQuiet(site.base);
    assert.deepEqual(await traces(page), { keys: [], cookies: '' }, 'nothing stored');
    assert.equal(denied.length, 1, describeEvents(denied));
    assert.equal(view.name, 'page_view');
    assert.equal(view.client_id, 'c-cookieless');
    assert.equal(view.session_id, 's-cookieless');
    assert.match(view.page.url, /consent\.html\?default=denied&cookieless&token=s3cr3t$/);
    assert.equal(view.page.title, 'Fixture: consent');

    // A grant starts the tracker as usual, under the visitor's own id.
    await page.evaluate(() => window.microfunnel.consent('update', { analytics_storage: 'granted' }));
    await click(page, 1);
    const stored = await waitForQuiet(site.base);
    const tracked = stored.filter((event) => event.client_id !== 'c-cookieless');
    assert.equal(eventsNamed(tracked, 'page_view').length, 1, describeEvents(stored));
    assert.equal(eventsNamed(tracked, 'click_cta').length, 1, describeEvents(stored));
    assert.match(tracked[0].client_id, /^c-[a-z0-9]+$/);
    assert.deepEqual(errors.pageErrors, []);
    await context.close();
  });

  it('sends no cookieless page view after a revocation, nor to a browser that says no', async () => {
    // Granted, tracked, then revoked: the page was counted already, so no cookieless view.
    const first = await open('default=granted&cookieless');
    await waitForEvents(site.base, (all) => eventsNamed(all, 'page_view').length === 1, {
      what: 'the tracked page view',
    });
    await first.page.evaluate(() => window.microfunnel.consent('update', { analytics_storage: 'denied' }));
    await sleep(800);
    const revoked = await waitForQuiet(site.base);
    assert.equal(revoked.length, 1, describeEvents(revoked));
    assert.notEqual(revoked[0].client_id, 'c-cookieless');
    await first.context.close();

    // Global Privacy Control, honoured: nothing at all, not even a cookieless view.
    const second = await open('default=denied&cookieless&gpc', () => {
      Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true });
    });
    await sleep(1_000);
    assert.equal((await fetchEvents(site.base)).length, 1, 'nothing more was sent');
    assert.deepEqual(first.errors.pageErrors.concat(second.errors.pageErrors), []);
    await second.context.close();
  });

  it("takes the grant from a data-layer gtag('consent', 'update') command", async () => {
    const { context, page, errors } = await open('default=denied');
    await page.evaluate(() => window.gtag('consent', 'update', { analytics_storage: 'granted' }));
    await click(page, 1);
    const stored = await waitForEvents(
      site.base,
      (all) => eventsNamed(all, 'click_cta').length === 1,
      { what: 'the click after the gtag grant' },
    );
    assert.equal(eventsNamed(stored, 'page_view').length, 1, describeEvents(stored));
    assert.deepEqual(errors.pageErrors, []);
    await context.close();
  });

  it('stops and forgets the visitor when consent is revoked', async () => {
    const { context, page, errors } = await open('default=granted');
    await click(page, 1);
    await waitForEvents(site.base, (all) => eventsNamed(all, 'click_cta').length === 1, {
      what: 'the click while granted',
    });
    assert.ok((await traces(page)).keys.length > 0);

    await page.evaluate(() => window.gtag('consent', 'update', { analytics_storage: 'denied' }));
    assert.deepEqual((await traces(page)).keys, [], 'what was stored is removed');
    await click(page, 3);
    const stored = await waitForQuiet(site.base);
    assert.equal(eventsNamed(stored, 'click_cta').length, 1, describeEvents(stored));
    assert.deepEqual((await traces(page)).keys, [], 'and nothing is stored again');
    assert.deepEqual(errors.pageErrors, []);
    await context.close();
  });

  it('waits out wait_for_update_ms for an update, keeping the clicks made meanwhile', async () => {
    const { context, page, errors } = await open('default=granted&wait=3000');
    await page.click('[data-cta]');
    await sleep(500);
    assert.deepEqual(await fetchEvents(site.base), [], 'nothing sent during the wait');
    await page.evaluate(() =>
      window.microfunnel.consent('update', { analytics_storage: 'granted' }),
    );
    const stored = await waitForEvents(
      site.base,
      (all) => eventsNamed(all, 'click_cta').length === 1,
      { what: 'the click made during the wait' },
    );
    assert.equal(eventsNamed(stored, 'page_view').length, 1, describeEvents(stored));
    assert.deepEqual(errors.pageErrors, []);
    await context.close();
  });

  it('lets Global Privacy Control deny whatever the page grants, if configured', async () => {
    const { context, page, errors } = await open('default=granted&gpc', () => {
      // Chromium has no GPC setting yet; Firefox and Brave set this property.
      Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true });
    });
    await page.evaluate(() =>
      window.microfunnel.consent('update', { analytics_storage: 'granted' }),
    );
    await click(page, 2);
    assert.deepEqual(await fetchEvents(site.base), [], 'nothing sent');
    assert.deepEqual(await traces(page), { keys: [], cookies: '' }, 'nothing stored');
    assert.deepEqual(errors.pageErrors, []);
    await context.close();
  });

  it('delivers every event once when the storage is full', async () => {
    const { context, page, errors } = await open('default=granted', () => {
      // Fill this origin's localStorage for real, up to the browser's quota.
      if (sessionStorage.getItem('filled')) return;
      sessionStorage.setItem('filled', '1');
      const chunk = 'x'.repeat(256 * 1024);
      try {
        for (let i = 0; i < 1000; i++) localStorage.setItem(`filler-${i}`, chunk);
      } catch (e) {
        // QuotaExceededError: full.
      }
      let small = 'x'.repeat(1024);
      for (let i = 0; small.length > 0; i++) {
        try {
          localStorage.setItem(`small-${i}`, small);
        } catch (e) {
          small = small.slice(0, small.length >> 1);
        }
      }
    });
    const full = await page.evaluate(() => {
      try {
        localStorage.setItem('probe', 'x');
        return false;
      } catch (e) {
        return e.name;
      }
    });
    assert.equal(full, 'QuotaExceededError', 'the storage is really full');

    await click(page, 3);
    const stored = await waitForEvents(
      site.base,
      (all) => eventsNamed(all, 'click_cta').length >= 3,
      { what: 'three clicks with a full storage' },
    );
    const settled = await waitForQuiet(site.base);
    assert.equal(eventsNamed(settled, 'click_cta').length, 3, describeEvents(settled));
    assert.equal(eventsNamed(settled, 'page_view').length, 1, describeEvents(settled));
    assertNoneTwice(settled);
    assert.ok(stored.length > 0);
    assert.deepEqual(errors.pageErrors, []);
    await context.close();
  });

  it('sends no e-mail address, from the URL, a click text or anywhere else', async () => {
    const { context, page, errors } = await open('default=granted&email=jo%40shop.example');
    await page.evaluate(() => {
      document.querySelector('[data-cta]').textContent = 'Write to jo.doe+news@mail.shop.example';
    });
    await click(page, 1);
    const stored = await waitForEvents(
      site.base,
      (all) => eventsNamed(all, 'click_cta').length === 1,
      { what: 'the click' },
    );
    const text = JSON.stringify(stored);
    assert.ok(!/shop\.example/.test(text), `no address stored: ${text}`);
    const [view] = eventsNamed(stored, 'page_view');
    assert.match(view.page.url, /[?&]email=\[email\]$/);
    const [cta] = eventsNamed(stored, 'click_cta');
    assert.equal(cta.params.cta_text, 'Write to [email]');
    assert.deepEqual(errors.pageErrors, []);
    await context.close();
  });

  it('never sends what was waiting to be sent when consent is revoked', async () => {
    const { context, page, errors } = await open('default=granted');
    await waitForEvents(site.base, (all) => eventsNamed(all, 'page_view').length === 1, {
      what: 'the page view',
    });
    // Offline, the clicks' batch is held in the page; then consent goes, then the network
    // comes back.
    await context.setOffline(true);
    await click(page, 2);
    await page.evaluate(() => window.gtag('consent', 'update', { analytics_storage: 'denied' }));
    await context.setOffline(false);
    await sleep(2_000);
    const stored = await waitForQuiet(site.base);
    assert.equal(eventsNamed(stored, 'click_cta').length, 0, describeEvents(stored));
    assert.deepEqual((await traces(page)).keys, [], 'nothing left pending either');
    assert.deepEqual(errors.pageErrors, []);
    await context.close();
  });

  it('redacts an address right after a newline without breaking the batch', async () => {
    const { context, page, errors } = await open('default=granted');
    await page.evaluate(() =>
      window.dataLayer.push({ event: 'note', text: 'line\njo@shop.example\u2028x@y.io\tend' }),
    );
    const stored = await waitForEvents(site.base, (all) => eventsNamed(all, 'note').length === 1, {
      what: 'the note',
    });
    assert.equal(eventsNamed(stored, 'note')[0].params.text, 'line\n[email]\u2028[email]\tend');
    assert.deepEqual(errors.pageErrors, []);
    await context.close();
  });

  it('throws nothing into the page for a consent call it does not understand', async () => {
    const { context, page, errors } = await open('default=granted');
    const answers = await page.evaluate(() => {
      const odd = new Proxy({}, { get: () => { throw new Error('hostile'); } });
      return [
        window.microfunnel.consent(Symbol('x')),
        window.microfunnel.consent('update', odd),
        window.microfunnel.consent('update', null),
        window.microfunnel.consent('update', { analytics_storage: 'maybe' }),
      ];
    });
    assert.deepEqual(answers, ['granted', 'granted', 'granted', 'granted']);
    assert.deepEqual(errors.pageErrors, []);
    await context.close();
  });

  it('forgets an earlier grant when revoked before the tracker has started', async () => {
    const { context, page } = await open('default=granted');
    await waitForEvents(site.base, (all) => eventsNamed(all, 'page_view').length === 1, {
      what: 'the first page view',
    });
    assert.ok((await traces(page)).keys.length > 0, 'stored while granted');
    // The next page revokes before the module can start (it waits for an update).
    await page.goto(`${site.base}/fixtures/consent.html?default=granted&wait=5000`);
    await page.evaluate(() => window.gtag('consent', 'update', { analytics_storage: 'denied' }));
    assert.deepEqual((await traces(page)).keys, [], 'what the earlier page stored is removed');
    await context.close();
  });
});
