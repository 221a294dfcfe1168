// A video whose source changes (a playlist, an ad before the film): the new source is one new
// playback, and every later event of that source belongs to it. Found by the browser soak: the
// element's first entry, with the old source, was matched instead of its latest, so every event
// after a source change started another playback (and another entry, without end).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  assertTrackerBuilt,
  describeEvents,
  eventsNamed,
  launchBrowser,
  newVisitor,
  startCollector,
  waitForQuiet,
} from './harness.mjs';

describe('a video whose source changes', () => {
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

  it('counts one start per source, however many events follow', async () => {
    const { context, page, errors } = await newVisitor(browser);
    await page.goto(`${site.base}/fixtures/video-source.html`);
    await page.waitForFunction(() => window.microfunnel.events().length > 0);
    const fire = (types) =>
      page.evaluate((list) => {
        const video = document.querySelector('video');
        for (const type of list) video.dispatchEvent(new Event(type));
      }, types);

    await page.waitForFunction(() => document.querySelector('video').currentSrc.endsWith('.webm'));
    await fire(['play', 'timeupdate', 'timeupdate']);
    await page.evaluate(() => {
      document.querySelector('video').src = '/assets/trailrunner.webm?second';
    });
    await page.waitForFunction(() => document.querySelector('video').currentSrc.endsWith('?second'));
    await fire(['play', 'timeupdate', 'timeupdate', 'timeupdate', 'play', 'timeupdate']);
    await page.evaluate(() => window.microfunnel.flush());
    const stored = await waitForQuiet(site.base);

    const starts = eventsNamed(stored, 'video_start');
    assert.equal(starts.length, 2, describeEvents(stored));
    assert.ok(starts[1].params.video_url.endsWith('?second'), describeEvents(stored));
    assert.deepEqual(errors.pageErrors, []);
    await context.close();
  });

  // The issue's case: thresholds 25/50/75, play to 20 %, pause, play, seek to 80 %, with a real
  // video. No threshold twice; the two skipped by the seek count as reached (the documented
  // policy) and fire at the position update after it; and the same progress whether pause and
  // seek are reported (`clip_*`) or not (`video_*`).
  it('reports pause and seek only when asked, with the same progress either way', async () => {
    const { context, page, errors } = await newVisitor(browser);
    await page.goto(`${site.base}/fixtures/video-seek.html`);
    await page.waitForFunction(() => window.microfunnel.events().length > 0);
    await page.evaluate(async () => {
      const video = document.querySelector('video');
      if (video.readyState < 1) await new Promise((ok) => (video.onloadedmetadata = ok));
      const seek = (share) =>
        new Promise((ok) => {
          video.addEventListener('seeked', () => setTimeout(ok, 50), { once: true });
          video.currentTime = share * video.duration;
        });
      await video.play();
      video.pause();
      await seek(0.2);
      await video.play();
      video.pause();
      await seek(0.8);
      await video.play();
      video.pause();
    });
    await page.evaluate(() => window.microfunnel.flush());
    const stored = (await waitForQuiet(site.base)).filter((e) => e.page?.path === '/fixtures/video-seek.html');
    const listing = describeEvents(stored);
    const steps = (prefix) =>
      stored
        .filter((e) => e.name.startsWith(`${prefix}_`))
        .map((e) => `${e.name.slice(prefix.length + 1)}${/progress/.test(e.name) ? ` ${e.params.video_percent}` : ''}`);

    const plain = steps('video');
    assert.deepEqual(plain, ['start', 'progress 25', 'progress 50', 'progress 75'], listing);
    const detailed = steps('clip');
    assert.deepEqual(detailed.filter((s) => s !== 'pause' && s !== 'seek'), plain, listing);
    assert.equal(detailed.filter((s) => s === 'seek').length, 2, listing);
    assert.ok(detailed.filter((s) => s === 'pause').length >= 2, listing);
    const seeks = eventsNamed(stored, 'clip_seek').map((e) => Math.round(e.params.video_percent));
    assert.deepEqual(seeks, [20, 80], listing);
    assert.deepEqual(errors.pageErrors, []);
    await context.close();
  });
});
