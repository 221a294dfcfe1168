// YouTube embeds, through the IFrame player's message protocol, against a local page that
// speaks it (www/fixtures/youtube-player.html): the tests cannot reach YouTube.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  assertTrackerBuilt,
  describeEvents,
  eventsNamed,
  fetchEvents,
  launchBrowser,
  newVisitor,
  startCollector,
  waitForEvents,
  waitForQuiet,
} from './harness.mjs';

const ADDON = /\/dist\/mf-youtube\.js$/;

describe('YouTube embeds', () => {
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

  // Opens the fixture with the player's query string and returns the player's frame once the
  // add-on and the player hear each other.
  async function open(page, query) {
    await page.goto(`${site.base}/fixtures/youtube.html?${query}`);
    await page.waitForFunction(() => document.getElementById('player').contentWindow.player);
    const player = page.frames().find((f) => f.url().includes('youtube-player.html'));
    await player.waitForFunction(() => window.player.listening(), null, { timeout: 15_000 });
    return { player };
  }

  it('reports start, each threshold once, and complete, with a seek past thresholds', async () => {
    const { context, page, errors } = await newVisitor(browser);
    // The player is deaf for 1.2 s, as one whose script loads late: the add-on says
    // `listening` again until it answers, and nothing fails meanwhile.
    const { player } = await open(page, 'late=1200');
    const drive = (script) => player.evaluate(script);

    await drive(() => window.player.play());
    for (const t of [5, 10, 20]) await drive((time) => window.player.tick(time), t);
    await drive(() => window.player.pause());
    await drive(() => window.player.play());
    await drive(() => window.player.seek(80));
    await drive(() => window.player.tick(81));
    await drive(() => window.player.end());

    const stored = await waitForEvents(
      site.base,
      (events) => eventsNamed(events, 'video_complete').length === 1,
      { what: 'video_complete' },
    );
    await page.evaluate(() => window.microfunnel.flush());
    const all = await waitForQuiet(site.base);
    const starts = eventsNamed(all, 'video_start');
    assert.equal(starts.length, 1, describeEvents(all));
    assert.equal(starts[0].params.video_provider, 'youtube');
    assert.equal(starts[0].params.video_title, 'Trail running basics');
    assert.equal(starts[0].params.video_url, 'https://www.youtube.com/watch?v=abc123');
    // The seek from 20 % to 80 % passed 25, 50 and 75: each counts as reached, once
    // (README: thresholds skipped by a seek forward).
    const progress = eventsNamed(all, 'video_progress').map((e) => e.params.video_percent);
    assert.deepEqual(progress, [25, 50, 75], describeEvents(all));
    // `pause_and_seek` is on in this fixture: the one pause is reported, at the time the
    // player last told (a YouTube seek is not: the protocol does not say one happened).
    assert.equal(eventsNamed(all, 'video_pause').length, 1, describeEvents(all));
    assert.equal(eventsNamed(all, 'video_seek').length, 0, describeEvents(all));
    assert.equal(eventsNamed(stored, 'video_complete')[0].params.video_provider, 'youtube');
    assert.deepEqual(errors.pageErrors, []);
    assert.deepEqual(errors.consoleErrors, []);
    await context.close();
  });

  it('ignores malformed messages and messages from frames it did not speak to', async () => {
    const { context, page, errors } = await newVisitor(browser);
    const earlier = (await fetchEvents(site.base)).length;
    const { player } = await open(page, 'junk=1');
    // Another window posting a player's message to the page: not a player the add-on spoke
    // to, so not a video.
    await page.evaluate(() => {
      window.postMessage(JSON.stringify({ event: 'onStateChange', info: 1 }), '*');
      window.postMessage(JSON.stringify({ event: 'infoDelivery', info: { playerState: 1, currentTime: 50 } }), '*');
    });
    await player.evaluate(() => window.player.play());
    await page.evaluate(() => window.microfunnel.flush());
    const all = (await waitForQuiet(site.base)).slice(earlier);
    assert.equal(eventsNamed(all, 'video_start').length, 1, describeEvents(all));
    assert.equal(eventsNamed(all, 'video_progress').length, 0, describeEvents(all));
    // The add-on says nothing to a player but `listening`.
    const said = await player.evaluate(() => window.player.heard.map((m) => m.event));
    assert.ok(said.length > 0 && said.every((name) => name === 'listening'), said.join(','));
    assert.deepEqual(errors.pageErrors, []);
    await context.close();
  });

  it('is not loaded on a page without a player that talks', async () => {
    const { context, page, errors } = await newVisitor(browser);
    const loaded = [];
    page.on('request', (request) => {
      if (ADDON.test(request.url())) loaded.push(request.url());
    });
    await page.goto(`${site.base}/fixtures/video-source.html`);
    await page.waitForFunction(() => window.microfunnel.events().length > 0);
    assert.deepEqual(loaded, []);

    // A player added by a route change later loads it.
    await page.evaluate(() => {
      const frame = document.createElement('iframe');
      frame.src = '/fixtures/youtube-player.html?enablejsapi=1';
      document.body.append(frame);
      history.pushState({}, '', '/fixtures/video-source.html?watch');
    });
    await page.waitForFunction(() => document.querySelector('iframe').contentWindow.player?.listening());
    assert.equal(loaded.length, 1);
    assert.deepEqual(errors.pageErrors, []);
    await context.close();
  });
});
