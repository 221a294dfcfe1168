// The benchmark's web server, on loopback only: the demo pages with the tag of the tracker
// under test swapped in, the trackers' files, and a dummy collector that answers every POST
// with 204 and keeps the bodies, so every tracker runs as it would against its own backend
// with no network at all.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.wasm': 'application/wasm',
  '.webm': 'video/webm',
  '.pdf': 'application/pdf',
};

const OUR_TAG = /<script async src="\/dist\/microfunnel\.js"[^>]*><\/script>/;

/**
 * Starts one server for one tracker, so that each has an origin (and storage) of its own and
 * the demo's paths stay as they are. `tag` is the HTML that replaces our script tag in every
 * page, after `prelude`; `files` maps extra URL paths to files. Resolves to
 * `{ origin, received, close }`; `received` holds `{ path, body }` per request to a collector.
 */
export async function serve({ www, tag, files = {}, prelude = '' }) {
  const received = [];
  const server = createServer(async (req, res) => {
    // Cross-origin isolation gives performance.now() its finest resolution (5 us instead of
    // 100 us); every file is same-origin, so nothing else changes.
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    res.setHeader('Cache-Control', 'no-store');
    try {
      await answer(req, res);
    } catch (error) {
      res.writeHead(500).end(String(error));
    }
  });

  async function answer(req, res) {
    const url = new URL(req.url, 'http://x');
    if (req.method === 'POST' || url.pathname.startsWith('/v1/') || url.pathname.startsWith('/ph/')) {
      const chunks = [];
      for await (const chunk of req) chunks.push(chunk);
      received.push({ path: url.pathname, body: Buffer.concat(chunks).toString('latin1') });
      // posthog and Segment read a JSON answer; the others ignore it.
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":1}');
      return;
    }
    if (url.pathname === '/favicon.ico') return res.writeHead(204).end();
    const page = /^\/([a-z]+\.html)?$/.exec(url.pathname);
    if (page) {
      const html = await readFile(join(www, page[1] ?? 'index.html'), 'utf8');
      return send(res, 200, '.html', html.replace(OUR_TAG, () => prelude + tag));
    }
    const file = files[url.pathname] ?? join(www, normalize(url.pathname));
    if (!file.startsWith(www) && !Object.values(files).includes(file)) {
      return res.writeHead(404).end();
    }
    try {
      return send(res, 200, extname(file), await readFile(file));
    } catch {
      return res.writeHead(404).end();
    }
  }

  function send(res, status, ext, body) {
    res.writeHead(status, { 'Content-Type': TYPES[ext] ?? 'application/octet-stream' });
    res.end(body);
  }

  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  const origin = `http://127.0.0.1:${server.address().port}`;
  return {
    origin,
    received,
    close: () => new Promise((done) => server.close(done)),
  };
}
