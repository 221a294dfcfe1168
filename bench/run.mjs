// The benchmark: microfunnel beside the trackers people know, in the same run, on the same
// pages, on this machine. Run through `cargo xtask bench`, which builds the tracker and the
// native engine benchmark first; this script writes BENCHMARKS.md.
//
// Options: --runs N (default 5), --rounds N (journey rounds per run, default 5),
// --events N (per-event dispatches per run, default 10000), --out FILE.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from './lib/server.mjs';
import { bundle, measure, total } from './lib/sizes.mjs';
import { launch, startup, journey, perEvent } from './lib/browser.mjs';
import { summary, quantile, median } from './lib/stats.mjs';
import { report } from './lib/report.mjs';
import { PEERS } from './peers/index.mjs';

const root = process.env.MF_ROOT ?? join(dirname(fileURLToPath(import.meta.url)), '..');
const www = join(root, 'www');
const dist = join(www, 'dist');
const out = join(root, 'target', 'bench', 'peers');

function option(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
}
const runs = Number(option('runs', 5));
const rounds = Number(option('rounds', 5));
const events = Number(option('events', 10000));
const output = option('out', join(root, 'BENCHMARKS.md'));

/** A tracker under test did not load its whole configuration: no figure is worth keeping. */
class ConfigError extends Error {}

function log(text) {
  console.log(`bench: ${text}`);
}

async function main() {
  const started = Date.now();
  for (const file of ['microfunnel.js', 'mf.js', 'mf_bg.wasm']) {
    if (!existsSync(join(dist, file))) throw new Error(`${file} missing: run cargo xtask build`);
  }
  const prelude = `<script>${readFileSync(join(root, 'bench/lib/prelude.js'), 'utf8')}</script>`;

  // Bytes, and the files each tracker's pages load.
  const sizes = {};
  const ours = ['microfunnel.js', 'mf.js', 'mf_bg.wasm'].map((f) =>
    measure(f, readFileSync(join(dist, f))),
  );
  sizes.microfunnel = {
    files: [...ours, measure('config.json (demo)', readFileSync(join(www, 'config.json')))],
  };
  const trackers = {
    none: { tag: '' },
    microfunnel: {
      tag: '<script async src="/dist/microfunnel.js" data-config="/config.json"></script>',
    },
    'microfunnel-100x20': {
      tag: '<script async src="/dist/microfunnel.js" data-config="/bench/config.json"></script>',
      files: { '/bench/config.json': join(root, 'bench/fixtures/config-100x20.json') },
    },
  };
  const failures = {};
  for (const peer of PEERS) {
    try {
      const file = join(out, `${peer.name}.js`);
      const bytes = await bundle(join(root, 'bench/peers', peer.entry), file);
      sizes[peer.name] = { files: [measure(`${peer.name}.js`, bytes)] };
      if (!peer.sizeOnly) {
        trackers[peer.name] = {
          tag: `<script async src="/peer/${peer.name}.js"></script>`,
          files: { [`/peer/${peer.name}.js`]: file },
        };
      }
    } catch (error) {
      failures[peer.name] = `could not be bundled: ${error.message.split('\n')[0]}`;
    }
  }
  for (const entry of Object.values(sizes)) entry.total = total(entry.files);
  log(`sizes: ${Object.entries(sizes).map(([k, v]) => `${k} ${v.total.gzip} B`).join(', ')}`);

  // One server (and so one origin, one storage) per tracker.
  const sites = {};
  for (const [name, t] of Object.entries(trackers)) {
    sites[name] = await serve({ www, tag: t.tag, files: t.files, prelude });
  }

  const browser = await launch(process.env.MF_CHROMIUM || '/usr/bin/chromium');
  const samples = {};
  for (const name of Object.keys(trackers)) {
    samples[name] = { startup: [], journey: [], perEvent: [], errors: new Set(), external: new Set() };
  }
  let profile = null;
  const note = (name, result) => {
    for (const e of result.errors ?? []) samples[name].errors.add(e);
    for (const e of result.external ?? []) samples[name].external.add(new URL(e).host);
  };
  try {
    for (let run = 0; run < runs; run++) {
      // The order rotates, so that a neighbour's build on this shared machine does not always
      // land on the same tracker.
      const names = Object.keys(trackers);
      const order = names.map((_, i) => names[(i + run) % names.length]);
      for (const name of order) {
        if (failures[name]) continue;
        try {
          const site = sites[name];
          const s = await startup(browser, site, name);
          note(name, s);
          if (s.configErrors?.length) {
            throw new ConfigError(`${name}: the tracker logged\n  ${s.configErrors.join('\n  ')}`);
          }
          if (name !== 'none') samples[name].startup.push(s);
          if (name !== 'microfunnel-100x20') {
            const j = await journey(browser, site, { rounds });
            note(name, j);
            samples[name].journey.push(j);
          }
          const p = await perEvent(browser, site, name, { count: events });
          note(name, p);
          samples[name].perEvent.push(digest(p));
          log(`run ${run + 1}/${runs} ${name} done`);
        } catch (error) {
          if (error instanceof ConfigError) throw error;
          failures[name] = `failed in run ${run + 1}: ${error.message.split('\n')[0]}`;
          log(`${name}: ${failures[name]}`);
        }
      }
    }
    // Where microfunnel's time per event goes, from one sampled CPU profile.
    log('profiling microfunnel per event');
    const profiled = await perEvent(browser, sites['microfunnel-100x20'], 'microfunnel-100x20', {
      count: events,
      profile: true,
    });
    profile = breakdown(profiled.cpu);
  } finally {
    await browser.close();
    for (const site of Object.values(sites)) await site.close();
  }

  const engine = readEngine();
  const machine = describeMachine();
  const budget = JSON.parse(readFileSync(join(dist, 'size.json'), 'utf8'));
  const contents = readContents();
  const text = report({
    runs,
    rounds,
    events,
    sizes,
    samples,
    failures,
    profile,
    engine,
    machine,
    budget,
    contents,
    peers: PEERS,
    seconds: Math.round((Date.now() - started) / 1000),
  });
  writeFileSync(output, text);
  log(`wrote ${output}`);
  // The report lists what failed; the command fails too, so that a broken scenario is not
  // mistaken for a finished run.
  const failed = Object.entries(failures).filter(([name]) => trackers[name]);
  if (failed.length) {
    throw new Error(`not every tracker was measured:\n  ${failed.map(([n, why]) => `${n}: ${why}`).join('\n  ')}`);
  }
}

/** Per-event timings reduced to what the report shows, plus memory. */
function digest(p) {
  const times = p.times;
  return {
    p50: quantile(times, 0.5) * 1000,
    p99: quantile(times, 0.99) * 1000,
    meanUs: (p.totalMs / times.length) * 1000,
    heapBytes: p.heapBytes,
    wasmBytes: p.wasmBytes,
    queued: p.queued,
    recent: p.recent,
    isolated: p.isolated,
  };
}

/** Self time by where the code lives and by function, from a CPU profile. */
function breakdown(profile) {
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const kinds = {};
  const functions = {};
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byNode.get(profile.samples[i]);
    const { url, functionName } = node.callFrame;
    let kind;
    if (url.startsWith('wasm://') || url.endsWith('.wasm')) kind = 'wasm (the engine)';
    else if (url.endsWith('/mf.js')) kind = 'wasm-bindgen glue (the crossings)';
    else if (url.endsWith('/microfunnel.js')) kind = 'loader';
    else if (url.includes('/product.html') || functionName === 'loop') kind = 'benchmark loop';
    else if (functionName === '(garbage collector)') kind = 'garbage collector';
    else if (functionName === '(idle)') kind = 'idle';
    else if (functionName === '(program)') kind = 'browser, outside JavaScript (program)';
    else if (!url) kind = `browser built-ins (DOM, JSON, RegExp)`;
    else kind = 'other';
    kinds[kind] = (kinds[kind] ?? 0) + (profile.timeDeltas[i] ?? 0);
    const file = url.split('/').pop();
    const { lineNumber, columnNumber } = node.callFrame;
    const where = url ? `${file}:${lineNumber + 1}:${columnNumber + 1}` : 'built-in';
    let key = `${functionName || '(anonymous)'} (${where})`;
    // The loader is minified to one line: the start of the function's source names it.
    if (file === 'microfunnel.js') key += ` ${loaderSource(lineNumber, columnNumber)}`;
    functions[key] = (functions[key] ?? 0) + (profile.timeDeltas[i] ?? 0);
  }
  const top = Object.entries(functions)
    .filter(([name]) => !name.startsWith('(idle)'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, 12);
  return { kinds, top };
}

let loaderLines = null;

/** The first characters of the shipped loader's source at a profile frame's position. */
function loaderSource(line, column) {
  loaderLines ??= readFileSync(join(dist, 'microfunnel.js'), 'utf8').split('\n');
  return (loaderLines[line] ?? '').slice(column, column + 70);
}

function readEngine() {
  const dir = process.env.MF_BENCH_CRITERION;
  const soakFile = process.env.MF_BENCH_SOAK;
  const result = {};
  try {
    const sample = JSON.parse(readFileSync(join(dir, 'new', 'sample.json'), 'utf8'));
    const about = JSON.parse(readFileSync(join(dir, 'new', 'benchmark.json'), 'utf8'));
    const perIteration = about.throughput?.Elements ?? NaN;
    const perObs = sample.iters.map((n, i) => sample.times[i] / n / perIteration);
    result.nsPerObservation = summary(perObs);
    result.samples = perObs.length;
  } catch (error) {
    result.error = `no criterion results (${error.message})`;
  }
  try {
    result.soak = JSON.parse(readFileSync(soakFile, 'utf8'));
  } catch (error) {
    result.soakError = `no soak results (${error.message})`;
  }
  return result;
}

/**
 * The wasm's bytes by module and its largest functions, from `twiggy top` on a twin of the
 * shipped module that keeps its names; `null` when twiggy was not run.
 */
function readContents() {
  const file = process.env.MF_BENCH_TWIGGY;
  if (!file) return null;
  const items = JSON.parse(readFileSync(file, 'utf8'));
  // The name subsections exist only in the twin.
  const shipped = items.filter((item) => !/names?" subsection|custom section 'name'/.test(item.name));
  const byPlace = {};
  for (const item of shipped) {
    const place = placeOf(item.name);
    byPlace[place] = (byPlace[place] ?? 0) + item.shallow_size;
  }
  return {
    total: shipped.reduce((n, item) => n + item.shallow_size, 0),
    byPlace,
    top: shipped.slice(0, 15).map((item) => ({ name: item.name, bytes: item.shallow_size })),
  };
}

/**
 * Where a symbol comes from: `microfunnel::<module>` for ours, the crate for the others,
 * looking through `<T as Trait>` to T and dropping v0 mangling's `[hash]`. Generic code
 * instantiated for our types (`core::ptr::drop_in_place<microfunnel::...>`) counts for `core`,
 * and whatever wasm-opt inlined counts for the function it went into: a rough split.
 */
function placeOf(name) {
  if (name.startsWith('data segment')) return 'data segments (string constants, tables)';
  if (name.includes('section headers')) return 'section headers';
  if (name.startsWith('import ')) return 'imports from the glue';
  if (!name.includes('::')) return 'wasm-bindgen shims, exports and unnamed code';
  const path = name.replace(/^<+/, '').replace(/\[[0-9a-f]+\]/g, '').split('::');
  if (path[0] === 'microfunnel') return `microfunnel::${path[1]}`;
  // `<u64 as core::fmt::Display>::fmt` belongs to the trait's crate; `<str>::find` to core.
  const crate = path[0].split(' as ').pop().replace(/^[&*]*(dyn |mut )?/, '');
  if (/^(str|char|\[u8\]|[iuf]\d+|usize|isize|bool)>?$/.test(crate)) return 'core';
  return crate === '__rustc' ? 'std' : crate;
}

function describeMachine() {
  const read = (cmd, args) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8' }).trim();
    } catch {
      return 'unknown';
    }
  };
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    chromium: read(process.env.MF_CHROMIUM || '/usr/bin/chromium', ['--version']),
    rustc: read('rustc', ['--version']),
    load: os.loadavg().map((l) => l.toFixed(1)).join(' '),
  };
}

main().catch((error) => {
  console.error(`bench: ${error.stack || error}`);
  process.exit(1);
});
