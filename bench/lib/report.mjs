// BENCHMARKS.md from the measurements: method, machine, every figure as the median over runs
// with its range, and each peer's ratio to microfunnel from the same run.
import { summary } from './stats.mjs';
import { NOT_MEASURED } from '../peers/index.mjs';

const KB = (bytes) => (bytes / 1000).toFixed(1);
const int = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
const fix = (n, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '–');

/** `median (min–max)` of `values`, each formatted by `f`. */
function spread(values, f = fix) {
  const s = summary(values);
  if (!s.n) return '–';
  return s.n > 1 ? `${f(s.median)} (${f(s.min)}–${f(s.max)})` : f(s.median);
}

/** `peer ÷ ours`, as `3.2×`. */
function ratio(peer, ours) {
  if (!Number.isFinite(peer) || !Number.isFinite(ours) || ours === 0) return '–';
  return `${(peer / ours).toFixed(peer / ours >= 10 ? 0 : 1)}×`;
}

const med = (values) => summary(values).median;

/** The profile's bucket for time the page was not running code. */
const IDLE = 'idle';

/** gzip and brotli totals over files. */
function total(files) {
  return {
    gzip: files.reduce((n, f) => n + f.gzip, 0),
    brotli: files.reduce((n, f) => n + f.brotli, 0),
  };
}

export function report(r) {
  const { sizes, samples, failures, engine, machine, peers } = r;
  const names = Object.keys(samples);
  const trackers = names.filter((n) => n !== 'none');
  const label = (name) =>
    name === 'microfunnel'
      ? 'microfunnel (demo config: 9 triggers, 1 funnel)'
      : name === 'microfunnel-100x20'
        ? 'microfunnel (100 triggers, 20 funnels)'
        : name === 'none'
          ? 'no tracker'
          : (peers.find((p) => p.name === name)?.label ?? name);
  const lines = [];
  const p = (text = '') => lines.push(text);

  p('# Benchmarks');
  p();
  p('Written by `cargo xtask bench` (see the README); do not edit by hand. Every figure is the');
  p(`median over ${r.runs} runs with the smallest and largest in brackets, unless it says otherwise;`);
  p('ratios are the peer’s figure divided by microfunnel’s from the same run, so above 1× means');
  p('microfunnel is smaller or faster.');
  p();
  p('## Machine');
  p();
  p(`${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}; ${machine.chromium}`);
  p(`(headless); Node ${machine.node}; ${machine.rustc}. The machine is shared with other builds:`);
  p(`load average at the end ${machine.load}, so times carry that noise; the run took ${r.seconds} s.`);
  p();

  // Summary.
  const j = (name, key) => med(samples[name].journey.map((x) => x[key]));
  const none = { script: j('none', 'scriptMs'), task: j('none', 'taskMs') };
  p('## Summary');
  p();
  p('| tracker | gzip -9 | brotli | tag to ready (ms) | extra script per journey (ms) | extra task per journey (ms) | per event p50 / p99 (µs) |');
  p('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const name of trackers) {
    const size = sizes[name === 'microfunnel-100x20' ? 'microfunnel' : name]?.total;
    const s = samples[name];
    const ev = s.perEvent;
    p(
      `| ${label(name)} | ${size ? `${KB(size.gzip)} KB` : '–'} | ${size ? `${KB(size.brotli)} KB` : '–'} | ` +
        `${spread(s.startup.map((x) => x.readyMs))} | ` +
        `${s.journey.length ? fix(j(name, 'scriptMs') - none.script, 0) : '–'} | ` +
        `${s.journey.length ? fix(j(name, 'taskMs') - none.task, 0) : '–'} | ` +
        `${fix(med(ev.map((x) => x.p50)), 0)} / ${fix(med(ev.map((x) => x.p99)), 0)} |`,
    );
  }
  p();
  p('Bytes include microfunnel’s config file (the demo’s), since the page fetches it before the');
  p('tracker is ready; each peer’s configuration is inside its bundle.');
  p();

  // Bytes.
  p('## Bytes shipped');
  p();
  p('Every file a page loads for the tracker to be ready. microfunnel’s are those `cargo xtask build`');
  p('writes to `www/dist/`; each peer is its npm package with the set-up code in `bench/peers/`,');
  p('bundled and minified by esbuild (`--bundle --minify --format=iife --target=es2019`), the way');
  p('a site ships it. gzip at level 9, brotli at quality 11. Bytes do not vary between runs.');
  p();
  p('| tracker | file | raw B | gzip -9 B | brotli B |');
  p('| --- | --- | ---: | ---: | ---: |');
  for (const [name, entry] of Object.entries(sizes)) {
    for (const f of entry.files) p(`| ${label(name)} | ${f.name} | ${int(f.raw)} | ${int(f.gzip)} | ${int(f.brotli)} |`);
    if (entry.files.length > 1) {
      p(`| ${label(name)} | **total** | **${int(entry.total.raw)}** | **${int(entry.total.gzip)}** | **${int(entry.total.brotli)}** |`);
    }
  }
  p();
  const ours = sizes.microfunnel.total;
  p('| peer | gzip, peer ÷ microfunnel | brotli, peer ÷ microfunnel |');
  p('| --- | ---: | ---: |');
  for (const [name, entry] of Object.entries(sizes)) {
    if (name === 'microfunnel') continue;
    p(`| ${label(name)} | ${ratio(entry.total.gzip, ours.gzip)} | ${ratio(entry.total.brotli, ours.brotli)} |`);
  }
  p();
  p('The size budget is a test: `cargo xtask size`, run by `cargo xtask test`, fails when');
  p('`microfunnel.js` + `mf.js` + `mf_bg.wasm` exceed `[budget] total_gzip_bytes` in');
  p('`wasm-pack.toml`, which only goes down.');
  const tested = sizes.microfunnel.files.filter((f) => r.budget.files.some((b) => b.name === f.name));
  p(`For this build it measured ${int(r.budget.total_gzip)} B against a budget of ${int(r.budget.budget_gzip)} B.`);
  p('It compresses with Rust’s `flate2` (miniz_oxide) at level 9, which packs these files');
  p(`differently from Node’s zlib at level 9 used above (${int(total(tested).gzip)} B for the same three files);`);
  p('both are “gzip -9”, and neither is wrong.');
  p();

  // What the wasm holds.
  p('### What the wasm holds');
  p();
  if (!r.contents) {
    p('Not listed: `twiggy` is not installed (`cargo install twiggy`, then run the benchmark again).');
  } else {
    const c = r.contents;
    p('From `twiggy top` on a twin of `mf_bg.wasm` built with the same flags plus');
    p('`--debuginfo`, which keeps function names; raw bytes before compression, the twin’s name');
    p('section left out. Our code is grouped by module, the rest by crate. wasm-opt inlines');
    p('aggressively, so whatever it inlined counts for the function it went into (config decoding');
    p('for `start`, the engine’s hot path for `run`, both in `microfunnel::web`), and generic code');
    p('instantiated for our types counts for `core` or `alloc`: a rough split.');
    p();
    p('| module or crate | raw B | share |');
    p('| --- | ---: | ---: |');
    for (const [place, bytes] of Object.entries(c.byPlace).sort((a, b) => b[1] - a[1])) {
      p(`| ${place} | ${int(bytes)} | ${fix((bytes / c.total) * 100, 0)} % |`);
    }
    p();
    p('| largest items | raw B |');
    p('| --- | ---: |');
    for (const item of c.top) p(`| \`${item.name.replace(/\|/g, '\\|').slice(0, 90)}\` | ${int(item.bytes)} |`);
  }
  p();

  // Start-up.
  p('## Start-up');
  p();
  p('A cold load of the demo’s home page in a fresh browser context (nothing cached, nothing');
  p('stored), the tag being `<script async>` in the `<head>` for every tracker. “Tag to ready” runs');
  p('from an inline script just before the tag to the tracker’s ready signal: posthog’s `loaded`');
  p('callback, Segment’s `ready`, the end of the bundle’s own code for Snowplow and Plausible (they');
  p('are ready when their script has run), and for microfunnel the loader’s first read of its');
  p('pending-bodies key, which it makes right after the module’s `start` returns. The WebAssembly');
  p('column is the time inside `WebAssembly.instantiateStreaming` (compile and instantiate).');
  p('“Early clicks” are ten buttons added and clicked at 0, 5, 10, 20, 40, 80, 120, 160, 250 and');
  p('400 ms after the tag; the column counts those whose click reached the tracker’s collector.');
  p();
  p('| tracker | tag to ready (ms) | of which wasm compile + instantiate (ms) | long tasks during start (ms) | early clicks tracked (of 10) | ready, peer ÷ microfunnel |');
  p('| --- | ---: | ---: | ---: | ---: | ---: |');
  const ourReady = med(samples.microfunnel.startup.map((x) => x.readyMs));
  for (const name of trackers) {
    const s = samples[name].startup;
    const ready = s.map((x) => x.readyMs);
    p(
      `| ${label(name)} | ${spread(ready)} | ${name.startsWith('microfunnel') ? spread(s.map((x) => x.compileMs)) : 'none'} | ` +
        `${spread(s.map((x) => x.longTaskMs), (n) => fix(n, 0))} | ${spread(s.map((x) => x.early), (n) => fix(n, 0))} | ` +
        `${name.startsWith('microfunnel') ? '' : ratio(med(ready), ourReady)} |`,
    );
  }
  p();

  // Main thread.
  p('## Main thread over a journey');
  p();
  const inputs = med(samples.none.journey.map((x) => x.inputs));
  p(`The same scripted visit for every tracker: ${r.rounds} rounds through the demo shop, each with`);
  p('text clicks, wheel scrolling down and up the home page, the CTA to the product page, two video');
  p('plays, two add-to-cart clicks, the pricing page, a plan’s button to checkout, placing the');
  p(`order, and the newsletter form: ${int(inputs)} inputs and ${r.rounds * 5 + 1} page loads. Inputs are real (Playwright’s`);
  p('mouse and wheel). Script and task time are DevTools’ `ScriptDuration` and `TaskDuration`');
  p('(`Performance.getMetrics`, thread time), read before each page change and summed; “extra” is');
  p('the median over runs minus the no-tracker median. Long tasks are the `longtask` entries (over');
  p('50 ms). Interaction to next paint is the 98th percentile of interactions that took 16 ms or');
  p('more (Event Timing reports no faster ones); “–” means none did. Task time includes the');
  p('page’s own layout, paint and waiting on this shared machine and moves by hundreds of ms');
  p('between runs (see the ranges), so a small or negative “extra task” is noise; script time');
  p('is the steadier figure.');
  p();
  p('| tracker | script (ms) | extra script (ms) | task (ms) | extra task (ms) | long tasks (count / ms) | slow interactions | INP (ms) | extra script, peer ÷ microfunnel |');
  p('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  const ourExtra = j('microfunnel', 'scriptMs') - none.script;
  for (const name of names) {
    const s = samples[name].journey;
    if (!s.length) continue;
    const extra = j(name, 'scriptMs') - none.script;
    p(
      `| ${label(name)} | ${spread(s.map((x) => x.scriptMs), (n) => fix(n, 0))} | ${name === 'none' ? '' : fix(extra, 0)} | ` +
        `${spread(s.map((x) => x.taskMs), (n) => fix(n, 0))} | ${name === 'none' ? '' : fix(j(name, 'taskMs') - none.task, 0)} | ` +
        `${fix(med(s.map((x) => x.longTasks)), 0)} / ${fix(med(s.map((x) => x.longTaskMs)), 0)} | ` +
        `${fix(med(s.map((x) => x.slowInteractions)), 0)} | ${med(s.map((x) => x.slowInteractions)) ? fix(med(s.map((x) => x.inpMs)), 0) : '–'} | ` +
        `${name === 'none' || name === 'microfunnel' ? '' : ratio(extra, ourExtra)} |`,
    );
  }
  p();

  // Per event.
  p('## Per event in the page');
  p();
  p(`On the product page, ${int(r.events)} events in the journey’s mix (clicks on the CTA, text, a button, a`);
  p('nav link and the PDF link; scroll; video play and timeupdate; data-layer pushes), each timed');
  p('around its `dispatchEvent` (or `dataLayer.push`) with `performance.now()`. Every tracker');
  p('listener runs synchronously inside that call, and microfunnel’s path from the DOM event to the');
  p('event in its send queue is entirely synchronous, so this is “DOM event to queued event”. The');
  p('page is cross-origin isolated, so `performance.now()` has its finest resolution (5 µs, with');
  p('jitter): p50 and p99 are read from those ticks. The events come in blocks of 10 with a 10 ms');
  p('pause after each, in which timers fire and the collector’s answers arrive, as between a');
  p('visitor’s inputs; the mean is the blocks’ total time over the events, which is exact. Work a');
  p('tracker defers to a timer (posthog’s and Segment’s batching, microfunnel’s flush when the queue');
  p('is not full) falls in the pauses and is not counted here; the journey above counts it.');
  p('microfunnel sends a batch synchronously when the 20th event is queued, so its p99 includes');
  p('that send. “no tracker” is the cost of dispatching alone; peers run with their own');
  p('configuration.');
  p();
  p('| tracker | p50 (µs) | p99 (µs) | mean (µs) | mean over no tracker (µs) | mean, peer ÷ microfunnel (100×20) |');
  p('| --- | ---: | ---: | ---: | ---: | ---: |');
  const m = (name) => med(samples[name].perEvent.map((x) => x.meanUs));
  for (const name of names) {
    const s = samples[name].perEvent;
    if (!s.length) continue;
    p(
      `| ${label(name)} | ${spread(s.map((x) => x.p50), (n) => fix(n, 0))} | ${spread(s.map((x) => x.p99), (n) => fix(n, 0))} | ` +
        `${spread(s.map((x) => x.meanUs))} | ${name === 'none' ? '' : fix(m(name) - m('none'))} | ` +
        `${name === 'none' || name.startsWith('microfunnel') ? '' : ratio(m(name) - m('none'), m('microfunnel-100x20') - m('none'))} |`,
    );
  }
  p();
  if (r.profile) {
    const kinds = r.profile.kinds;
    // The loop pauses between blocks, so the profile is partly idle: shares are of busy time.
    const totalUs = Object.entries(kinds)
      .filter(([kind]) => kind !== IDLE)
      .reduce((a, [, b]) => a + b, 0);
    p('Where microfunnel’s time goes (100 triggers, 20 funnels), from one CPU profile of the same');
    p('loop sampled every 20 µs: self time by where the code lives. The wasm-bindgen glue is the');
    p('crossing itself (copying strings in and out, the import shims); browser built-ins are the');
    p('DOM reads the wasm asks for (`closest`, `matches`, attributes, text), JSON and RegExp.');
    p();
    p('| where | self time (ms) | share of busy time |');
    p('| --- | ---: | ---: |');
    for (const [kind, us] of Object.entries(kinds).sort((a, b) => b[1] - a[1])) {
      const share = kind === IDLE ? '' : `${fix((us / totalUs) * 100, 0)} %`;
      p(`| ${kind} | ${fix(us / 1000)} | ${share} |`);
    }
    p();
    p('The functions with the most self time in that profile (wasm functions have no names in the');
    p('shipped module and show as their index):');
    p();
    p('| function (file:line:column) | self time (ms) | share of busy time |');
    p('| --- | ---: | ---: |');
    for (const [name, us] of r.profile.top) {
      p(`| \`${name.replace(/\|/g, '\\|')}\` | ${fix(us / 1000)} | ${fix((us / totalUs) * 100, 0)} % |`);
    }
    p();
  }

  // Engine.
  p('## The engine alone (native)');
  p();
  p('`bench/engine`: criterion runs the journey’s 16 kinds of observation (page view, clicks on a');
  p('CTA, text, a nav link and a PDF link, scroll, video play and progress, a form submit,');
  p('data-layer pushes) through `Engine::observe` with `bench/fixtures/config-100x20.json`, and');
  p('does what the page does with the result: each event written as JSON into the send queue, the');
  p('state written when it changed, a batch body built when the queue is due. Regexes are compiled');
  p('once and kept, as the page keeps its `RegExp`s. One thread, release profile (`opt-level = 3`;');
  p('the wasm is built for size with `opt-level = "z"`, so it is slower than this).');
  p();
  if (engine.error) p(`Not measured: ${engine.error}.`);
  else {
    const ns = engine.nsPerObservation;
    p(`| figure | value |`);
    p('| --- | ---: |');
    p(`| time per observation (ns), median over ${engine.samples} criterion samples (min–max) | ${fix(ns.median, 0)} (${fix(ns.min, 0)}–${fix(ns.max, 0)}) |`);
    p(`| observations per second, one core | ${int(1e9 / ns.median)} |`);
    if (engine.soak) {
      const per = engine.soak.per_observation;
      p(`| events made per observation | ${fix(per.events, 2)} |`);
      p(`| events per second, one core | ${int((1e9 / ns.median) * per.events)} |`);
      p(`| heap allocations per observation | ${fix(per.allocations, 1)} |`);
      p(`| heap allocations per event | ${fix(per.allocations_per_event, 1)} |`);
      p(`| bytes allocated per observation | ${int(per.bytes_allocated)} |`);
    }
  }
  p();
  p('Allocations are counted by a global allocator in `bench/engine/src/bin/soak.rs` over 10,000');
  p('observations after a 1,000-observation warm-up.');
  p();

  // Memory.
  p('## Memory');
  p();
  p(`In the page, after the per-event loop (${int(r.events)} events) and a forced garbage collection: the JS`);
  p('heap (`JSHeapUsedSize`) and the WebAssembly memory (`memory.buffer.byteLength`), which only');
  p('grows in 64 KiB pages and never shrinks.');
  p();
  p('| tracker | JS heap (KB) | over no tracker (KB) | wasm memory (KB) | queued events | kept in `events()` |');
  p('| --- | ---: | ---: | ---: | ---: | ---: |');
  const heapNone = med(samples.none.perEvent.map((x) => x.heapBytes));
  for (const name of names) {
    const s = samples[name].perEvent;
    if (!s.length) continue;
    const heap = med(s.map((x) => x.heapBytes));
    const last = s[s.length - 1];
    const waiting = last.queued && Array.isArray(last.queued.waiting) ? last.queued.waiting : null;
    const queued = waiting ? `${waiting.length} (${last.queued.dropped} dropped)` : '–';
    p(
      `| ${label(name)} | ${spread(s.map((x) => x.heapBytes / 1000), (n) => fix(n, 0))} | ${name === 'none' ? '' : fix((heap - heapNone) / 1000, 0)} | ` +
        `${name.startsWith('microfunnel') ? spread(s.map((x) => x.wasmBytes / 1000), (n) => fix(n, 0)) : '–'} | ${queued} | ${last.recent ?? '–'} |`,
    );
  }
  p();
  if (engine.soak) {
    p('The soak, natively, on a simulated clock (observations 250 ms apart, a 31-minute pause every');
    p('5,000 so sessions end and funnels expire), counting the live heap of the whole process:');
    p();
    p('| after observations | live heap (bytes) | queued | stored state (bytes) | batch bodies built |');
    p('| ---: | ---: | ---: | ---: | ---: |');
    for (const [key, v] of Object.entries(engine.soak)) {
      if (!key.startsWith('after_')) continue;
      p(`| ${int(Number(key.slice(6)))} | ${int(v.live_heap_bytes)} | ${v.queue} | ${int(v.state_bytes)} | ${int(v.bodies)} |`);
    }
    p();
    p(`${int(engine.soak.soak.observations)} observations took ${engine.soak.soak.seconds} s with the counting allocator.`);
    p();
  } else if (engine.soakError) {
    p(`Soak not measured: ${engine.soakError}.`);
    p();
  }

  // Capture.
  p('## What each tracker captures here');
  p();
  p('| tracker | captures | cannot capture (as configured) |');
  p('| --- | --- | --- |');
  p('| microfunnel | page views; clicks resolved to the configured element (CTAs, buttons, any selector) with conditions; scroll-depth thresholds; video start, progress thresholds and completion; file downloads; form submits; data-layer events; funnels evaluated in the page | route changes without a page load (no history listener); element visibility |');
  for (const peer of peers) {
    if (peer.sizeOnly) continue;
    p(`| ${peer.label} | ${peer.captures} | ${peer.cannot} |`);
  }
  p();

  // Goals.
  p('## Against the goals');
  p();
  const gz = ours.gzip;
  const ns = engine.nsPerObservation?.median;
  const p99 = med(samples['microfunnel-100x20'].perEvent.map((x) => x.p99));
  const epsObs = ns ? 1e9 / ns : NaN;
  const missBy = (value, goal) => (value <= goal ? 'met' : `missed by ${fix(value - goal, 1)}`);
  p('| goal | measured | verdict |');
  p('| --- | ---: | --- |');
  p(`| every file shipped at or under 30 KB gzip | ${KB(gz)} KB | ${gz <= 30000 ? 'met' : `missed by ${KB(gz - 30000)} KB`} |`);
  for (const [name, entry] of Object.entries(sizes)) {
    if (name === 'microfunnel') continue;
    p(`| smaller than ${label(name)} | ${KB(entry.total.gzip)} KB | ${gz < entry.total.gzip ? 'met' : `missed by ${KB(gz - entry.total.gzip)} KB`} |`);
  }
  for (const name of trackers) {
    if (name.startsWith('microfunnel') || !samples[name].journey.length) continue;
    const extra = j(name, 'scriptMs') - none.script;
    p(`| less main-thread script per journey than ${label(name)} | ${fix(ourExtra, 0)} vs ${fix(extra, 0)} ms | ${ourExtra < extra ? 'met' : `missed by ${fix(ourExtra - extra, 0)} ms`} |`);
  }
  p(`| p99 per event under 50 µs (100 triggers, 20 funnels) | ${fix(p99, 0)} µs | ${missBy(p99, 50) === 'met' ? 'met' : `missed by ${fix(p99 - 50, 0)} µs`} |`);
  p(`| native engine above 1,000,000 observations per second | ${int(epsObs)} | ${epsObs > 1e6 ? 'met' : `missed: ${fix(1e6 / epsObs, 1)}× too slow`} |`);
  p();

  // Why.
  p('## Why the goals are missed, and what would close them');
  p();
  const wasm = sizes.microfunnel.files.find((f) => f.name === 'mf_bg.wasm');
  if (gz > 30000) {
    p(`- **Bytes.** The wasm is ${int(wasm.gzip)} B of the ${int(gz)} B gzip (${fix((wasm.gzip / gz) * 100, 0)} %).`);
    if (r.contents) {
      const c = r.contents;
      const big = c.top.filter((item) => /tracker::(start|run)::/.test(item.name));
      const bigBytes = big.reduce((n, item) => n + item.bytes, 0);
      const std = (c.byPlace.core ?? 0) + (c.byPlace.alloc ?? 0) + (c.byPlace.std ?? 0);
      p(`  \`start\` and \`run\` hold ${int(bigBytes)} B raw (${fix((bigBytes / c.total) * 100, 0)} % of the wasm): wasm-opt`);
      p('  inlined the config decoder (with its JSON-path messages) into `start` and the engine’s hot');
      p(`  path into \`run\`. The standard library’s formatting and collections (\`core\`, \`alloc\`, \`std\`)`);
      p(`  hold ${int(std)} B (${fix((std / c.total) * 100, 0)} %), and wasm-bindgen’s shims and exports ${int(c.byPlace['wasm-bindgen shims, exports and unnamed code'] ?? 0)} B.`);
    }
    p('  What would close it: validate the config when it is written and ship a compact form, so');
    p('  the decoder and its messages leave the page; no `format!` on the paths the page runs, so');
    p('  `core::fmt` goes; fewer exports with multiple return values (each has its own shim). Half');
    p('  the bytes have to go, so no one of these is enough on its own.');
  }
  if (Number.isFinite(p99) && p99 >= 50) {
    const k = r.profile?.kinds ?? {};
    const all = Object.entries(k)
      .filter(([kind]) => kind !== IDLE)
      .reduce((a, [, b]) => a + b, 0);
    const share = (name) => fix(((k[name] ?? 0) / all) * 100, 0);
    const setItem = r.profile?.top.find(([name]) => name.startsWith('setItem '));
    p(`- **Per event.** p99 is ${fix(p99, 0)} µs against 50 µs and p50 ${fix(med(samples['microfunnel-100x20'].perEvent.map((x) => x.p50)), 0)} µs. In the profile above the loader`);
    p(`  takes ${share('loader')} % of the busy time${setItem ? ` and \`localStorage.setItem\` ${fix((setItem[1] / all) * 100, 0)} %` : ''}, the wasm ${share('wasm (the engine)')} %, the crossings`);
    p(`  ${share('wasm-bindgen glue (the crossings)')} %. The slow events are the ones that send (a`);
    p('  batch of 20 events with 100 triggers is large; its body is stored before it goes, and');
    p('  `fetch` itself costs) and, on every event, the save of the tracker\'s state to');
    p('  `localStorage`. What would close it: send from a timer rather than inside the event that');
    p('  fills the batch, and save the state on page hide and at most once a second rather than');
    p('  after every observation. (The store of unanswered bodies is one key per body since the');
    p('  run of 2026-12-04; before, every send rewrote all of them.)');
  }
  const heavier = trackers.filter(
    (name) => !name.startsWith('microfunnel') && samples[name].journey.length && j(name, 'scriptMs') - none.script < ourExtra,
  );
  if (heavier.length) {
    p(`- **Main thread.** ${heavier.map(label).join(', ')} used less script time over the journey; see the`);
    p('  capture table: each of them listens for less (no scroll depth, media or element clicks),');
    p('  and microfunnel’s per-event costs above apply to every input it sees.');
  }
  if (engine.soak && Number.isFinite(epsObs) && epsObs <= 1e6) {
    const per = engine.soak.per_observation;
    p(`- **Native engine.** ${int(epsObs)} observations per second, with ${fix(per.allocations, 0)} allocations and`);
    p(`  ${int(per.bytes_allocated)} B allocated per observation. From reading \`src/engine.rs\` (not measured one by one):`);
    p('  every trigger of the observation’s kind writes a `format!`ted explanation (“did not fire:');
    p('  …”) and finds its slot by comparing trigger ids, so a click costs dozens of strings with');
    p('  100 triggers; every event clones the page and the segment; the state is written out again');
    p('  after each change. What would close it: keep explanations as a reason code by trigger');
    p('  index and write the text only when `explain()` asks, share the page and segment between');
    p('  events, and write the state once per batch.');
  }
  p();

  // Left out.
  p('## Not measured');
  p();
  for (const item of NOT_MEASURED) p(`- **${item.name}**: ${item.why}.`);
  for (const [name, why] of Object.entries(failures)) p(`- **${label(name)}**: ${why}.`);
  for (const name of names) {
    const s = samples[name];
    if (s.external.size) p(`- ${label(name)} tried to reach ${[...s.external].join(', ')} (blocked; no network here).`);
    if (s.errors.size) p(`- ${label(name)} threw in the page: ${[...s.errors].slice(0, 3).join('; ')}.`);
  }
  p();
  return lines.join('\n');
}
