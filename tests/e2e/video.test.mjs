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
});
