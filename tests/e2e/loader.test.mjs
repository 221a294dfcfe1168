// The loader's promises, one fixture page each (www/fixtures/): a tag pasted twice counts once,
// a click before the wasm is ready is not lost, and a config with mistakes is reported by JSON
// path while its valid parts keep running.

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
  watchErrors,
} from './harness.mjs';

describe('the loader', () => {
  let collector;
  let browser;

  before(
    async () => {
      assertTrackerBuilt();
      collector = await startCollector();
      browser = await launchBrowser();
    },
    { timeout: 30_000 },
  );

  after(async () => {
    await browser?.close();
    await collector?.stop();
  });

  it('counts one page_view when the script tag is on the page twice', async () => {
    const path = '/fixtures/double-tag.html';
    const { context, page, errors } = await newVisitor(browser);

    await page.goto(`${collector.base}${path}`);
    await page.waitForLoadState('networkidle');
    await waitForEvents(collector.base, hasPageView(path), { what: `a page_view from ${path}` });

    // Leaving the page flushes anything a second copy of the tracker might still hold.
    await page.goto('about:blank');
    const events = await waitForQuiet(collector.base);
    await context.close();

    const views = eventsNamed(events, 'page_view', path);
    assert.equal(views.length, 1, `the collector has:\n${describeEvents(events)}`);
    assert.deepEqual(errors.pageErrors, []);
  });

  it('starts when the server sends the wasm without its MIME type, and says why when it is missing', async () => {
    // Streaming compilation needs `application/wasm`; a server that sends another type gets
    // the slower compile from the bytes, not a tracker that never starts. The response is
    // rewritten in the browser, as such a server would send it.
    const path = '/fixtures/inline-config.html';
    // A collector of its own: the page views here are not the other tests' to count.
    const own = await startCollector();
    const { context, page, errors } = await newVisitor(browser);
    await page.route('**/mf_bg.wasm', async (route) => {
      const response = await route.fetch();
      await route.fulfill({ response, headers: { 'content-type': 'application/octet-stream' } });
    });
    await page.goto(`${own.base}${path}`);
    await page.waitForFunction(() => window.microfunnel.events().length > 0);
    assert.deepEqual(errors.consoleErrors, []);

    // And a module that is not there at all: the console names the status and the file.
    const missing = await context.newPage();
    const missingErrors = watchErrors(missing);
    await missing.route('**/mf_bg.wasm', (route) => route.fulfill({ status: 404, body: 'gone' }));
    await missing.goto(`${own.base}${path}`);
    await missing.waitForFunction(() => window.microfunnel.explain('x') === 'microfunnel is still loading');
    await missing.waitForTimeout(500);
    await context.close();
    await own.stop();
    // The browser logs each failed download itself; ours is one line.
    const ours = missingErrors.consoleErrors.filter((line) => line.includes('microfunnel:'));
    assert.equal(ours.length, 1, missingErrors.consoleErrors.join('\n'));
    assert.match(ours[0], /could not start; the page is unaffected HTTP 404 for .*mf_bg\.wasm/);
    assert.deepEqual(errors.pageErrors, []);
    assert.deepEqual(missingErrors.pageErrors, []);
  });

  it('delivers a click made before the wasm is ready, with the config inline', async () => {
    const path = '/fixtures/inline-config.html';
    const { context, page, errors } = await newVisitor(browser);
    const served = await holdBackTrackerFiles(page, 1500);
    await page.addInitScript(noteWhenLoaderHasRun);

    await page.goto(`${collector.base}${path}`, { waitUntil: 'domcontentloaded' });
    await page.waitForFunction(() => window.__loaderHasRun === true);
    await page.click('[data-cta]');
    const clickedAt = Date.now();

    const what = `click_cta from ${path}`;
    const events = await waitForEvents(collector.base, hasClick(path), { what });
    await context.close();

    assert.ok(served.length > 0, 'the loader fetched nothing else from /dist/');
    assert.ok(clickedAt < served[0].at, `the click came after ${served[0].url} was served`);

    const clicks = eventsNamed(events, 'click_cta', path);
    assert.equal(clicks.length, 1, `the collector has:\n${describeEvents(events)}`);
    assert.equal(clicks[0].params?.cta_text, 'Claim early offer');
    assert.equal(eventsNamed(events, 'page_view', path).length, 1);
    assert.deepEqual(errors.pageErrors, []);
  });

  it('names each broken trigger by its JSON path and still counts the page view', async () => {
    const path = '/fixtures/broken-config.html';
    const { context, page, errors } = await newVisitor(browser);

    await page.goto(`${collector.base}${path}`);
    await waitForEvents(collector.base, hasPageView(path), { what: `a page_view from ${path}` });
    await context.close();

    const mentioning = (text) => errors.consoleErrors.filter((line) => line.includes(text));
    const logged = `console errors:\n${errors.consoleErrors.join('\n') || '(none)'}`;
    assert.ok(mentioning('triggers[1]').length > 0, `nothing names triggers[1]; ${logged}`);
    assert.ok(mentioning('selectr').length > 0, `nothing names the key \`selectr\`; ${logged}`);
    assert.ok(mentioning('triggers[2]').length > 0, `nothing names triggers[2]; ${logged}`);
    assert.deepEqual(mentioning('triggers[0]'), [], 'the valid trigger was reported');
    assert.deepEqual(errors.pageErrors, []);
  });
});

describe('hostile data-layer pushes', () => {
  let collector;
  let browser;

  before(
    async () => {
      assertTrackerBuilt();
      collector = await startCollector();
      browser = await launchBrowser();
    },
    { timeout: 30_000 },
  );

  after(async () => {
    await browser?.close();
    await collector?.stop();
  });

  it('neither throw into the page nor stop the tracker, and end quickly', async () => {
    const path = '/fixtures/inline-config.html';
    const { context, page, errors } = await newVisitor(browser);
    await page.goto(`${collector.base}${path}`);
    await waitForEvents(collector.base, hasPageView(path), { what: `a page_view from ${path}` });

    const took = await page.evaluate(() => {
      const started = performance.now();
      const getter = {};
      Object.defineProperty(getter, 'boom', {
        enumerable: true,
        get() {
          throw new Error('a getter that throws');
        },
      });
      const proxy = new Proxy({}, {
        ownKeys() {
          throw new Error('a proxy that throws');
        },
      });
      const looped = {};
      for (const key of ['a', 'b', 'c', 'd', 'e']) looped[key] = looped;
      const wide = Array.from({ length: 50_000 }, (_, i) => ({ i, nested: { i } }));
      for (const value of [getter, proxy, looped, wide, { event: 'x', deep: looped }]) {
        window.dataLayer.push(value);
        microfunnel.push(value);
      }
      // Thousands of throwing values: an exception that reached the module each time would
      // leave its stack a little more broken (it did, before pushes were copied in the loader).
      for (let i = 0; i < 3000; i++) window.dataLayer.push(i % 2 ? getter : proxy);
      return performance.now() - started;
    });
    await page.click('[data-cta]');
    const events = await waitForEvents(collector.base, hasClick(path), {
      what: 'a click after the hostile pushes',
    });
    const recent = await page.evaluate(() => microfunnel.events().map((event) => event.name));
    await context.close();

    assert.ok(took < 3000, `the pushes took ${took} ms`);
    assert.equal(eventsNamed(events, 'click_cta', path).length, 1, describeEvents(events));
    assert.ok(recent.includes('click_cta'), `events(): ${recent}`);
    assert.deepEqual(errors.pageErrors, []);
  });
});

/**
 * Delays every file the loader fetches from /dist/ after itself (the wasm-bindgen glue and the
 * wasm), so the tracker cannot be ready for `delayMs`. Returns the list of files served, with
 * the time each was let through.
 */
async function holdBackTrackerFiles(page, delayMs) {
  const served = [];
  const isTrackerFile = (url) =>
    url.pathname.startsWith('/dist/') && !url.pathname.endsWith('/microfunnel.js');

  await page.route(isTrackerFile, async (route) => {
    await new Promise((done) => setTimeout(done, delayMs));
    served.push({ url: route.request().url(), at: Date.now() });
    await route.fulfill({ response: await route.fetch() });
  });
  return served;
}

/** Runs in the page before its own scripts: flags when the loader script has executed. */
function noteWhenLoaderHasRun() {
  const onLoad = (event) => {
    const src = event.target?.src ?? '';
    if (src.endsWith('/dist/microfunnel.js')) window.__loaderHasRun = true;
  };
  // A script's load event fires right after it ran; it does not bubble, so listen in capture.
  document.addEventListener('load', onLoad, true);
}

function hasPageView(path) {
  return (events) => eventsNamed(events, 'page_view', path).length > 0;
}

function hasClick(path) {
  return (events) =>
    eventsNamed(events, 'click_cta', path).length > 0 &&
    eventsNamed(events, 'page_view', path).length > 0;
}
