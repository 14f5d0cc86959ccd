// node --test functions/console/web/test/
//
// Runs build.mjs as build.rs will and checks what it leaves behind.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';

const build = join(dirname(fileURLToPath(import.meta.url)), '..', 'build.mjs');

function run(outDir, cwd = tmpdir()) {
  // Run from an unrelated directory: the build must not depend on the cwd.
  return execFileSync(process.execPath, [build, outDir], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

const dirs = [];
function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'console-web-'));
  dirs.push(dir);
  return dir;
}
test.after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

test('build writes hashed entries, compressed siblings and the manifest', () => {
  const out = tempDir();
  writeFileSync(join(out, 'post-OLDHASH1.js'), 'stale'); // left by an earlier build
  writeFileSync(join(out, 'unrelated.txt'), 'keep');
  const stdout = run(out);
  assert.equal(stdout, '', 'nothing on stdout');

  const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
  assert.deepEqual(Object.keys(manifest), ['post.js', 'status.js', 'console.css']);
  assert.match(manifest['post.js'].file, /^post-[A-Z0-9]{8}\.js$/);
  assert.match(manifest['status.js'].file, /^status-[A-Z0-9]{8}\.js$/);
  assert.match(manifest['console.css'].file, /^console-[A-Z0-9]{8}\.css$/);
  assert.equal(manifest['post.js'].content_type, 'text/javascript; charset=utf-8');
  assert.equal(manifest['status.js'].content_type, 'text/javascript; charset=utf-8');
  assert.equal(manifest['console.css'].content_type, 'text/css; charset=utf-8');

  const expected = ['manifest.json', 'unrelated.txt'];
  for (const { file } of Object.values(manifest)) expected.push(file, `${file}.br`, `${file}.gz`);
  assert.deepEqual(readdirSync(out).sort(), expected.sort(), 'exactly these files; no maps, no stale hashes');

  let gzipped = 0;
  for (const { file } of Object.values(manifest)) {
    const raw = readFileSync(join(out, file));
    const gz = readFileSync(join(out, `${file}.gz`));
    assert.ok(raw.length > 0, file);
    assert.ok(gunzipSync(gz).equals(raw), `${file}.gz`);
    assert.ok(brotliDecompressSync(readFileSync(join(out, `${file}.br`))).equals(raw), `${file}.br`);
    assert.doesNotMatch(raw.toString('utf8'), /sourceMappingURL/, file);
    gzipped += gz.length;
  }
  assert.ok(gzipped < 100 * 1024, `all three gzipped: ${gzipped} bytes, limit 100 KB`);

  const css = readFileSync(join(out, manifest['console.css'].file), 'utf8');
  assert.match(css, /\.uppy-StatusBar/, "@uppy/status-bar's CSS is bundled in");
  const post = readFileSync(join(out, manifest['post.js'].file), 'utf8');
  assert.match(post, /Branded content visibility cannot be set to private\./);
});

test('same inputs give the same names and bytes', () => {
  const a = tempDir();
  const b = tempDir();
  run(a);
  run(b, dirname(build));
  const files = readdirSync(a).sort();
  assert.deepEqual(readdirSync(b).sort(), files);
  for (const file of files) {
    assert.ok(readFileSync(join(a, file)).equals(readFileSync(join(b, file))), file);
  }
});

test('a bad command line fails with a message', () => {
  assert.throws(
    () => execFileSync(process.execPath, [build], { stdio: ['ignore', 'pipe', 'pipe'] }),
    (err) => err.status !== 0 && /usage/.test(err.stderr.toString()),
  );
});

test('without node_modules it says to run npm ci', () => {
  // A copy of build.mjs in a tree with no node_modules above it.
  const tree = tempDir();
  const copy = join(tree, 'functions', 'console', 'web', 'build.mjs');
  mkdirSync(dirname(copy), { recursive: true });
  copyFileSync(build, copy);
  assert.throws(
    () => execFileSync(process.execPath, [copy, join(tree, 'out')], {
      cwd: tree,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_PATH: '' },
    }),
    (err) => err.status !== 0 && /run npm ci at the repository root/.test(err.stderr.toString()),
  );
});
