// Writes the benchmark configuration: 100 triggers and 20 funnels over the demo pages, with
// the mix of kinds and conditions a real tag setup has. Run `node bench/config.mjs` to
// rewrite bench/fixtures/config-100x20.json; the browser benchmark and the native engine
// benchmark both read that file, so they measure the same configuration.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The configuration, as a plain object. Deterministic: no randomness, no dates. */
export function benchConfig() {
  const triggers = [{ id: 'pageviews', on: 'page_view' }];
  const clickEvents = [];

  // 45 click triggers: selectors that match the demo's buttons and links as well as ones that
  // match nothing, each with conditions on the page and the element's text.
  for (let i = 0; i < 45; i++) {
    const selector = [
      `[data-track="t${i}"]`,
      // As in a real setup, a click matches a few triggers, not dozens: three on CTAs, three
      // on buttons, one on every link.
      i % 15 === 0 ? '.btn-primary' : `.promo-${i}`,
      i % 15 === 5 ? 'button' : `#cta-${i}`,
      i === 44 ? 'a' : `.nav-${i}`,
    ].join(', ');
    const event = `click_${i}`;
    clickEvents.push(event);
    triggers.push({
      id: `click-${i}`,
      on: 'click',
      selector,
      event,
      params: { text: '{{click.text}}', url: '{{click.url}}', page: '{{page.path}}' },
      when: [
        { var: 'page.path', op: i % 2 ? 'starts_with' : 'not_contains', value: i % 2 ? '/' : '/admin' },
        { var: 'click.text', op: 'not_equals', value: `never-${i}`, ignore_case: true },
      ],
      unless: i % 9 === 0 ? [{ var: 'page.url', op: 'matches_regex', value: `[?&]skip=${i}\\b` }] : [],
    });
  }
  // 15 scroll triggers, 10 video, 10 download, 10 form submit.
  for (let i = 0; i < 15; i++) {
    triggers.push({
      id: `scroll-${i}`,
      on: 'scroll',
      percent: [10 + (i % 4) * 5, 50, 75 + (i % 3) * 5],
      when: [{ var: 'page.path', op: 'not_starts_with', value: `/private-${i}` }],
    });
  }
  for (let i = 0; i < 10; i++) {
    triggers.push({
      id: `video-${i}`,
      on: 'video',
      selector: i % 2 ? 'video' : `video.player-${i}, video`,
      progress_percent: [10, 25, 50, 75, 90].slice(0, 2 + (i % 4)),
    });
  }
  for (let i = 0; i < 10; i++) {
    triggers.push({
      id: `download-${i}`,
      on: 'download',
      extensions: ['pdf', 'zip', 'csv', 'docx', 'xlsx'].slice(0, 1 + (i % 5)),
      when: [{ var: 'file.name', op: 'not_ends_with', value: `-${i}.tmp` }],
    });
  }
  for (let i = 0; i < 10; i++) {
    triggers.push({
      id: `form-${i}`,
      on: 'form_submit',
      selector: i === 0 ? 'form' : `form#form-${i}, form[name="f${i}"]`,
      event: `form_${i}`,
    });
  }
  // 9 data-layer triggers, to make 100.
  const pushes = ['view_item', 'add_to_cart', 'purchase', 'begin_checkout', 'sign_up'];
  for (let i = 0; i < 9; i++) {
    triggers.push({ id: `dl-${i}`, on: 'data_layer', name: `${pushes[i % pushes.length]}${i < 5 ? '' : `_${i}`}` });
  }

  // 20 funnels of three to five steps over those events, in every combination of the options.
  const funnels = [];
  for (let f = 0; f < 20; f++) {
    const steps = [
      {
        name: 'Landing',
        event: 'page_view',
        when: [{ var: 'page.path', op: f % 4 ? 'starts_with' : 'matches_regex', value: f % 4 ? '/' : '^/(index\\.html)?$' }],
      },
      { name: 'Engaged', event: f % 2 ? 'scroll_depth' : clickEvents[f % clickEvents.length] },
      { name: 'Interest', event: f % 3 ? clickEvents[(f * 7) % clickEvents.length] : 'video_start' },
    ];
    // `within` needs steps in sequence, so the any-order funnels go without it.
    const cart = { name: 'Cart', event: 'add_to_cart' };
    if (f % 5 !== 0) cart.within = '10m';
    if (f % 2 === 0) steps.push(cart);
    if (f % 4 === 0) steps.push({ name: 'Buy', event: 'purchase' });
    funnels.push({
      id: `funnel-${f}`,
      name: `Funnel ${f}`,
      entry: f % 2 ? 'open' : 'closed',
      order: f % 5 === 0 ? 'any' : 'sequence',
      scope: f % 3 === 0 ? 'visitor' : 'session',
      window: '30m',
      steps,
    });
  }

  return {
    site: 'demo-shop',
    collector: { endpoint: '/collect', batch: { max_events: 20, max_wait_ms: 2000 } },
    session: { idle_timeout_min: 30 },
    triggers,
    funnels,
  };
}

export const CONFIG_PATH = fileURLToPath(new URL('./fixtures/config-100x20.json', import.meta.url));

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(CONFIG_PATH, JSON.stringify(benchConfig(), null, 1) + '\n');
  console.log(`wrote ${CONFIG_PATH}`);
}
