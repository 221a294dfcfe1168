// Retry: a collector that fails for a while, one that asks the page to slow down, and a browser
// that goes offline. The page backs off instead of hammering, waits as long as `Retry-After`
// asks, pauses while offline, and in the end every observed event is stored exactly once.
//
// The real collector stores the events. A 500 and a 429 on demand are faults the collector
// cannot be made to answer at will, so a small proxy in front of it answers them for a while
// and forwards everything else unchanged.

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';

import {
  assertNoneTwice,
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

const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': 'Retry-After',
};

/**
 * A proxy to `target` (the real collector) that records each `POST /collect` it gets and, while
 * `fault` is set, answers it with `fault = { status, headers }` instead of forwarding it.
 */
async function startProxy(target) {
  const proxy = { fault: null, posts: [] };
  const server = createServer(async (request, response) => {
    const chunks = [];
    for await (const chunk of request) chunks.push(chunk);
    const body = Buffer.concat(chunks);
    if (request.method === 'POST') {
      proxy.posts.push({ at: Date.now(), answered: proxy.fault?.status ?? 'forwarded' });
    }
    if (request.method === 'POST' && proxy.fault) {
      response.writeHead(proxy.fault.status, { ...CORS, ...proxy.fault.headers });
      response.end('{"error":"a fault the test asked for"}');
      return;
    }
    try {
      const answer = await fetch(target + request.url, {
        method: request.method,
        headers: { 'content-type': request.headers['content-type'] ?? 'text/plain' },
        body: request.method === 'POST' ? body : undefined,
      });
      const headers = {};
      answer.headers.forEach((value, name) => {
        if (name !== 'content-length' && name !== 'content-encoding') headers[name] = value;
      });
      response.writeHead(answer.status, headers);
      response.end(Buffer.from(await answer.arrayBuffer()));
    } catch (error) {
      response.writeHead(502, CORS);
      response.end(String(error));
    }
  });
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  proxy.base = `http://127.0.0.1:${server.address().port}`;
  proxy.stop = () => new Promise((done) => server.close(done));
  return proxy;
}

/** Groups requests into rounds: those that came within 250 ms of the one before. */
function rounds(posts) {
  const all = [];
  for (const post of posts) {
    const last = all.at(-1);
    if (last && post.at - last.at(-1).at < 250) last.push(post);
    else all.push([post]);
  }
  return all;
}

describe('a collector that fails, throttles, or cannot be reached', () => {
  let site;
  let browser;
  let remote;
  let proxy;

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

  // Each test has a collector of its own, so that everything stored there is its visitor's.
  beforeEach(async () => {
    remote = await startCollector();
    proxy = await startProxy(remote.base);
  });

  afterEach(async () => {
    await proxy?.stop();
    await remote?.stop();
  });

  /** Opens the fixture page of a new visitor, sending to the proxy, and waits for its page view. */
  async function visit() {
    const visitor = await newVisitor(browser);
    const url = `${site.base}/fixtures/remote-collector.html?collector=${proxy.base}`;
    await visitor.page.goto(url);
    await waitForEvents(remote.base, (all) => eventsNamed(all, 'page_view').length === 1, {
      what: 'the page view',
    });
    return visitor;
  }

  /** Waits for `clicks` clicks, then checks that every event is stored once. */
  async function assertStoredOnce(clicks) {
    await waitForEvents(remote.base, (all) => eventsNamed(all, 'click_cta').length >= clicks, {
      what: `${clicks} clicks`,
      timeoutMs: 45_000,
    });
    const stored = await waitForQuiet(remote.base);
    assert.equal(eventsNamed(stored, 'click_cta').length, clicks, describeEvents(stored));
    assert.equal(eventsNamed(stored, 'page_view').length, 1, describeEvents(stored));
    assertNoneTwice(stored);
  }

  it('backs off while the collector answers 500, then delivers each event once', async () => {
    const { context, page, errors } = await visit();

    proxy.fault = { status: 500, headers: {} };
    proxy.posts = [];
    const failingSince = Date.now();
    for (let i = 0; i < 5; i++) {
      await page.click('[data-cta]');
      await sleep(400);
    }
    await sleep(6_000 - (Date.now() - failingSince));
    const tries = rounds(proxy.posts).length;
    proxy.fault = null;

    // Waits of 0.5–1, 1–2 and 2–4 s: at most five rounds of requests in six seconds. Without
    // a backoff, the page retries at every 300 ms batch tick, or at once.
    assert.ok(tries >= 2, `the page retried: ${tries} rounds`);
    assert.ok(tries <= 5, `the page backed off: ${tries} rounds of requests in 6 s`);
    await assertStoredOnce(5);
    assert.deepEqual(errors.pageErrors, []);
    await context.close();
  });

  it('waits as long as a 429 Retry-After asks, then delivers each event once', async () => {
    const { context, page, errors } = await visit();

    proxy.fault = { status: 429, headers: { 'Retry-After': '3' } };
    proxy.posts = [];
    await page.click('[data-cta]');
    await waitForPosts(1);
    await page.click('[data-cta]');
    await waitForPosts(2, 10_000);
    // The whole second round (requests released together) is answered 429 too.
    await sleep(300);
    proxy.fault = null;
    await assertStoredOnce(2);

    // Each round of requests after a round answered 429 came no sooner than the 3 s it asked
    // for (less 100 ms for timer and clock granularity).
    const all = rounds(proxy.posts);
    assert.ok(all.length >= 3, `three rounds at least: ${all.length}`);
    all.slice(1).forEach((round, i) => {
      const before = all[i];
      if (before.some((post) => post.answered === 429)) {
        const gap = round[0].at - before.at(-1).at;
        assert.ok(gap >= 2_900, `round ${i + 1} came ${gap} ms after a 429`);
      }
    });
    assert.deepEqual(errors.pageErrors, []);
    await context.close();
  });

  it('pauses while the browser is offline and sends at once when it is back', async () => {
    const { context, page, errors } = await visit();
    const tried = [];
    page.on('request', (request) => {
      if (request.url().startsWith(proxy.base)) tried.push(Date.now());
    });

    await context.setOffline(true);
    for (let i = 0; i < 3; i++) {
      await page.click('[data-cta]');
      await sleep(300);
    }
    await sleep(3_000);
    assert.equal(tried.length, 0, 'no request is attempted while offline');

    const online = Date.now();
    await context.setOffline(false);
    await assertStoredOnce(3);
    assert.ok(tried.length >= 1 && tried[0] - online < 2_000, 'sent as soon as online');
    assert.deepEqual(errors.pageErrors, []);
    await context.close();
  });

  async function waitForPosts(n, timeoutMs = 5_000) {
    const deadline = Date.now() + timeoutMs;
    while (proxy.posts.length < n) {
      if (Date.now() > deadline) throw new Error(`the proxy got ${proxy.posts.length} of ${n}`);
      await sleep(50);
    }
  }
});
