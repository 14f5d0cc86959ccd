// A manual end-to-end check of post.js in a real browser, outside `node --test`
// (it needs Chromium and ffmpeg):
//
//   node functions/console/web/smoke/run.mjs            # both pages
//   node functions/console/web/smoke/run.mjs video      # or photos
//
// It builds the assets, serves the DOM contract page (video.html /
// photos.html) under the console's CSP, fakes the sign endpoint, S3's
// multipart API and POST /console/posts, and lets a harness script in the
// page drive the controls. Each line is "ok" or "FAIL"; the exit code is the
// number of failures. CSP violations count as failures.

import http from 'node:http';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const CHROMIUM = process.env.CHROMIUM ?? ['/usr/lib/chromium/chromium', '/usr/bin/chromium'].find(existsSync);
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
  "img-src 'self' blob: data:; media-src 'self' blob:; report-uri /csp";

async function runPage(mode, work) {
  const manifest = JSON.parse(readFileSync(join(work, 'out', 'manifest.json'), 'utf8'));
  const log = [];
  let failures = 0;
  let posts = 0;
  let creates = 0;
  const say = (ok, what) => {
    if (!ok) failures++;
    console.log(`${ok ? 'ok  ' : 'FAIL'} [${mode}] ${what}`);
  };

  return new Promise((resolveRun) => {
    let chrome;
    let timer;
    let done = false;
    const finish = () => {
      clearTimeout(timer);
      chrome?.kill();
      server.close();
      resolveRun(failures);
    };

    const server = http.createServer(async (req, res) => {
      const chunks = [];
      for await (const chunk of req) chunks.push(chunk);
      const body = Buffer.concat(chunks);
      const url = new URL(req.url, 'http://x');
      const origin = `http://${req.headers.host}`;
      log.push(`${req.method} ${url.pathname}`);
      const send = (status, type, data = '', headers = {}) => {
        res.writeHead(status, { 'Content-Type': type, ...headers });
        res.end(data);
      };
      const path = url.pathname;

      if (path === '/') return send(200, 'text/html', readFileSync(join(here, `${mode}.html`)), { 'Content-Security-Policy': CSP });
      if (path.startsWith('/assets/')) {
        const entry = manifest[path.slice('/assets/'.length)];
        return send(200, entry.content_type, readFileSync(join(work, 'out', entry.file)));
      }
      if (path.endsWith('.harness.js')) return send(200, 'text/javascript', readFileSync(join(here, path.slice(1))));
      if (path.startsWith('/fixtures/')) return send(200, 'video/webm', readFileSync(join(work, path.slice('/fixtures/'.length))));
      if (path === '/csp') {
        say(false, `CSP violation ${body}`);
        return send(204, 'text/plain');
      }
      if (path === '/report') {
        const { phase, results } = JSON.parse(body);
        for (const r of results) say(r.ok, `${phase}: ${r.name}${r.ok ? '' : ` :: ${JSON.stringify(r.extra)}`}`);
        if (phase === 'before-press') {
          const early = log.filter((l) => /sign|\/s3\//.test(l));
          say(early.length === 0, `no sign or S3 request before the press ${early.length ? JSON.stringify(early) : ''}`);
        }
        send(204, 'text/plain');
        if (phase === 'exception') finish();
        return undefined;
      }
      if (path === '/console/uploads/sign') {
        const j = JSON.parse(body);
        say(req.headers['x-csrf-token'] === 'TOKEN' && req.headers['content-type'] === 'application/json', `sign ${JSON.stringify(j)}`);
        if (j.method === 'POST' && !j.uploadId) {
          creates++;
          const key = `console/uploads/${creates}-${j.filename}`; // the server picks the key
          return send(200, 'application/json', JSON.stringify({ url: `${origin}/s3/${key}?uploads`, key }));
        }
        const q = j.partNumber ? `partNumber=${j.partNumber}&uploadId=${j.uploadId}` : `uploadId=${j.uploadId}`;
        return send(200, 'application/json', JSON.stringify({ url: `${origin}/s3/${j.key}?${q}` }));
      }
      if (path.startsWith('/s3/')) {
        const key = path.slice('/s3/'.length);
        if (req.method === 'POST' && url.searchParams.has('uploads')) {
          return send(200, 'application/xml', `<?xml version="1.0"?><InitiateMultipartUploadResult><Bucket>b</Bucket><Key>${key}</Key><UploadId>UP1</UploadId></InitiateMultipartUploadResult>`);
        }
        if (req.method === 'PUT') return send(200, 'text/plain', '', { ETag: '"etag1"' });
        if (req.method === 'POST') {
          return send(200, 'application/xml', `<?xml version="1.0"?><CompleteMultipartUploadResult><Location>${origin}/s3/${key}</Location><Bucket>b</Bucket><Key>${key}</Key><ETag>"x-1"</ETag></CompleteMultipartUploadResult>`);
        }
      }
      if (path === '/console/posts' && req.method === 'POST') {
        posts++;
        say(
          req.headers['content-type'] === 'application/x-www-form-urlencoded' && req.headers['x-csrf-token'] === 'TOKEN',
          `form post #${posts}: ${body}`,
        );
        const form = new URLSearchParams(body.toString());
        if (mode === 'video') {
          say(form.get('key') === 'console/uploads/1-small.webm', 'the server\'s key is posted');
          if (posts === 1) {
            return send(422, 'application/json', JSON.stringify({ error: { message: 'Title is not allowed.', field: 'title' } }));
          }
        } else {
          say(
            form.getAll('images').map((k) => k.replace(/^console\/uploads\/\d+-/, '')).join() === 'b-first.png,a-second.png,c-third.png',
            'images posted in the order picked',
          );
        }
        return send(303, 'text/plain', '', { Location: '/posts/1' });
      }
      if (path === '/posts/1') {
        send(200, 'text/html', '<p>posted</p>');
        // fetch() follows the 303, then post.js navigates: two GETs.
        if (!done) {
          done = true;
          say(creates === (mode === 'video' ? 1 : 3), `one upload per file, none repeated (${creates})`);
          setTimeout(finish, 300);
        }
        return undefined;
      }
      return send(404, 'text/plain', 'not found');
    });

    server.listen(0, '127.0.0.1', () => {
      chrome = spawn(
        CHROMIUM,
        ['--headless=new', '--no-sandbox', '--disable-gpu', '--mute-audio', `--user-data-dir=${join(work, `profile-${mode}`)}`, `http://127.0.0.1:${server.address().port}/`],
        { stdio: 'ignore' },
      );
      timer = setTimeout(() => {
        say(false, 'timed out');
        finish();
      }, 60_000);
    });
  });
}

const work = mkdtempSync(join(tmpdir(), 'console-web-smoke-'));
try {
  execFileSync(process.execPath, [join(here, '..', 'build.mjs'), join(work, 'out')], { stdio: 'inherit' });
  for (const [name, seconds] of [['small.webm', 3], ['long.webm', 12]]) {
    execFileSync('ffmpeg', ['-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10', '-t', String(seconds), '-c:v', 'libvpx-vp9', '-b:v', '50k', join(work, name)]);
  }
  const modes = process.argv[2] ? [process.argv[2]] : ['video', 'photos'];
  let failures = 0;
  for (const mode of modes) failures += await runPage(mode, work);
  console.log(failures ? `SMOKE FAILED: ${failures}` : 'SMOKE OK');
  process.exitCode = Math.min(failures, 100);
} finally {
  // Chromium's children may still be closing their profile.
  await new Promise((r) => setTimeout(r, 1000));
  rmSync(work, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
}
