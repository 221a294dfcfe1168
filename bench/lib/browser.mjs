// The in-browser scenarios: start-up, the scripted journey, per-event cost and memory.
// Each runs in a fresh browser context (no cache, no storage) of one headless Chromium.
import { chromium } from 'playwright-core';
import { quantile } from './stats.mjs';

const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
  // No tracker reaches anything but the benchmark's own server: every other host fails to
  // resolve at once (and is counted, see `external`).
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
  // Throttling of timers in background pages would make runs depend on focus.
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
];

export function launch(executablePath) {
  return chromium.launch({ executablePath, args: ARGS });
}

async function visitor(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const page = await context.newPage();
  const external = [];
  page.on('requestfailed', (request) => {
    if (!request.url().startsWith('http://127.0.0.1')) external.push(request.url());
  });
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  // microfunnel reports every problem of its config on the console, one line per JSON path;
  // the run refuses figures measured with a configuration that was only partly loaded.
  const configErrors = [];
  page.on('console', (message) => {
    const text = message.text();
    if (message.type() === 'error' && text.startsWith('microfunnel: ')) configErrors.push(text);
  });
  return { context, page, external, errors, configErrors };
}

async function waitReady(page, timeoutMs = 15_000) {
  await page.waitForFunction(() => window.__bench && window.__bench.readyAt > 0, null, {
    timeout: timeoutMs,
    polling: 5,
  });
}

/** How many of the ten early clicks reached the tracker's collector. */
function earlyTracked(received) {
  const found = new Set();
  for (const { body } of received) {
    for (const match of body.matchAll(/[Ee]arly[-_ ](\d)/g)) found.add(match[1]);
  }
  return found.size;
}

/**
 * Start-up: a cold page load of the home page; from the tag to ready, the WebAssembly compile
 * and instantiate within it, the tracker's long tasks, and how many of ten clicks made during
 * the first 400 ms reached its collector.
 */
export async function startup(browser, site, tracker) {
  const { context, page, external, errors, configErrors } = await visitor(browser);
  try {
    const before = site.received.length;
    await page.goto(`${site.origin}/?early=1`, { waitUntil: 'load' });
    if (tracker === 'none') {
      await page.waitForTimeout(500);
      return { errors, external };
    }
    await waitReady(page);
    const measured = await page.evaluate(() => {
      const b = window.__bench;
      return {
        readyMs: b.readyAt - b.tag,
        compileMs: b.wasm.compileMs,
        longTaskMs: b.longTasks.reduce((sum, d) => sum + d, 0),
      };
    });
    // Long enough for every tracker's batching (microfunnel 2 s, posthog 3 s), then leave the
    // page so that what is still queued goes out as on a real visit.
    await page.waitForTimeout(3500);
    await page.goto('about:blank');
    await page.waitForTimeout(500);
    const early = earlyTracked(site.received.slice(before));
    return { ...measured, early, errors, external, configErrors };
  } finally {
    await context.close();
  }
}

const METRICS = ['ScriptDuration', 'TaskDuration', 'JSHeapUsedSize', 'LayoutDuration'];

async function metrics(cdp) {
  const { metrics } = await cdp.send('Performance.getMetrics');
  const out = {};
  for (const { name, value } of metrics) if (METRICS.includes(name)) out[name] = value;
  return out;
}

/**
 * The journey: five rounds through the demo shop (home, product, pricing, checkout, the
 * newsletter), each with scrolling, clicks on text, buttons and links, video plays and page
 * changes; about 300 inputs and 25 page loads in all. Returns the main-thread time summed over
 * every page, long tasks and interaction timings.
 */
export async function journey(browser, site, { rounds = 5 } = {}) {
  const { context, page, external, errors } = await visitor(browser);
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable', { timeDomain: 'threadTicks' });
  const totals = { script: 0, task: 0, layout: 0, longTasks: [], interactions: [], inputs: 0 };
  let last = null;

  // DevTools' counters belong to the page's document and start again on each load; they are
  // read before each page change and summed.
  async function leave() {
    const now = await metrics(cdp);
    const stats = await page.evaluate(() => ({
      longTasks: window.__bench.longTasks,
      interactions: Object.values(window.__bench.interactions),
    }));
    totals.script += now.ScriptDuration;
    totals.task += now.TaskDuration;
    totals.layout += now.LayoutDuration;
    totals.longTasks.push(...stats.longTasks);
    totals.interactions.push(...stats.interactions);
    last = now;
  }
  async function go(action) {
    await leave();
    await Promise.all([page.waitForEvent('load'), action()]);
  }
  async function clickText(selectors) {
    for (const selector of selectors) {
      // A selector that matches nothing is a broken journey, not a shorter one: it would make
      // the trackers' journeys differ.
      const target = page.locator(selector).first();
      const box = (await target.count()) ? await target.boundingBox() : null;
      if (!box) throw new Error(`journey: no visible \`${selector}\` on ${page.url()}`);
      await page.mouse.click(box.x + 5, box.y + box.height / 2);
      totals.inputs++;
    }
  }
  async function scroll(steps, dy) {
    for (let i = 0; i < steps; i++) {
      await page.mouse.wheel(0, dy);
      await page.waitForTimeout(16);
      totals.inputs++;
    }
  }

  const textHome = ['h1', '.lead', '.eyebrow', 'h2', '.features li', 'blockquote', 'dt', 'dd'];
  const textProduct = ['h1', '.price', '.eyebrow', 'p', 'dt', 'dd'];
  try {
    await page.goto(`${site.origin}/`, { waitUntil: 'load' });
    for (let round = 0; round < rounds; round++) {
      await page.mouse.move(640, 360);
      await clickText(textHome);
      await scroll(24, 300);
      await clickText(textHome);
      await scroll(24, -300);
      await clickText(['.lead', 'h1']);
      await go(() => page.locator('.hero [data-cta] span').click());
      totals.inputs++;

      // Product: the video, text, add to cart twice.
      await clickText(textProduct);
      await page.locator('video').evaluate((video) => video.play());
      await page.waitForTimeout(400);
      await page.locator('video').evaluate((video) => video.pause());
      await page.locator('video').evaluate((video) => {
        video.currentTime = 0;
        return video.play();
      });
      await page.waitForTimeout(300);
      await page.locator('video').evaluate((video) => video.pause());
      totals.inputs += 4;
      await page.locator('#add-to-cart').click();
      await page.locator('#add-to-cart').click();
      totals.inputs += 2;
      await scroll(8, 200);
      await clickText(textProduct);
      await go(() => page.locator('.site-nav a[href="/pricing.html"]').click());
      totals.inputs++;

      // Pricing, then checkout through a plan's button.
      // Text inside `main` only: the first `li` of the page is the nav's link home.
      await clickText(['h1', 'h2', 'main p', 'main li']);
      await scroll(8, 200);
      await clickText(['h1', 'h2', 'main p', 'main li']);
      await go(() => page.locator('a[href="/checkout.html?plan=club"]').click());
      totals.inputs++;

      await clickText(['h1', 'th', 'td']);
      await page.locator('#place-order').click();
      totals.inputs++;
      await clickText(['h1', 'main p']);
      await go(() => page.locator('.site-nav a[href="/"]').click());
      totals.inputs++;

      // The newsletter form, then back home from the thank-you page.
      await page.locator('#newsletter-email').fill(`runner${round}@example.com`);
      await go(() => page.locator('#newsletter button[type=submit]').click());
      totals.inputs += 2;
      await clickText(['h1', 'main p']);
      await go(() => page.locator('.site-nav a[href="/"]').click());
      totals.inputs++;
    }
    await leave();
    const interactions = totals.interactions;
    return {
      scriptMs: totals.script * 1000,
      taskMs: totals.task * 1000,
      layoutMs: totals.layout * 1000,
      longTasks: totals.longTasks.length,
      longTaskMs: totals.longTasks.reduce((sum, d) => sum + d, 0),
      slowInteractions: interactions.length,
      inpMs: interactions.length ? quantile(interactions, 0.98) : 0,
      inputs: totals.inputs,
      heapBytes: last.JSHeapUsedSize,
      errors,
      external,
    };
  } finally {
    await context.close();
  }
}

/**
 * Per event: the time of each `dispatchEvent` (and data-layer push) on the product page, which
 * includes every tracker listener that runs synchronously for it, so for microfunnel the whole
 * path from the DOM event to the event in the send queue. `count` events in the journey's mix.
 * With `profile`, a CPU profile of the loop is taken and returned.
 */
export async function perEvent(browser, site, tracker, { count = 5000, profile = false } = {}) {
  const { context, page, errors } = await visitor(browser);
  try {
    await page.goto(`${site.origin}/product.html`, { waitUntil: 'load' });
    if (tracker !== 'none') await waitReady(page);
    await page.waitForTimeout(300);
    // Some trackers navigate by themselves after a tracked link click (Segment's `trackLink`
    // cancels the click, sends, then sets `location.href`). A 204 answer to a navigation
    // leaves the page where it is, so every tracker stays on the product page to the end. Only
    // pages and the PDF are routed: a routed request goes through Playwright, which would slow
    // the trackers' own requests (and hold up keep-alive fetches, which share a small quota).
    await page.route(/\.(html|pdf)(\?|$)/, (route) =>
      route.request().isNavigationRequest() ? route.fulfill({ status: 204 }) : route.fallback(),
    );
    const cdp = await context.newCDPSession(page);
    if (profile) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 20 });
      await cdp.send('Profiler.start');
    }
    const result = await page.evaluate(loop, count);
    let cpu = null;
    if (profile) cpu = (await cdp.send('Profiler.stop')).profile;
    await cdp.send('HeapProfiler.enable');
    await cdp.send('HeapProfiler.collectGarbage');
    await cdp.send('Performance.enable');
    const heap = (await metrics(cdp)).JSHeapUsedSize;
    const after = await page.evaluate(() => {
      const mf = window.microfunnel;
      const memory = window.__bench.wasm.memory;
      return {
        wasmBytes: memory ? memory.buffer.byteLength : 0,
        queued: mf && mf.queue ? mf.queue() : null,
        recent: mf && mf.events ? mf.events().length : null,
      };
    });
    return { ...result, heapBytes: heap, ...after, cpu, errors };
  } finally {
    await context.close();
  }
}

// Runs in the page. Links are kept from navigating by a listener of ours that runs after
// every tracker's (bubble phase, on window); the trackers see an ordinary click.
async function loop(count) {
  addEventListener('click', (event) => event.preventDefault());
  const video = document.querySelector('video');
  const cta = document.querySelector('[data-cta] span');
  const button = document.querySelector('#add-to-cart');
  const text = document.querySelector('.price');
  const nav = document.querySelector('.site-nav a[href="/pricing.html"]');
  const pdf = document.querySelector('a.download');
  const root = document.scrollingElement;
  const click = () => new MouseEvent('click', { bubbles: true, cancelable: true, view: window });
  const kinds = [
    () => cta.dispatchEvent(click()),
    () => text.dispatchEvent(click()),
    () => button.dispatchEvent(click()),
    () => nav.dispatchEvent(click()),
    (i) => {
      root.scrollTop = (i * 37) % (root.scrollHeight - root.clientHeight + 1);
      dispatchEvent(new Event('scroll'));
    },
    () => video.dispatchEvent(new Event('play')),
    () => video.dispatchEvent(new Event('timeupdate')),
    () => pdf.dispatchEvent(click()),
    (i) => window.dataLayer.push({ event: ['view_item', 'add_to_cart', 'purchase'][i % 3], value: 129 }),
  ];
  window.dataLayer = window.dataLayer || [];
  const times = [];
  for (let i = 0; i < 200; i++) kinds[i % kinds.length](i);
  // A visitor's events come with idle time between them, in which timers fire and the
  // collector's answers arrive; without it every tracker's queues and pending stores would only
  // grow. So the loop pauses for 10 ms after every block of 10 events, and only the blocks are
  // timed: `totalMs` is their sum, exact, and `times` the events one by one.
  // TODO: a fixed pause is a stand-in for a visitor's pace (about a thousand events a second
  // here, far above any visitor's); with shorter pauses microfunnel's sends fall behind and each
  // one rewrites its whole pending store, which is a finding in itself but not a typical event.
  let totalMs = 0;
  for (let block = 0; block < count; block += 10) {
    const started = performance.now();
    for (let i = block; i < Math.min(block + 10, count); i++) {
      const t = performance.now();
      kinds[i % kinds.length](i);
      times.push(performance.now() - t);
    }
    totalMs += performance.now() - started;
    await new Promise((done) => setTimeout(done, 10));
  }
  return { times, totalMs, isolated: crossOriginIsolated };
}
