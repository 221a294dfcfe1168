// Form start (the first input into a form, once per form per page), form submit, and outbound
// links through the `click.outbound` variable.

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

describe('forms and outbound links', () => {
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

  it('reports one form_start per form at its first input, then its submit', async () => {
    const { context, page, errors } = await newVisitor(browser);
    await page.goto(`${site.base}/fixtures/forms.html`);
    await page.fill('#email', 'someone');
    await page.type('#email', ' else');
    await page.check('#terms');
    await page.selectOption('#plan', 'Pro');
    // Not the configured form: no form_start, but a form_submit (that trigger has no selector).
    await page.fill('#query', 'shoes');
    await page.click('#signup button[type=submit]');
    await waitForEvents(site.base, (all) => eventsNamed(all, 'form_submit').length >= 1, {
      what: 'the signup submit',
    });
    const stored = await waitForQuiet(site.base);

    const starts = eventsNamed(stored, 'form_start');
    assert.equal(starts.length, 1, describeEvents(stored));
    assert.equal(starts[0].params.form_id, 'signup');
    assert.match(starts[0].params.form_destination, /\/thanks\.html$/);
    const submits = eventsNamed(stored, 'form_submit');
    assert.deepEqual(submits.map((e) => e.params.form_id), ['signup'], describeEvents(stored));
    assert.ok(starts[0].seq < submits[0].seq, 'the start comes before the submit');
    const any = eventsNamed(stored, 'any_form_start');
    assert.deepEqual(any.map((e) => e.params.form_id), ['signup', 'search'], describeEvents(stored));
    assertNoneTwice(stored);
    assert.deepEqual(errors.pageErrors, []);
    await context.close();
  });

  it('takes no form_start from a script, and never throws on a custom field', async () => {
    const { context, page, errors } = await newVisitor(browser);
    await page.goto(`${site.base}/fixtures/forms.html`);
    // Typing into a web component whose `form` is a string: the event reaches the window with
    // the component as its target.
    await page.type('#fancy #inner', 'abc');
    // An input event dispatched by a script (an input mask, a framework) is not the visitor's.
    await page.evaluate(() => {
      document.querySelector('#late-input').dispatchEvent(new Event('input', { bubbles: true }));
    });
    await page.waitForTimeout(500);
    let stored = await waitForQuiet(site.base);
    const late = (all) => eventsNamed(all, 'any_form_start').filter((e) => e.params.form_id === 'late');
    assert.equal(late(stored).length, 0, describeEvents(stored));
    await page.type('#late-input', 'x');
    stored = await waitForEvents(site.base, (all) => late(all).length >= 1, { what: 'the late form start' });
    assert.equal(late(await waitForQuiet(site.base)).length, 1);
    assert.deepEqual(errors.pageErrors, []);
    assert.deepEqual(errors.consoleErrors, []);
    await context.close();
  });

  it('tells a link to another host from same-site, mailto and tel links', async () => {
    const { context, page, errors } = await newVisitor(browser);
    await page.goto(`${site.base}/fixtures/forms.html`);
    for (const id of ['inside', 'mail', 'call', 'partner']) await page.click(`#${id}`);
    await waitForEvents(site.base, (all) => eventsNamed(all, 'click').length >= 1, {
      what: 'the outbound click',
    });
    const stored = await waitForQuiet(site.base);

    const clicks = eventsNamed(stored, 'click');
    assert.deepEqual(
      clicks.map((e) => [e.params.link_url, e.params.outbound]),
      [['https://partner.example/offer?x=1', true]],
      describeEvents(stored),
    );
    assert.deepEqual(errors.pageErrors, []);
    await context.close();
  });
});
