// The local media origin (media-origin.mjs): https on a hostname that only its own authority
// vouches for, the CloudFront Function in front, and the signed version's bytes out of S3.
// S3 here is a small stand-in that keeps two versions of one object.
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
let s3, origin, dir;

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
  origin = await startMediaOrigin({
    dir, host: HOST, s3: `http://127.0.0.1:${s3.address().port}`, bucket: "bucket", signingKey: KEY,
    verificationFile: "tiktokAbC.txt", verificationText: "tiktok-developers-site-verification=AbC",
  });
});

after(() => {
  origin.server.close();
  s3.close();
  rmSync(dir, { recursive: true, force: true });
});

function signed(path, version, expires = Math.floor(Date.now() / 1000) + 600) {
  const sig = createHmac("sha256", KEY).update(`GET\n${path}\n${version}\n${expires}`).digest("base64url");
  return `${path}?v=${version}&exp=${expires}&sig=${sig}`;
}

// A client that knows the name only through the authority the origin made, as TikTok's
// stand-ins do: the name resolves to 127.0.0.1, and the certificate must match it.
function get(path, { trustTheAuthority = true, method = "GET" } = {}) {
  const ca = trustTheAuthority ? readFileSync(origin.ca) : undefined;
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: HOST, port: origin.port, path, method, ca, agent: false,
      lookup: (_name, options, callback) => (options.all ? callback(null, [{ address: "127.0.0.1", family: 4 }]) : callback(null, "127.0.0.1", 4)),
    }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end();
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
  assert.equal((await get("/oauth/start")).status, 404);
});

test("TikTok's verification file is served at the media prefix", async () => {
  const answer = await get("/media/tiktokAbC.txt");
  assert.equal(answer.status, 200);
  assert.equal(answer.body.toString(), "tiktok-developers-site-verification=AbC");
});

test("a client that does not trust the test authority cannot connect", async () => {
  await assert.rejects(get("/media/tiktokAbC.txt", { trustTheAuthority: false }), /self[- ]signed|unable to (get|verify)/i);
});
