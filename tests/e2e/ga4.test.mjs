// The GA4 preset (`"preset": "ga4"`, the add-on www/src/ga4.js): GA4's enhanced measurement
// events with GA4's names, the site's own triggers kept (one replacing the preset's page view),
// and GA4's limits checked with a console warning that names the JSON path.

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

describe('the GA4 preset', () => {
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

  it('sends GA4 enhanced measurement events with GA4 names beside the site triggers', async () => {
    const { context, page, errors } = await newVisitor(browser);
    const warnings = [];
    page.on('console', (message) => {
      if (message.type() === 'warning') warnings.push(message.text());
    });
    await page.goto(`${site.base}/fixtures/ga4.html?q=trail+shoes&s=other`);
    await waitForEvents(site.base, (all) => eventsNamed(all, 'page_view').length >= 1, {
      what: 'the page view',
    });
    for (const id of ['partner', 'guide', 'inside', 'cta']) await page.click(`#${id}`);
    await page.fill('#email', 'someone');
    await page.click('#signup button[type=submit]');
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    await waitForEvents(site.base, (all) => eventsNamed(all, 'scroll').length >= 1, {
      what: 'the 90 % scroll',
    });
    const stored = await waitForQuiet(site.base);
    const listing = describeEvents(stored);

    // The site's own page view trigger replaces the preset's: one page view, not two.
    assert.equal(eventsNamed(stored, 'page_view').length, 1, listing);
    const search = eventsNamed(stored, 'view_search_results');
    assert.deepEqual(search.map((e) => e.params.search_term), ['trail shoes'], listing);
    const clicks = eventsNamed(stored, 'click');
    assert.deepEqual(
      clicks.map((e) => [e.params.link_url, e.params.link_id, e.params.outbound]),
      [['https://partner.example/offer', 'partner', true]],
      listing,
    );
    const downloads = eventsNamed(stored, 'file_download');
    assert.deepEqual(
      downloads.map((e) => [e.params.file_extension, e.params.file_name]),
      [['pdf', 'trailrunner-spec.pdf']],
      listing,
    );
    assert.equal(eventsNamed(stored, 'click_cta').length, 1, listing);
    assert.equal(eventsNamed(stored, 'form_start').length, 1, listing);
    assert.equal(eventsNamed(stored, 'form_submit').length, 1, listing);
    assert.deepEqual(eventsNamed(stored, 'scroll').map((e) => e.params.percent_scrolled), [90], listing);
    assert.equal(eventsNamed(stored, 'scroll_depth').length, 0, listing);
    assertNoneTwice(stored);

    // The video trigger is in the running config, though this page has no video.
    const video = await page.evaluate(() => window.microfunnel.explain('ga4_video'));
    assert.doesNotMatch(video, /not a trigger or funnel/);
    assert.deepEqual(
      warnings.filter((text) => text.includes('GA4')),
      ['microfunnel: GA4 limit at triggers[0].params.ga_session: a parameter name GA4 refuses'],
    );
    assert.deepEqual(errors.pageErrors, []);
    assert.deepEqual(errors.consoleErrors, []);
    await context.close();
  });
});

describe('the GA4 preset add-on, on its own', async () => {
  const { default: withPreset, limits } = await import('../../www/src/ga4.js');
  const run = (config) => JSON.parse(withPreset(JSON.stringify(config)));
  const ids = (config) => config.triggers.map((t) => t.id);

  it('puts the preset after the site triggers, which keep their indices', () => {
    const out = run({ site: 's', preset: 'ga4', triggers: [{ id: 'mine', on: 'click' }] });
    assert.equal(out.preset, undefined);
    assert.equal(ids(out)[0], 'mine');
    assert.ok(ids(out).includes('ga4_scroll') && ids(out).includes('ga4_form_start'), ids(out).join());
    assert.equal(out.variables.ga4_search_q.url_query, 'q');
  });

  it('lets a site trigger replace a preset one by id, or by type and event name', () => {
    const out = run({
      site: 's',
      preset: 'ga4',
      triggers: [
        { id: 'ga4_scroll', on: 'scroll', percent: [50], event: 'scroll' },
        { id: 'files', on: 'download', extensions: ['pdf'] },
        { id: 'depth', on: 'scroll', percent: [25] },
      ],
    });
    assert.deepEqual(ids(out).filter((id) => /scroll|depth/.test(id)), ['ga4_scroll', 'depth']);
    assert.equal(out.triggers[0].percent[0], 50);
    assert.ok(!ids(out).includes('ga4_file_download'));
  });

  it('keeps a preset trigger beside a site trigger of its name that fires only somewhere', () => {
    const out = run({
      site: 's',
      preset: 'ga4',
      triggers: [
        { id: 'cta', on: 'click', selector: '#cta' },
        { id: 'checkout', on: 'page_view', when: [{ var: 'page.path', op: 'equals', value: '/checkout' }] },
        { id: 'newsletter', on: 'form_submit', selector: '#newsletter' },
      ],
    });
    for (const id of ['ga4_outbound_click', 'ga4_page_view', 'ga4_form_submit']) {
      assert.ok(ids(out).includes(id), `${id} in ${ids(out).join()}`);
    }
  });

  it('reads no search term from a parameter the site redacts', () => {
    const out = run({ site: 's', preset: 'ga4', privacy: { redact_query_params: ['Q', 'keyword'] }, triggers: [] });
    assert.deepEqual(out.variables.ga4_search_q, { constant: '' });
    assert.deepEqual(out.variables.ga4_search_keyword, { constant: '' });
    assert.equal(out.variables.ga4_search_s.url_query, 's');
    const broken = run({ site: 's', preset: 'ga4', privacy: { redact_query_params: 'q' } });
    assert.equal(broken.variables.ga4_search_q.url_query, 'q');
  });

  it('passes a config of the wrong shape on for the module to name its fault', () => {
    assert.deepEqual(run({ site: 's', preset: 'ga4', triggers: { id: 'x' } }), { site: 's', triggers: { id: 'x' } });
    assert.equal(withPreset('{ not json'), '{ not json');
    // An unknown preset is said in the console and left out; the config runs without it.
    const logged = [];
    const error = console.error;
    console.error = (text) => logged.push(text);
    try {
      assert.deepEqual(run({ site: 's', preset: 'ga5', triggers: [] }), { site: 's', triggers: [] });
    } finally {
      console.error = error;
    }
    assert.deepEqual(logged, ['microfunnel: config error at preset: unknown preset "ga5"; known: ga4']);
    const quoted = '{"site":"s","triggers":[{"id":"a","on":"click","params":{"preset":"x"}}]}';
    assert.equal(withPreset(quoted), quoted);
  });

  it('names GA4 limits by JSON path', () => {
    const params = Object.fromEntries(Array.from({ length: 26 }, (_, i) => [`p${i}`, 'v']));
    const found = limits({
      triggers: [
        { id: 'a', on: 'click', event: 'session_start' },
        { id: 'b', on: 'click', params: { [`a${'x'.repeat(40)}`]: 'v', _private: 'v', long: 'y'.repeat(101), tpl: `{{click.text}}${'z'.repeat(120)}` } },
        { id: 'c', on: 'click', params },
      ],
    });
    assert.deepEqual(
      found.map((f) => f[0]),
      [
        'triggers[0].event',
        `triggers[1].params.a${'x'.repeat(40)}`,
        'triggers[1].params._private',
        'triggers[1].params.long',
        'triggers[2].params',
      ],
    );
  });
});
