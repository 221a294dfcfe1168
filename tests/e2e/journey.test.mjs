// A visitor's whole journey through the demo shop, checked event by event at the collector:
// landing page read to 75 %, hero CTA, product video, spec-sheet download, newsletter sign-up,
// add to cart and checkout, which completes the `checkout` funnel of www/config.json.

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

const PAGE_LOADS = ['/', '/product.html', '/', '/thanks.html', '/product.html', '/checkout.html'];

// What the journey must send, by name. scroll_depth counts the landing page only: whether a page
// shorter than about four screens reports a depth on load depends on how the tracker measures it,
// so the other pages' scroll events are checked for repeats but not counted.
const EXPECTED_COUNTS = {
  add_to_cart: 1,
  click_cta: 2,
  file_download: 1,
  funnel_complete: 1,
  funnel_step: 4,
  page_view: PAGE_LOADS.length,
  scroll_depth: 3,
  subscribe_newsletter: 1,
  video_progress: 3,
  video_start: 1,
  view_item: 2,
};

describe('a visitor who reads, watches, subscribes and checks out', () => {
  let collector;
  let browser;
  let journey;

  before(
    async () => {
      assertTrackerBuilt();
      collector = await startCollector();
      browser = await launchBrowser();
      journey = await walkThroughTheShop(browser, collector.base);
    },
    { timeout: 120_000 },
  );

  after(async () => {
    await browser?.close();
    await collector?.stop();
  });

  it('delivers the journey to the collector up to funnel_complete', () => {
    assert.equal(journey.waitError, null, journey.waitError?.message);
  });

  it('counts one page_view per page load, with its path', () => {
    const paths = eventsNamed(journey.events, 'page_view').map((event) => event.page?.path);
    same(paths, PAGE_LOADS, journey.events);
  });

  it('sends the events of the journey and nothing else', () => {
    const counted = journey.events.filter(
      (event) => event.name !== 'scroll_depth' || event.page?.path === '/',
    );
    same(countByName(counted), EXPECTED_COUNTS, journey.events);
  });

  it('reports scroll depth 25, 50 and 75 once each on the landing page, and not 90', () => {
    const depths = eventsNamed(journey.events, 'scroll_depth', '/').map(param('percent_scrolled'));
    same(depths.toSorted(byNumber), [25, 50, 75], journey.events);
  });

  it('never repeats a scroll threshold within one page view', () => {
    for (const view of pageViews(journey.events)) {
      const depths = eventsNamed(view, 'scroll_depth').map(param('percent_scrolled'));
      const path = view[0].page?.path;
      assert.equal(new Set(depths).size, depths.length, `repeated depth on ${path}: ${depths}`);
      for (const depth of depths) {
        assert.ok([25, 50, 75, 90].includes(depth), `depth ${depth} on ${path} is no threshold`);
      }
    }
  });

  it('names each clicked CTA by its visible text and its link', () => {
    const clicks = eventsNamed(journey.events, 'click_cta').map((event) => ({
      path: event.page?.path,
      text: event.params?.cta_text,
      link: new URL(String(event.params?.cta_url), 'http://x').pathname,
    }));
    const expected = [
      { path: '/', text: 'Shop the Trailrunner', link: '/product.html' },
      { path: '/product.html', text: 'Checkout', link: '/checkout.html' },
    ];
    same(clicks, expected, journey.events);
  });

  it('reports the video start once and its progress to 50 %, not 75 %', () => {
    const starts = eventsNamed(journey.events, 'video_start', '/product.html');
    assert.equal(starts.length, 1, listing(journey.events));
    assert.equal(starts[0].params?.video_title, 'Trailrunner in action');

    const progress = eventsNamed(journey.events, 'video_progress', '/product.html');
    const percents = progress.map(param('video_percent'));
    same(percents.toSorted(byNumber), [10, 25, 50], journey.events);
    assert.deepEqual(eventsNamed(journey.events, 'video_complete'), []);
  });

  it('reports the spec sheet download with its file name, extension and query', () => {
    const downloads = eventsNamed(journey.events, 'file_download', '/product.html');
    assert.equal(downloads.length, 1, listing(journey.events));

    const params = downloads[0].params ?? {};
    assert.equal(params.file_extension, 'pdf');
    assert.equal(params.file_name, 'trailrunner-spec.pdf');
    assert.ok(String(params.link_url).includes('?v=3'), `link_url: ${params.link_url}`);
  });

  it('renames the newsletter form submit to subscribe_newsletter, with the form id', () => {
    const signups = eventsNamed(journey.events, 'subscribe_newsletter', '/');
    assert.equal(signups.length, 1, listing(journey.events));
    assert.equal(signups[0].params?.form_id, 'newsletter');
  });

  it('forwards data-layer pushes as events with their params', () => {
    const views = eventsNamed(journey.events, 'view_item', '/product.html');
    const carts = eventsNamed(journey.events, 'add_to_cart', '/product.html');
    const pick = (event) => ({ ...event.params });

    const viewed = { item_id: 'trailrunner-2', price: 129 };
    same(views.map(pick), [viewed, viewed], journey.events);
    same(carts.map(pick), [{ item_id: 'trailrunner-2', value: 129 }], journey.events);
  });

  it('steps through the checkout funnel in order and completes it once', () => {
    const steps = eventsNamed(journey.events, 'funnel_step').map((event) => ({
      funnel: event.params?.funnel,
      funnel_name: event.params?.funnel_name,
      step: event.params?.step,
      step_name: event.params?.step_name,
    }));
    const names = ['Landing', 'Product detail', 'Add to cart', 'Checkout'];
    const expected = names.map((stepName, index) => ({
      funnel: 'checkout',
      funnel_name: 'Checkout',
      step: index + 1,
      step_name: stepName,
    }));
    same(steps, expected, journey.events);

    const completes = eventsNamed(journey.events, 'funnel_complete');
    assert.equal(completes.length, 1, listing(journey.events));
    assert.equal(completes[0].params?.funnel, 'checkout');
    assert.equal(completes[0].params?.steps, 4);

    const order = journey.events.map((event) => event.name);
    assert.ok(order.lastIndexOf('funnel_step') < order.indexOf('funnel_complete'), 'late step');
  });

  it('counts the same checkout steps at the collector as the page sent', async () => {
    const response = await fetch(`${collector.base}/api/funnels`);
    const body = await response.text();
    assert.equal(response.status, 200, body);
    const checkout = JSON.parse(body).find((funnel) => funnel.id === 'checkout');
    assert.ok(checkout, `no checkout funnel in ${body}`);

    const reached = checkout.steps.map((step) => step.reached);
    assert.deepEqual(reached, [1, 1, 1, 1], body);
    assert.equal(checkout.completed, 1, body);

    // The page's own funnel_step events, counted per step: every step the collector counts
    // was sent by the page, and every step the page sent is counted by the collector.
    const sent = [];
    for (const event of eventsNamed(journey.events, 'funnel_step')) {
      if (event.params?.funnel !== 'checkout') continue;
      const index = event.params.step - 1;
      sent[index] = (sent[index] ?? 0) + 1;
    }
    same(Array.from(sent, (count) => count ?? 0), reached, journey.events);
    const completes = eventsNamed(journey.events, 'funnel_complete');
    const completed = completes.filter((event) => event.params?.funnel === 'checkout').length;
    assert.equal(completed, checkout.completed, body);
  });

  it('gives every event a unique id, a time, and the one client and session', () => {
    for (const event of journey.events) {
      const label = `${event.name} ${JSON.stringify(event)}`;
      assert.ok(isText(event.id), `no id: ${label}`);
      assert.ok(Number.isInteger(event.ts), `no integer ts: ${label}`);
      assert.ok(isText(event.client_id), `no client_id: ${label}`);
      assert.ok(isText(event.session_id), `no session_id: ${label}`);
      assert.equal(event.site, 'demo-shop', `wrong site: ${label}`);
    }

    const ids = journey.events.map((event) => event.id);
    const repeated = ids.filter((id, index) => ids.indexOf(id) !== index);
    assert.deepEqual(repeated, [], 'duplicate event ids');
    assert.deepEqual(distinct(journey.events, 'client_id').length, 1, 'more than one client_id');
    assert.deepEqual(distinct(journey.events, 'session_id').length, 1, 'more than one session_id');
  });

  it('shows the checkout funnel complete, 4 of 4, in microfunnel.progress()', () => {
    if (journey.progressError) throw journey.progressError;

    const row = journey.progress.find((entry) => entry?.funnel === 'checkout');
    assert.ok(row, `no checkout row in ${JSON.stringify(journey.progress)}`);
    assert.equal(row.name, 'Checkout');
    assert.equal(row.step, 4);
    assert.equal(row.steps, 4);
    assert.equal(row.step_name, 'Checkout');
    assert.equal(row.next, null);
    assert.equal(row.complete, true);
  });

  it('throws no error into any page', () => {
    assert.deepEqual(journey.errors.pageErrors, []);
  });

  it('logs no console error on any page', () => {
    assert.deepEqual(journey.errors.consoleErrors, []);
  });
});

/**
 * Walks the shop as a visitor would and returns what the collector stored, what
 * `microfunnel.progress()` answered on the checkout page, and the errors the pages showed.
 * Waits on the collector are soft: a tracker that drops events still lets the journey finish,
 * so that each assertion above can say what is missing.
 */
async function walkThroughTheShop(browser, base) {
  const { page, errors } = await newVisitor(browser);
  const journey = { events: [], errors, waitError: null, progress: [], progressError: null };

  await page.goto(`${base}/`);
  await lookAround(page);
  await scrollPastThreeQuarters(page);
  const read = { what: 'scroll_depth 75', timeoutMs: 6000 };
  await waitForEvents(base, hasScrollDepth(75), read).catch(() => {});
  await follow(page, '.hero a[data-cta] > span', '/product.html');

  await lookAround(page);
  await watchMoreThanHalfOfTheVideo(page);
  await downloadSpecSheet(page);
  await follow(page, '.site-nav a[href="/"]', '/');

  await lookAround(page);
  await page.fill('#newsletter input[type="email"]', 'runner@example.com');
  await follow(page, '#newsletter button[type="submit"]', '/thanks.html');

  await lookAround(page);
  await follow(page, '.site-nav a[href="/product.html"]', '/product.html');
  await lookAround(page);
  await page.click('#add-to-cart');
  await follow(page, '#cart-note a[data-cta]', '/checkout.html');
  await lookAround(page);

  const finished = { what: 'funnel_complete and the checkout page_view', timeoutMs: 20_000 };
  await waitForEvents(base, hasFinished, finished).catch((error) => (journey.waitError = error));
  await readProgress(page)
    .then((rows) => (journey.progress = rows))
    .catch((error) => (journey.progressError = error));

  // Leaving the page flushes whatever the tracker still queues; then wait for late batches.
  await page.goto('about:blank');
  journey.events = await waitForQuiet(base);
  await page.context().close();
  return journey;
}

/**
 * Lets the page settle the way a visitor's first glance does: the tracker has fetched its
 * config and wasm by then. Early interactions are the loader spec's business, not this one's.
 */
async function lookAround(page) {
  await page.waitForLoadState('networkidle');
}

/** Clicks `selector` and waits for the page at `path` to load. */
async function follow(page, selector, path) {
  const arrived = page.waitForURL((url) => url.pathname === path);
  await page.click(selector);
  await arrived;
}

/**
 * Scrolls the landing page in steps to a depth that reads between 75 % and 90 % however the
 * tracker measures it: as the share of the page seen, (scrollY + innerHeight) / height, or as the
 * share of the scrollable distance, scrollY / (height - innerHeight).
 */
async function scrollPastThreeQuarters(page) {
  const { height, viewport } = await page.evaluate(() => ({
    height: document.documentElement.scrollHeight,
    viewport: window.innerHeight,
  }));
  const [low, high] = [0.78, 0.87];
  const from = Math.max(low * height - viewport, low * (height - viewport));
  const to = Math.min(high * height - viewport, high * (height - viewport));
  assert.ok(from < to, `the landing page (${height} px) is too short to scroll to 75-90 %`);
  assert.ok(viewport / height < 0.25, `the landing page (${height} px) shows 25 % on load`);

  const target = Math.round((from + to) / 2);
  for (let step = 1; step <= 10; step++) {
    await page.evaluate((y) => window.scrollTo(0, y), Math.round((target * step) / 10));
    await sleep(120);
  }

  const reached = await page.evaluate(() => window.scrollY);
  assert.ok(Math.abs(reached - target) <= 2, `scrolled to ${reached} px, not ${target} px`);
}

/**
 * Plays the product video at double speed and pauses it once it passes 55 %, which is past the
 * 50 % threshold and well short of 75 %. The browser allows play() without a gesture (it is
 * started with --autoplay-policy=no-user-gesture-required).
 */
async function watchMoreThanHalfOfTheVideo(page) {
  const stoppedAt = await page.locator('video').evaluate(async (video) => {
    if (video.readyState < 1) await new Promise((ok) => (video.onloadedmetadata = ok));
    video.playbackRate = 2;
    await video.play();

    await new Promise((ok, fail) => {
      const check = () => {
        if (video.currentTime > 0.55 * video.duration) return ok(video.pause());
        if (video.paused || video.ended) return fail(new Error('the video stopped by itself'));
        requestAnimationFrame(check);
      };
      check();
    });
    return video.currentTime / video.duration;
  });
  assert.ok(stoppedAt < 0.75, `the video was paused at ${Math.round(stoppedAt * 100)} %`);
}

/**
 * Clicks the spec-sheet link and accepts the download. Chromium would show the PDF in its
 * viewer and leave the product page; the test (not the page) serves it as an attachment so the
 * visitor stays on the product page, as with a browser set to download PDFs.
 */
async function downloadSpecSheet(page) {
  const isPdf = (url) => url.pathname.endsWith('.pdf');
  await page.route(isPdf, async (route) => {
    const response = await route.fetch();
    const headers = { ...response.headers(), 'content-disposition': 'attachment' };
    await route.fulfill({ response, headers });
  });

  const downloaded = page.waitForEvent('download');
  await page.click('a[href*="trailrunner-spec.pdf"]');
  const download = await downloaded;
  assert.equal(download.suggestedFilename(), 'trailrunner-spec.pdf');

  await page.unroute(isPdf);
}

/** Asks the page's console API for funnel progress, waiting for the tracker to answer. */
async function readProgress(page, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await page.evaluate(async () => {
      const rows = await window.microfunnel?.progress?.();
      return Array.isArray(rows) ? rows : null;
    });
    if (last) return last;
    await sleep(200);
  }
  throw new Error(`microfunnel.progress() returned no array within ${timeoutMs} ms`);
}

function hasScrollDepth(percent) {
  return (events) =>
    eventsNamed(events, 'scroll_depth', '/').some((e) => e.params?.percent_scrolled === percent);
}

function hasFinished(events) {
  const complete = eventsNamed(events, 'funnel_complete').length > 0;
  return complete && eventsNamed(events, 'page_view', '/checkout.html').length > 0;
}

/** Splits events into page views: each page_view starts a new one. */
function pageViews(events) {
  const views = [];
  for (const event of events) {
    if (event.name === 'page_view' || views.length === 0) views.push([]);
    views.at(-1).push(event);
  }
  return views;
}

function countByName(events) {
  const counts = {};
  for (const event of events) counts[event.name] = (counts[event.name] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}

function param(key) {
  return (event) => event.params?.[key];
}

function distinct(events, key) {
  return [...new Set(events.map((event) => event[key]))];
}

function isText(value) {
  return typeof value === 'string' && value.length > 0;
}

function byNumber(a, b) {
  return a - b;
}

/** Asserts deep equality, showing both sides and everything the collector had. */
function same(actual, expected, events) {
  const message = `expected ${JSON.stringify(expected)}\n     got ${JSON.stringify(actual)}`;
  assert.deepEqual(actual, expected, `${message}\n${listing(events)}`);
}

function listing(events) {
  return `the collector has:\n${describeEvents(events)}`;
}
