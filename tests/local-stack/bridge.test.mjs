// The invoke bridge against a stand-in for `cargo lambda watch`'s Invoke API: answers and
// errors come out with the names the state machine's Retry/Catch match.
// Usage: node --test tests/local-stack/       (no Rust, no moto needed)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { appendFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { functionName, invoke, processExits } from "./bridge.mjs";

let server;
let base;
const seen = [];

// What watch answers, per function name.
const answers = {
  ok: (input) => [200, {}, { post_id: input.post_id, ready: true }],
  "raises-named": () => [500, {}, { errorType: "TikTokRateLimited", errorMessage: "slow down" }],
  "raises-lambda-style": () => [200, { "x-amz-function-error": "Unhandled" }, { errorType: "PostConflict", errorMessage: "taken" }],
  "watch-broken": () => [500, {}, "internal error"],
  throttled: () => [429, {}, { message: "too many" }],
  "not-json": () => [200, {}, "<html>"],
  slow: () => new Promise((resolve) => setTimeout(() => resolve([200, {}, {}]), 2000)),
};

before(async () => {
  server = http.createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    const name = decodeURIComponent(req.url.split("/")[3]);
    seen.push([req.method, req.url]);
    const answer = answers[name];
    if (!answer) {
      res.writeHead(404).end(`no function ${name}`);
      return;
    }
    const [status, headers, payload] = await answer(JSON.parse(body));
    res.writeHead(status, headers).end(typeof payload === "string" ? payload : JSON.stringify(payload));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${server.address().port}`;
});

after(() => server.close());

async function errorOf(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  assert.fail("expected an error");
}

test("function ARNs become the bare names watch serves", () => {
  assert.equal(functionName("arn:aws:lambda:us-east-1:123456789012:function:upload-init"), "upload-init");
  assert.equal(functionName("arn:aws:lambda:us-east-1:123456789012:function:upload-init:live"), "upload-init");
  assert.equal(functionName("chunk-upload"), "chunk-upload");
  assert.throws(() => functionName("arn:aws:states:::lambda:invoke"), /not supported locally/);
});

test("an answer is the function's output, posted to the Invoke API path", async () => {
  assert.deepEqual(await invoke(base, "ok", { post_id: "p1" }, 5000), { post_id: "p1", ready: true });
  assert.deepEqual(seen.at(-1), ["POST", "/2015-03-31/functions/ok/invocations"]);
});

test("watch's 500 with an errorType becomes an error of that name", async () => {
  const e = await errorOf(invoke(base, "raises-named", {}, 5000));
  assert.equal(e.name, "TikTokRateLimited");
  assert.equal(e.message, "TikTokRateLimited: slow down");
});

test("Lambda's X-Amz-Function-Error is honoured too", async () => {
  assert.equal((await errorOf(invoke(base, "raises-lambda-style", {}, 5000))).name, "PostConflict");
});

test("failures of the service get Lambda's names", async () => {
  assert.equal((await errorOf(invoke(base, "missing", {}, 5000))).name, "Lambda.ResourceNotFoundException");
  assert.equal((await errorOf(invoke(base, "watch-broken", {}, 5000))).name, "Lambda.ServiceException");
  assert.equal((await errorOf(invoke(base, "throttled", {}, 5000))).name, "Lambda.TooManyRequestsException");
  assert.equal((await errorOf(invoke(base, "not-json", {}, 5000))).name, "Lambda.ServiceException");
  assert.equal((await errorOf(invoke(base, "slow", {}, 200))).name, "Lambda.SdkClientException");
  assert.equal((await errorOf(invoke("http://127.0.0.1:1", "ok", {}, 5000))).name, "Lambda.SdkClientException");
});

test("an invocation whose function process exits fails as Lambda.Unknown, at once", async () => {
  const file = join(mkdtempSync(join(tmpdir(), "bridge-exits-")), "slow");
  appendFileSync(file, "1700000000.0 0\n"); // an exit before the call does not count
  const exits = processExits(file, 20);
  const started = Date.now();
  const call = errorOf(invoke(base, "slow", {}, 5000, { exited: exits.exited }));
  setTimeout(() => appendFileSync(file, "1700000001.0 137\n"), 100);
  const e = await call;
  exits.stop();
  assert.equal(e.name, "Lambda.Unknown");
  assert.match(e.message, /process exited during the invocation/);
  assert.ok(Date.now() - started < 1500, "failed before watch's (never coming) answer");
});

test("a function that stays up answers through the exit watch", async () => {
  const file = join(mkdtempSync(join(tmpdir(), "bridge-exits-")), "ok");
  const exits = processExits(file, 20);
  assert.deepEqual(await invoke(base, "ok", { post_id: "p2" }, 5000, { exited: exits.exited }), { post_id: "p2", ready: true });
  exits.stop();
});
