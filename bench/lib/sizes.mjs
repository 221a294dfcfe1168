// Bytes shipped: every file a page loads before the tracker is ready, raw, gzip -9 and
// brotli (quality 11), ours as `cargo xtask build` wrote them and each peer bundled and
// minified by esbuild from its npm package.
import { readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';
import { build } from 'esbuild';

/** Sizes of one file's bytes. */
export function measure(name, bytes) {
  return {
    name,
    raw: bytes.length,
    gzip: gzipSync(bytes, { level: 9 }).length,
    brotli: brotliCompressSync(bytes, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
    }).length,
  };
}

/** Bundles `entry` as one minified classic script, the way a site would ship it. */
export async function bundle(entry, outfile) {
  mkdirSync(join(outfile, '..'), { recursive: true });
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    minify: true,
    format: 'iife',
    target: 'es2019',
    logLevel: 'warning',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  return readFileSync(outfile);
}

/** Totals over files. */
export function total(files) {
  const sum = (key) => files.reduce((n, f) => n + f[key], 0);
  return { raw: sum('raw'), gzip: sum('gzip'), brotli: sum('brotli') };
}
