// Delivery: a collector that is down while the visitor clicks and leaves loses nothing. The
// page's events wait in the browser and go when a later page of the site finds the collector
// up again, each stored once.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

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

/**
 * Kills the tab's renderer (DevTools `Page.crash`), as a crash or a discarded tab would: no
 * `pagehide`, no beacon. Resolves once the page is gone.
 */
async function crash(context, tab) {
  const cdp = await context.newCDPSession(tab);
  const crashed = new Promise((resolve) => tab.once('crash', resolve));
  cdp.send('Page.crash').catch(() => {});
  await crashed;
}

/** A loopback port that is free now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

describe('a collector that is down as the page unloads', () => {
  let site;
  let remote;
  let browser;
  let dir;

  before(
    async () => {
      assertTrackerBuilt();
      site = await startCollector();
      browser = await launchBrowser();
      dir = await mkdtemp(join(tmpdir(), 'microfunnel-remote-'));
    },
    { timeout: 30_000 },
  );

  after(async () => {
    await browser?.close();
    await remote?.stop();
    await site?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('loses no event: the next page sends what the collector missed, once', async () => {
    const port = await freePort();
    const listen = `127.0.0.1:${port}`;
    const db = join(dir, 'remote.sqlite');
    const page = `${site.base}/fixtures/remote-collector.html?collector=http://${listen}`;

    // The collector is up for the first page view.
    remote = await startCollector({ listen, db });
    const { context, page: tab, errors } = await newVisitor(browser);
    await tab.goto(page);
    await waitForEvents(remote.base, (events) => eventsNamed(events, 'page_view').length === 1, {
      what: 'the first page_view',
    });

    // Then it goes down (for real: the process is stopped), the visitor clicks twice and
    // leaves; the page's last events go out by beacon into nothing.
    await remote.stop();
    remote = null;
    await tab.click('[data-cta]');
    await tab.click('[data-cta]');
    await sleep(800);
    await tab.goto('about:blank');

    // The collector comes back on the same address and file; the visitor returns.
    remote = await startCollector({ listen, db });
    await tab.goto(page);
    const events = await waitForEvents(
      remote.base,
      (all) =>
        eventsNamed(all, 'click_cta').length >= 2 && eventsNamed(all, 'page_view').length >= 2,
      { what: 'both clicks and both page views', timeoutMs: 20_000 },
    );
    const settled = await waitForQuiet(remote.base);
    await context.close();

    assert.equal(eventsNamed(settled, 'click_cta').length, 2, describeEvents(settled));
    assert.equal(eventsNamed(settled, 'page_view').length, 2, describeEvents(settled));
    assertNoneTwice(settled);
    assert.ok(events.length > 0);
    assert.deepEqual(errors.pageErrors, []);
  });
  it('loses no event when the collector is down for a minute of clicking on one page', async () => {
    const port = await freePort();
    const listen = `127.0.0.1:${port}`;
    const db = join(dir, 'down-a-while.sqlite');
    const page = `${site.base}/fixtures/remote-collector.html?collector=http://${listen}`;
    await remote?.stop();
    remote = await startCollector({ listen, db });
    const { context, page: tab, errors } = await newVisitor(browser);
    await tab.goto(page);
    await waitForEvents(remote.base, (events) => eventsNamed(events, 'page_view').length === 1, {
      what: 'the page view',
    });

    // Down for a minute (long enough for the backoff to reach its longest waits, 30 s), with
    // a click every 6 s, the page staying open.
    await remote.stop();
    remote = null;
    for (let i = 0; i < 10; i++) {
      await tab.click('[data-cta]');
      await sleep(6_000);
    }
    remote = await startCollector({ listen, db });

    // The next try comes at most 30 s (the backoff's cap) later.
    await waitForEvents(remote.base, (all) => eventsNamed(all, 'click_cta').length >= 10, {
      what: 'the ten clicks',
      timeoutMs: 45_000,
    });
    const settled = await waitForQuiet(remote.base);
    await context.close();
    assert.equal(eventsNamed(settled, 'click_cta').length, 10, describeEvents(settled));
    assert.equal(eventsNamed(settled, 'page_view').length, 1, describeEvents(settled));
    assertNoneTwice(settled);
    assert.deepEqual(errors.pageErrors, []);
  });
  it('loses no event when 30 events of 3 KB are queued and the page leaves in 400 ms', async () => {
    // 90 KB is more than the 64 KiB a page may have in flight with keepalive, so part of it
    // cannot leave with the page: it waits in storage and goes with the next page.
    const port = await freePort();
    const listen = `127.0.0.1:${port}`;
    const page = `${site.base}/fixtures/remote-collector.html?collector=http://${listen}`;
    await remote?.stop();
    remote = await startCollector({ listen, db: join(dir, 'bulky.sqlite') });
    const { context, page: tab, errors } = await newVisitor(browser);
    await tab.goto(page);
    await tab.waitForFunction(() => window.microfunnel.events().length > 0);

    await tab.evaluate((next) => {
      const text = (i) => `${i}:`.padEnd(450, 'x');
      for (let n = 0; n < 30; n++) {
        const pushed = { event: 'bulky', n };
        for (let i = 0; i < 7; i++) pushed[`part_${i}`] = text(i);
        window.dataLayer.push(pushed);
      }
      setTimeout(() => {
        location.href = next;
      }, 300);
    }, page);
    await tab.waitForURL(page, { waitUntil: 'load' });

    const events = await waitForEvents(
      remote.base,
      (all) => eventsNamed(all, 'bulky').length >= 30 && eventsNamed(all, 'page_view').length >= 2,
      { what: '30 bulky events and two page views', timeoutMs: 20_000 },
    );
    const settled = await waitForQuiet(remote.base);
    await context.close();
    const sizes = eventsNamed(events, 'bulky').map((event) => JSON.stringify(event).length);
    assert.ok(Math.min(...sizes) > 3_000, `events of about 3 KB: ${Math.min(...sizes)} B`);
    const numbers = eventsNamed(settled, 'bulky').map((event) => event.params.n);
    assert.deepEqual(
      numbers.sort((a, b) => a - b),
      Array.from({ length: 30 }, (_, n) => n),
    );
    assert.equal(eventsNamed(settled, 'page_view').length, 2, describeEvents(settled));
    assertNoneTwice(settled);
    assert.deepEqual(errors.pageErrors, []);
  });

  /** A fresh collector on a free port, and the fixture page that sends to it. */
  async function freshRemote(name) {
    const listen = `127.0.0.1:${await freePort()}`;
    await remote?.stop();
    remote = await startCollector({ listen, db: join(dir, `${name}.sqlite`) });
    return `${site.base}/fixtures/remote-collector.html?collector=http://${listen}`;
  }

  it('loses no click whose handler sends the page elsewhere at once', async () => {
    const page = await freshRemote('navigate');
    const { context, page: tab, errors } = await newVisitor(browser);
    await tab.goto(page);
    await tab.waitForFunction(() => window.microfunnel.events().length > 0);
    await tab.evaluate((next) => {
      document.querySelector('[data-cta]').addEventListener('click', () => {
        location.href = next;
      });
    }, `${page}&second`);
    await tab.click('[data-cta]');
    await tab.waitForURL(/&second$/);

    await waitForEvents(
      remote.base,
      (all) =>
        eventsNamed(all, 'click_cta').length >= 1 && eventsNamed(all, 'page_view').length >= 2,
      { what: 'the click and both page views' },
    );
    const settled = await waitForQuiet(remote.base);
    await context.close();
    assert.equal(eventsNamed(settled, 'click_cta').length, 1, describeEvents(settled));
    assert.equal(eventsNamed(settled, 'page_view').length, 2, describeEvents(settled));
    assert.deepEqual(errors.pageErrors, []);
  });

  it('loses no event when the tab is closed while clicks are still queued', async () => {
    const page = await freshRemote('closed');
    const { context, page: tab } = await newVisitor(browser);
    await tab.goto(page);
    await tab.waitForFunction(() => window.microfunnel.events().length > 0);
    // Three clicks, and the tab closes before the 300 ms batch wait is over.
    await tab.evaluate(() => {
      for (let i = 0; i < 3; i++) document.querySelector('[data-cta]').click();
    });
    const queued = await tab.evaluate(() => window.microfunnel.queue());
    await tab.close({ runBeforeUnload: false });

    await waitForEvents(remote.base, (all) => eventsNamed(all, 'click_cta').length >= 3, {
      what: 'the three clicks',
    });
    const settled = await waitForQuiet(remote.base);
    await context.close();
    const waiting = JSON.stringify(queued);
    assert.ok(queued.waiting.length >= 3, `the clicks were still queued: ${waiting}`);
    assert.equal(eventsNamed(settled, 'click_cta').length, 3, describeEvents(settled));
    assert.equal(eventsNamed(settled, 'page_view').length, 1, describeEvents(settled));
  });

  it('loses no queued event when the tab crashes without a page-hide event', async () => {
    // A minute's batch wait: nothing leaves the page before it dies. The renderer is killed
    // (DevTools `Page.crash`), so no `pagehide`, no beacon: only what the tracker kept in
    // storage as it queued can survive, for the next page of the site to send.
    const page = await freshRemote('crashed');
    const { context, page: tab } = await newVisitor(browser);
    await tab.goto(`${page}&wait=60000`);
    await tab.waitForFunction(() => window.microfunnel.events().length > 0);
    for (let i = 0; i < 3; i++) await tab.click('[data-cta]');
    // The queue is written to storage at most every 250 ms.
    await sleep(400);
    const queued = await tab.evaluate(() => window.microfunnel.queue());
    await crash(context, tab);
    const stored = await fetchEvents(remote.base);

    const next = await context.newPage();
    await next.goto(page);
    await waitForEvents(
      remote.base,
      (all) => eventsNamed(all, 'click_cta').length >= 3 && eventsNamed(all, 'page_view').length >= 2,
      { what: 'the crashed page view, its clicks, and the next page view' },
    );
    const settled = await waitForQuiet(remote.base);
    await context.close();
    assert.equal(queued.waiting.length, 4, `all four were queued: ${JSON.stringify(queued)}`);
    assert.deepEqual(stored, [], 'nothing was sent before the crash');
    assert.equal(eventsNamed(settled, 'click_cta').length, 3, describeEvents(settled));
    assert.equal(eventsNamed(settled, 'page_view').length, 2, describeEvents(settled));
    assertNoneTwice(settled);
  });

  it('loses nothing of the many bodies a tab left when it crashed with the collector down', async () => {
    // 240 events of about 2 KB while the collector is down: they wait in storage as a dozen
    // and more bodies of 30 KB, held by the backoff. The tab crashes; the collector comes
    // back; the next page resends every body at once, more than keepalive requests may carry
    // together (64 KB), so it sends them as plain requests, under one key each until it is
    // answered.
    const listen = `127.0.0.1:${await freePort()}`;
    await remote?.stop();
    remote = null;
    const page = `${site.base}/fixtures/remote-collector.html?collector=http://${listen}`;
    const { context, page: tab } = await newVisitor(browser);
    await tab.goto(page);
    await tab.waitForFunction(() => window.microfunnel.events().length > 0);
    await tab.evaluate(() => {
      for (let n = 0; n < 240; n++) window.dataLayer.push({ event: 'bulky', n, text: 'x'.repeat(450) + n, more: 'y'.repeat(450), most: 'z'.repeat(450), all: 'w'.repeat(450) });
    });
    await sleep(1_200);
    const kept = await tab.evaluate(
      () => Object.keys(localStorage).filter((k) => k.startsWith('microfunnel:pending:')).length,
    );
    const { dropped } = await tab.evaluate(() => window.microfunnel.queue());
    await crash(context, tab);

    remote = await startCollector({ listen, db: join(dir, 'big-crash.sqlite') });
    const next = await context.newPage();
    await next.goto(page);
    const stored = await waitForEvents(
      remote.base,
      (all) => eventsNamed(all, 'bulky').length + dropped >= 240,
      { what: 'every bulky event of the crashed tab', timeoutMs: 30_000 },
    );
    const settled = await waitForQuiet(remote.base);
    await context.close();
    assert.ok(kept >= 8, `${kept} bodies were kept`);
    const numbers = new Set(eventsNamed(settled, 'bulky').map((e) => e.params.n));
    assert.equal(numbers.size + dropped, 240, `stored ${numbers.size}, dropped ${dropped}`);
    assertNoneTwice(settled);
    assert.ok(stored.length > 0);
  });

  it("never sends a living tab's queued events from another tab", async () => {
    // Tab A queues clicks behind a minute's batch wait; tab B of the same site starts and
    // resends what dead pages left, but leaves A's queue alone while A lives (A holds a Web
    // Lock). A sends its clicks itself as it closes.
    const page = await freshRemote('two-tabs');
    const { context, page: tabA } = await newVisitor(browser);
    await tabA.goto(`${page}&wait=60000`);
    await tabA.waitForFunction(() => window.microfunnel.events().length > 0);
    for (let i = 0; i < 3; i++) await tabA.click('[data-cta]');
    await sleep(400);
    const keys = await tabA.evaluate(() => Object.keys(localStorage).filter((k) => k.includes('pending')));

    const tabB = await context.newPage();
    await tabB.goto(page);
    await waitForEvents(remote.base, (all) => eventsNamed(all, 'page_view').length >= 1, {
      what: "tab B's page view",
    });
    await sleep(1500);
    const whileAlive = await fetchEvents(remote.base);

    await tabA.close({ runBeforeUnload: true });
    await waitForEvents(remote.base, (all) => eventsNamed(all, 'click_cta').length >= 3, {
      what: "tab A's three clicks",
    });
    const settled = await waitForQuiet(remote.base);
    await context.close();
    assert.equal(keys.length, 1, `tab A kept its queue: ${keys}`);
    assert.equal(eventsNamed(whileAlive, 'click_cta').length, 0, describeEvents(whileAlive));
    assert.equal(eventsNamed(whileAlive, 'page_view').length, 1, describeEvents(whileAlive));
    assert.equal(eventsNamed(settled, 'click_cta').length, 3, describeEvents(settled));
    assert.equal(eventsNamed(settled, 'page_view').length, 2, describeEvents(settled));
    assertNoneTwice(settled);
  });

  it('tells the collector how many events a full queue dropped', async () => {
    // 1,100 events while the collector is down: the queue holds 1,000, drops the oldest and
    // counts them, and an `events_dropped` event (the page's total so far) goes with the
    // next batch. Every event is either stored or counted.
    const listen = `127.0.0.1:${await freePort()}`;
    await remote?.stop();
    remote = null;
    const page = `${site.base}/fixtures/remote-collector.html?collector=http://${listen}`;
    const { context, page: tab, errors } = await newVisitor(browser);
    await tab.goto(page);
    await tab.waitForFunction(() => window.microfunnel.events().length > 0);
    await tab.evaluate(() => {
      for (let n = 0; n < 1100; n++) window.dataLayer.push({ event: 'bulky', n });
    });
    await tab.waitForFunction(() => window.microfunnel.queue().dropped > 0);

    remote = await startCollector({ listen, db: join(dir, 'dropped.sqlite') });
    // Back without waiting out the backoff (up to 30 s): the loader retries at once on `online`.
    await tab.evaluate(() => window.dispatchEvent(new Event('online')));
    await tab.waitForFunction(() => window.microfunnel.queue().waiting.length === 0, null, {
      timeout: 60_000,
    });
    const settled = await waitForQuiet(remote.base, { timeoutMs: 60_000 });
    const dropped = (await tab.evaluate(() => window.microfunnel.queue())).dropped;
    await context.close();

    const counts = eventsNamed(settled, 'events_dropped').map((e) => e.params.dropped);
    const bulky = eventsNamed(settled, 'bulky').length;
    assert.ok(dropped >= 100, `at least 100 of 1,101 dropped: ${dropped}`);
    assert.equal(Math.max(...counts), dropped, `reported ${JSON.stringify(counts)}`);
    // The page view and 1,100 pushes: each one stored, or counted as dropped.
    assert.equal(bulky + eventsNamed(settled, 'page_view').length + dropped, 1101);
    assertNoneTwice(settled);
    assert.deepEqual(errors.pageErrors, []);
  });

  it('sends no value of a query parameter the config redacts', async () => {
    const page = await freshRemote('redacted');
    const { context, page: tab } = await newVisitor(browser);
    await tab.goto(`${page}&redact=token&redact=Session.ID&token=s3cr3t&session.id=42&keep=1`);
    await tab.waitForFunction(() => window.microfunnel.events().length > 0);
    await tab.evaluate(() =>
      window.dataLayer.push({ event: 'bulky', link: 'https://x.example/a?TOKEN=abc#t', n: 1 }),
    );
    const events = await waitForEvents(
      remote.base,
      (all) => eventsNamed(all, 'bulky').length === 1 && eventsNamed(all, 'page_view').length === 1,
      { what: 'the page view and the push' },
    );
    await context.close();
    const text = JSON.stringify(events);
    assert.ok(!/s3cr3t|abc|=42/.test(text), `a redacted value was sent: ${text}`);
    const url = eventsNamed(events, 'page_view')[0].page.url;
    assert.match(url, /&token=\[redacted\]&session\.id=\[redacted\]&keep=1$/);
    assert.equal(eventsNamed(events, 'bulky')[0].params.link, 'https://x.example/a?TOKEN=[redacted]#t');
  });
});
