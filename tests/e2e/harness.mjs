// Shared harness for the end-to-end specs: a collector serving www/, a headless Chromium, and
// small helpers to wait for what the collector received.
//
// Environment:
//   MF_COLLECTOR  absolute path of the microfunnel-collector binary
//                 (default: target/debug, then target/release)
//   MF_CHROMIUM   the Chromium to drive (default: /usr/bin/chromium)
//   MF_ROOT       the repository root (default: two folders above this file)

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export { sleep };

export const root =
  process.env.MF_ROOT ?? resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
];

const LISTENING = /microfunnel collector listening on (https?:\/\/\S+)/;

/** Fails early, with the fix, when the tracker has not been built into www/dist. */
export function assertTrackerBuilt() {
  const loader = join(root, 'www', 'dist', 'microfunnel.js');
  if (!existsSync(loader)) {
    throw new Error(`${loader} is missing: build the tracker first (cargo xtask build)`);
  }
}

function collectorBinary() {
  if (process.env.MF_COLLECTOR) return process.env.MF_COLLECTOR;

  const candidates = ['debug', 'release'].map((profile) =>
    join(root, 'target', profile, 'microfunnel-collector'),
  );
  const found = candidates.find((path) => existsSync(path));
  if (!found) {
    throw new Error('no collector binary: set MF_COLLECTOR to the microfunnel-collector binary');
  }
  return found;
}

/**
 * Starts the collector on a free port with a fresh database, serving www/ as static files and
 * computing the funnels of www/config.json.
 * Resolves to `{ base, stop }` once it prints the address it listens on. `extra` are more flags.
 */
export async function startCollector({ listen = '127.0.0.1:0', db, extra = [] } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'microfunnel-e2e-'));
  const args = ['--listen', listen, '--db', db ?? join(dir, 'events.sqlite'), ...extra];
  args.push('--static', join(root, 'www'));
  args.push('--config', join(root, 'www', 'config.json'));

  const child = spawn(collectorBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk) => (output.stdout += chunk));
  child.stderr.on('data', (chunk) => (output.stderr += chunk));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(3000)]);
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const base = await addressOf(child, output);
    return { base, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function addressOf(child, output, timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    const explain = (why) =>
      new Error(`collector ${why}\nstdout:\n${output.stdout}\nstderr:\n${output.stderr}`);
    const timer = setTimeout(
      () => reject(explain(`printed no address in ${timeoutMs} ms`)),
      timeoutMs,
    );

    child.once('error', (error) => reject(explain(`failed to start: ${error.message}`)));
    child.once('exit', (code) => reject(explain(`exited early with code ${code}`)));
    child.stdout.on('data', () => {
      const match = LISTENING.exec(output.stdout);
      if (!match) return;
      clearTimeout(timer);
      resolve(match[1].replace(/\/$/, ''));
    });
  });
}

/** Launches the system Chromium, headless. */
export function launchBrowser() {
  const executablePath = process.env.MF_CHROMIUM || '/usr/bin/chromium';
  return chromium.launch({ executablePath, args: CHROMIUM_ARGS });
}

/**
 * Opens a fresh visitor: a new context (no cookies, no storage) and one page whose page errors
 * and console errors are collected across every navigation.
 */
export async function newVisitor(browser) {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 720 },
    acceptDownloads: true,
  });
  const page = await context.newPage();
  const errors = watchErrors(page);
  return { context, page, errors };
}

/** Collects uncaught page errors and console errors, each prefixed with the page's URL. */
export function watchErrors(page) {
  const errors = { pageErrors: [], consoleErrors: [] };
  page.on('pageerror', (error) => errors.pageErrors.push(`${page.url()}: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    errors.consoleErrors.push(`${page.url()}: ${message.text()}`);
  });
  return errors;
}

/** Every event the collector stored, oldest first. */
export async function fetchEvents(base) {
  const response = await fetch(`${base}/api/events`);
  if (!response.ok) {
    throw new Error(`GET /api/events answered ${response.status}: ${await response.text()}`);
  }
  const events = await response.json();
  if (!Array.isArray(events)) {
    throw new Error(`GET /api/events answered a non-array: ${JSON.stringify(events)}`);
  }
  return events;
}

/**
 * Polls GET /api/events until `predicate(events)` holds, and resolves to those events. Rejects
 * after `timeoutMs` with `what` and a listing of everything the collector had by then.
 */
export async function waitForEvents(base, predicate, { what, timeoutMs = 15_000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let events = [];
  let lastError = null;

  while (Date.now() < deadline) {
    try {
      events = await fetchEvents(base);
      lastError = null;
      if (predicate(events)) return events;
    } catch (error) {
      lastError = error;
    }
    await sleep(200);
  }

  const why = lastError ? `\nlast error: ${lastError.message}` : '';
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what ?? 'events'}${why}\n` +
      `the collector has ${events.length} events:\n${describeEvents(events)}`,
  );
}

/**
 * Resolves to the collector's events once their count has not changed for `quietMs`, so that
 * late batches are in before a test asserts that something did not happen.
 */
export async function waitForQuiet(base, { quietMs = 1500, timeoutMs = 15_000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let events = await fetchEvents(base);
  let stableSince = Date.now();

  while (Date.now() < deadline) {
    await sleep(250);
    const next = await fetchEvents(base);
    if (next.length !== events.length) stableSince = Date.now();
    events = next;
    if (Date.now() - stableSince >= quietMs) return events;
  }
  return events;
}

/** One line per event, for failure messages: name, page path and params. */
export function describeEvents(events) {
  if (events.length === 0) return '  (none)';
  return events
    .map((event) => `  ${event.name} ${event.page?.path ?? '?'} ${JSON.stringify(event.params)}`)
    .join('\n');
}

/** Events called `name`, optionally only those sent from the page at `path`. */
export function eventsNamed(events, name, path) {
  return events.filter((event) => event.name === name && (!path || event.page?.path === path));
}

/** Fails when the collector stored any event id twice. */
export function assertNoneTwice(events) {
  const ids = events.map((event) => event.id);
  assert.equal(new Set(ids).size, ids.length, 'no event stored twice');
}
