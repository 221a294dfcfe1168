// The report dashboard at /report: a collector filled by the traffic simulator, the page in
// headless Chromium, its charts drawn (checked on screenshots of each chart, decoded by the
// browser), its filters applied and its exports answered.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

import { launchBrowser, newVisitor, root, startCollector } from './harness.mjs';

const CHARTS = ['funnel', 'trend', 'impact', 'segments', 'experiments', 'anomalies'].map(
  (name) => `${name}-chart`,
);

const collectorBinary = () =>
  process.env.MF_COLLECTOR ?? join(root, 'target', 'debug', 'microfunnel-collector');

/** How many pixels of a PNG differ from white, and how many distinct colours it has. */
async function inkOf(page, png) {
  return page.evaluate(async (base64) => {
    const image = new Image();
    image.src = `data:image/png;base64,${base64}`;
    await image.decode();
    const canvas = new OffscreenCanvas(image.width, image.height);
    const context = canvas.getContext('2d');
    context.drawImage(image, 0, 0);
    const { data } = context.getImageData(0, 0, image.width, image.height);
    let ink = 0;
    const colours = new Set();
    for (let i = 0; i < data.length; i += 4) {
      if (data[i] < 235 || data[i + 1] < 235 || data[i + 2] < 235) {
        ink += 1;
        colours.add((data[i] >> 4) * 256 + (data[i + 1] >> 4) * 16 + (data[i + 2] >> 4));
      }
    }
    return { ink, colours: colours.size, pixels: image.width * image.height };
  }, png.toString('base64'));
}

async function waitForReady(page) {
  const ready = () => document.body.dataset.ready === 'true';
  await page.waitForFunction(ready, null, { timeout: 60_000 });
}

describe('the report dashboard', () => {
  let dir;
  let collector;
  let browser;
  let visitor;

  before(
    async () => {
      dir = await mkdtemp(join(tmpdir(), 'microfunnel-report-'));
      const db = join(dir, 'shop.sqlite');
      const args = ['simulate', '--db', db, '--visitors', '3000', '--seed', '3'];
      await promisify(execFile)(collectorBinary(), args);
      collector = await startCollector({ db });
      browser = await launchBrowser();
      visitor = await newVisitor(browser);
      await visitor.page.setViewportSize({ width: 1280, height: 2200 });
      await visitor.page.goto(`${collector.base}/report`);
      await waitForReady(visitor.page);
    },
    { timeout: 120_000 },
  );

  after(async () => {
    await browser?.close();
    await collector?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('loads every report without an error', async () => {
    const { page, errors } = visitor;
    assert.deepEqual(errors.pageErrors, []);
    assert.deepEqual(errors.consoleErrors, []);
    assert.match(await page.textContent('#status'), /^updated /);
    assert.equal(await page.locator('#funnel-table tr').count(), 5, 'a header and four steps');
    assert.match(await page.textContent('#funnel-note'), /^Checkout: 3000 attempts/);
    assert.ok((await page.locator('#impact-table tr').count()) > 3);
    assert.equal(await page.locator('#experiments-table tr').count(), 3, 'a header, a and b');
    assert.match(await page.textContent('#anomalies-table'), /click_cta/);
  });

  it('draws every chart, as its screenshot shows', async () => {
    const { page } = visitor;
    await mkdir(join(root, 'target', 'e2e'), { recursive: true });
    const full = await page.screenshot({ fullPage: true });
    await writeFile(join(root, 'target', 'e2e', 'report.png'), full);
    for (const id of CHARTS) {
      const shot = await page.locator(`#${id}`).screenshot();
      const { ink, colours, pixels } = await inkOf(page, shot);
      // Axes and labels alone cover about 2 % of a chart; bars or lines take it well past 4 %,
      // and draw in more than the axis grey and the label black.
      assert.ok(ink > pixels * 0.04, `${id}: ${ink} of ${pixels} pixels drawn`);
      assert.ok(colours >= 3, `${id}: ${colours} colours`);
    }
  });

  it('applies filters and a date range', async () => {
    const { page } = visitor;
    await page.selectOption('select[name=device]', 'mobile');
    await page.click('button[type=submit]');
    await waitForReady(page);
    const devices = await page.$$eval('#segments-table tr', (rows) =>
      rows
        .map((row) => [...row.cells].map((cell) => cell.textContent))
        .filter((cells) => cells[0] === 'device'),
    );
    assert.deepEqual(devices.map((cells) => cells[1]), ['mobile']);
    const mobileNote = await page.textContent('#funnel-note');
    const mobile = Number(/Checkout: (\d+) attempts/.exec(mobileNote)[1]);
    assert.ok(mobile > 900 && mobile < 1800, `${mobile} mobile attempts of 3000`);

    const response = await fetch(`${collector.base}/api/reports/funnel?format=json`);
    const [funnel] = await response.json();
    const day = funnel.trend[3].date;
    await page.fill('input[name=from]', day);
    await page.fill('input[name=to]', day);
    await page.selectOption('select[name=device]', '');
    await page.click('button[type=submit]');
    await waitForReady(page);
    const note = await page.textContent('#funnel-note');
    assert.match(note, new RegExp(`^Checkout: ${funnel.trend[3].entered} attempts`), note);
  });

  it('links each report to its CSV and JSON exports', async () => {
    const { page } = visitor;
    const links = await page.$$eval('section .exports a', (as) =>
      as.map((a) => [a.textContent, a.href]),
    );
    assert.equal(links.length, 14, 'two links for each of the seven sections');
    for (const [kind, href] of links) {
      const response = await fetch(href);
      assert.equal(response.status, 200, href);
      const type = response.headers.get('content-type');
      const expected = kind === 'CSV' ? 'text/csv' : 'application/json';
      assert.ok(type.startsWith(expected), `${href}: ${type}`);
    }
  });
});
