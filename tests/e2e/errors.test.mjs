// The js_error trigger: an uncaught error in the page's own script becomes one event with its
// message, source and line; a failed image is not one; an error in a loop stops at 20 a page.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  assertNoneTwice,
  assertTrackerBuilt,
  describeEvents,
  eventsNamed,
  launchBrowser,
  newVisitor,
  startCollector,
  waitForEvents,
  waitForQuiet,
} from './harness.mjs';

describe('javascript errors', () => {
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

  it('reports each uncaught error with message, source and line, at most 20 a page', async () => {
    const { context, page, errors } = await newVisitor(browser);
    await page.goto(`${site.base}/fixtures/errors.html`);
    await page.click('#broken');
    assert.equal(await page.evaluate(() => window.clicked), true);
    await waitForEvents(site.base, (all) => eventsNamed(all, 'js_error').length >= 1, {
      what: 'the first error',
    });
    await page.click('#loop');
    await waitForEvents(site.base, (all) => eventsNamed(all, 'js_error').length >= 20, {
      what: 'twenty errors',
    });
    const stored = await waitForQuiet(site.base);
    assertNoneTwice(stored);

    const reported = eventsNamed(stored, 'js_error');
    assert.equal(reported.length, 20, describeEvents(stored));
    assert.match(reported[0].params.error_message, /undefinedFunction is not defined/);
    assert.equal(new URL(reported[0].params.error_source).pathname, '/fixtures/errors.html');
    assert.equal(reported[0].params.error_line, 27);
    assert.ok(reported.slice(1).every((e) => /again/.test(e.params.error_message)));

    assert.equal(errors.pageErrors.length, 31, 'the page still sees every one of its errors');
    await context.close();
  });
});
