#!/usr/bin/env node
// Bundles the console's browser assets:
//
//   node functions/console/web/build.mjs OUT_DIR
//
// writes into OUT_DIR each hashed entry output (post-HASH.js, status-HASH.js,
// console-HASH.css) with .br and .gz siblings, and manifest.json mapping each
// entry's source name to {file, content_type}. The console's build.rs runs
// this, so: offline, deterministic, silent on success apart from one summary
// line on stderr, and a non-zero exit with a message on any error.

import { createRequire } from 'node:module';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
const srcDir = join(here, 'src');

const ENTRIES = ['post.js', 'status.js', 'console.css'];
const CONTENT_TYPES = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};
// What an earlier run may have left in OUT_DIR (removed so stale hashes do
// not pile up next to the new ones).
const OUR_FILE = /^(post|status|console)-[A-Z0-9]+\.(js|css)(\.br|\.gz)?$/;

function fail(message) {
  process.stderr.write(`build.mjs: ${message}\n`);
  process.exit(1);
}

async function loadEsbuild() {
  const require = createRequire(join(root, 'package.json'));
  let path;
  try {
    path = require.resolve('esbuild');
  } catch {
    fail(`esbuild is not installed (no ${join(root, 'node_modules/esbuild')}): run npm ci at the repository root`);
  }
  return import(path).then((m) => m.default ?? m);
}

function compressBrotli(data) {
  return brotliCompressSync(data, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
      [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
    },
  });
}

function kb(n) {
  return `${(n / 1024).toFixed(1)} KB`;
}

async function main() {
  const outArg = process.argv[2];
  if (!outArg || process.argv.length > 3) fail('usage: node functions/console/web/build.mjs OUT_DIR');
  const outDir = resolve(outArg);
  const esbuild = await loadEsbuild();

  let result;
  try {
    result = await esbuild.build({
      // Paths in hashes and the metafile are relative to the repository, so
      // the names do not depend on where the checkout lives or the cwd.
      absWorkingDir: root,
      entryPoints: ENTRIES.map((name) => relative(root, join(srcDir, name))),
      bundle: true,
      minify: true,
      format: 'esm',
      target: 'es2020',
      entryNames: '[name]-[hash]',
      assetNames: '[name]-[hash]',
      outdir: relative(root, outDir) || '.',
      metafile: true,
      write: false,
      sourcemap: false,
      legalComments: 'eof',
      charset: 'utf8',
      logLevel: 'silent',
      // Never read node_modules outside this repository.
      nodePaths: [],
    });
  } catch (err) {
    const messages = err.errors?.length
      ? (await esbuild.formatMessages(err.errors, { kind: 'error', color: false })).join('')
      : `${err.message}\n`;
    const hint = /Could not resolve/.test(messages) ? '(run npm ci at the repository root)\n' : '';
    fail(`esbuild failed:\n${messages}${hint}`);
  }
  if (result.warnings.length) {
    // Treated as errors: build.rs would hide them, and a warning here has so
    // far always meant a real problem (a bad @import, a missing export).
    const text = await esbuild.formatMessages(result.warnings, { kind: 'warning', color: false });
    fail(`esbuild warnings:\n${text.join('')}`);
  }

  mkdirSync(outDir, { recursive: true });
  for (const name of readdirSync(outDir)) {
    if (OUR_FILE.test(name)) rmSync(join(outDir, name));
  }

  const outputs = result.metafile.outputs;
  const manifest = {};
  const summary = [];
  for (const file of result.outputFiles) {
    const name = basename(file.path);
    writeFileSync(file.path, file.contents);
    const gz = gzipSync(file.contents, { level: 9 });
    writeFileSync(`${file.path}.gz`, gz);
    writeFileSync(`${file.path}.br`, compressBrotli(file.contents));

    const meta = outputs[relative(root, file.path).split('\\').join('/')];
    const entry = meta?.entryPoint && basename(meta.entryPoint);
    if (entry && ENTRIES.includes(entry)) {
      const ext = name.slice(name.lastIndexOf('.'));
      manifest[entry] = { file: name, content_type: CONTENT_TYPES[ext] };
      summary.push(`${name} ${kb(file.contents.length)} (${kb(gz.length)} gz)`);
    }
  }
  const missing = ENTRIES.filter((entry) => !manifest[entry]);
  if (missing.length) fail(`no output found for ${missing.join(', ')}`);

  const sorted = Object.fromEntries(ENTRIES.map((entry) => [entry, manifest[entry]]));
  writeFileSync(join(outDir, 'manifest.json'), `${JSON.stringify(sorted, null, 2)}\n`);
  process.stderr.write(`console web assets: ${summary.join(', ')}\n`);
}

main().catch((err) => fail(err?.stack ?? String(err)));
