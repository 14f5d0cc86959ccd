// The local media origin (media-origin.mjs): https on a hostname that only its own authority
// vouches for, the CloudFront Function in front, and the signed version's bytes out of S3.
// S3 here is a small stand-in that keeps two versions of one object; the HTTP API another,
// which echoes what reached it.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMediaOrigin } from "./media-origin.mjs";

const HOST = "media.tiktok-publish.test";
const KEY = "local-media-key-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ";
const VERSIONS = { "v-old": Buffer.from("old bytes"), "v-new": Buffer.alloc(70_000, 7) };
const OBJECT = "/bucket/uploads/open-1/my clip.mp4";
let s3, api, origin, dir;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "media-origin-"));
  s3 = http.createServer((req, res) => {
    const url = new URL(req.url, "http://s3");
    const body = decodeURIComponent(url.pathname) === OBJECT && VERSIONS[url.searchParams.get("versionId")];
    if (!body) return res.writeHead(404).end();
    res.writeHead(200, { "content-type": "video/mp4", "content-length": body.length, "x-amz-version-id": "leak" });
    res.end(req.method === "HEAD" ? undefined : body);
  });
  await new Promise((resolve) => s3.listen(0, "127.0.0.1", resolve));
  api = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      res.writeHead(req.url.startsWith("/oauth/start") ? 302 : 200, [
        "content-type", "application/json", "location", "https://tiktok.test/authorize",
        "set-cookie", "a=1; Secure", "set-cookie", "b=2; Secure",
      ]);
      res.end(JSON.stringify({ method: req.method, url: req.url, host: req.headers.host,
        signature: req.headers["tiktok-signature"], body: Buffer.concat(chunks).toString() }));
    });
  });
  await new Promise((resolve) => api.listen(0, "127.0.0.1", resolve));
  origin = await startMediaOrigin({
    dir, host: HOST, s3: `http://127.0.0.1:${s3.address().port}`, bucket: "bucket", signingKey: KEY,
    verificationFile: "tiktokAbC.txt", verificationText: "tiktok-developers-site-verification=AbC",
    api: `http://127.0.0.1:${api.address().port}`, controlPort: 0,
  });
});

after(() => {
  origin.close();
  s3.close();
  api.close();
  rmSync(dir, { recursive: true, force: true });
});

function signed(path, version, expires = Math.floor(Date.now() / 1000) + 600) {
  const sig = createHmac("sha256", KEY).update(`GET\n${path}\n${version}\n${expires}`).digest("base64url");
  return `${path}?v=${version}&exp=${expires}&sig=${sig}`;
}

// A client that knows the name only through the authority the origin made, as TikTok's
// stand-ins do: the name resolves to 127.0.0.1, and the certificate must match it.
function get(path, { trustTheAuthority = true, method = "GET", body, headers = {} } = {}) {
  const ca = trustTheAuthority ? readFileSync(origin.ca) : undefined;
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: HOST, port: origin.port, path, method, ca, agent: false, headers,
      lookup: (_name, options, callback) => (options.all ? callback(null, [{ address: "127.0.0.1", family: 4 }]) : callback(null, "127.0.0.1", 4)),
    }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

test("a signed URL gets exactly the signed version's bytes, with no redirect", async () => {
  const answer = await get(signed("/media/uploads/open-1/my%20clip.mp4", "v-new"));
  assert.equal(answer.status, 200);
  assert.ok(answer.body.equals(VERSIONS["v-new"]));
  assert.equal(answer.headers["content-length"], String(VERSIONS["v-new"].length));
  assert.equal(answer.headers.location, undefined);
  assert.equal(answer.headers["x-amz-version-id"], undefined, "S3's own headers stay behind");
  const old = await get(signed("/media/uploads/open-1/my%20clip.mp4", "v-old"));
  assert.equal(old.body.toString(), "old bytes");
});

test("unsigned, expired and missing objects are refused; other methods too", async () => {
  assert.equal((await get("/media/uploads/open-1/my%20clip.mp4")).status, 403);
  const expired = signed("/media/uploads/open-1/my%20clip.mp4", "v-new", Math.floor(Date.now() / 1000) - 1);
  assert.equal((await get(expired)).status, 403);
  assert.equal((await get(signed("/media/uploads/open-1/gone.mp4", "v-new"))).status, 403);
  assert.equal((await get(signed("/media/uploads/open-1/my%20clip.mp4", "v-new"), { method: "DELETE" })).status, 403);
  assert.equal((await get("/other/path")).status, 404);
});

test("/oauth/* and /webhooks/* go on to the HTTP API, answered as the API answered", async () => {
  const start = await get("/oauth/start?t=abc");
  assert.equal(start.status, 302);
  assert.equal(start.headers.location, "https://tiktok.test/authorize");
  assert.deepEqual(start.headers["set-cookie"], ["a=1; Secure", "b=2; Secure"]);
  const seen = JSON.parse(start.body);
  assert.equal(seen.url, "/oauth/start?t=abc");
  assert.notEqual(seen.host, `${HOST}:${origin.port}`, "the API gets its own Host");
  const hook = await get("/webhooks/tiktok", {
    method: "POST", body: '{"event":"post.publish.complete"}', headers: { "tiktok-signature": "t=1,s=x" },
  });
  assert.equal(hook.status, 200);
  assert.deepEqual(JSON.parse(hook.body), {
    method: "POST", url: "/webhooks/tiktok", host: JSON.parse(hook.body).host,
    signature: "t=1,s=x", body: '{"event":"post.publish.complete"}',
  });
  // The /oauth/* behaviour allows GET and HEAD only.
  assert.equal((await get("/oauth/callback", { method: "POST", body: "x" })).status, 403);
});

test("the control port moves the clock: a URL still valid now is judged expired later", async () => {
  const url = signed("/media/uploads/open-1/my%20clip.mp4", "v-new", Math.floor(Date.now() / 1000) + 600);
  const setClock = (body) => fetch(`${origin.control}/clock`, { method: "PUT", body });
  assert.equal((await setClock(JSON.stringify({ offset_seconds: 601 }))).status, 204);
  try {
    assert.equal((await get(url)).status, 403);
  } finally {
    assert.equal((await setClock(JSON.stringify({ offset_seconds: 0 }))).status, 204);
  }
  assert.equal((await get(url)).status, 200);
  assert.equal((await setClock('{"offset_seconds": "soon"}')).status, 400);
});

test("the control port holds media requests until released, and only signed ones", async () => {
  const url = signed("/media/uploads/open-1/my%20clip.mp4", "v-new");
  const setHold = (body) => fetch(`${origin.control}/hold`, { method: "PUT", body });
  assert.equal((await setHold(JSON.stringify({ hold: true }))).status, 204);
  let answered = false;
  const pending = get(url).then((answer) => { answered = true; return answer; });
  try {
    // The function still refuses at once what it would refuse.
    assert.equal((await get("/media/uploads/open-1/my%20clip.mp4")).status, 403);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(answered, false, "a held request has no answer yet");
  } finally {
    assert.equal((await setHold(JSON.stringify({ hold: false }))).status, 204);
  }
  const answer = await pending;
  assert.equal(answer.status, 200);
  assert.equal(answer.body.length, VERSIONS["v-new"].length);
  assert.equal((await setHold('{"hold": "yes"}')).status, 400);
});

test("TikTok's verification file is served at the media prefix", async () => {
  const answer = await get("/media/tiktokAbC.txt");
  assert.equal(answer.status, 200);
  assert.equal(answer.body.toString(), "tiktok-developers-site-verification=AbC");
});

test("a client that does not trust the test authority cannot connect", async () => {
  await assert.rejects(get("/media/tiktokAbC.txt", { trustTheAuthority: false }), /self[- ]signed|unable to (get|verify)/i);
});
