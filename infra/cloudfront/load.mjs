// Runs infra/cloudfront/media-url.js in Node as CloudFront would run it, for the tests and
// the local stack's media origin. Runtime 2.0's `crypto` (createHmac, sha256, base64url) is
// Node's, and the function is a plain script whose `handler` CloudFront calls.
//
// As a command it answers requests for a test in another language:
//   node infra/cloudfront/load.mjs < {"placeholders": {...}, "now_ms": N, "urls": ["https://..."]}
// prints one result per URL: {"status", "body"} for an answer the function gave itself, or
// {"forwarded": true, "uri", "querystring"} for a request it passed on to the bucket.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
export const FUNCTION_FILE = join(here, "media-url.js");
export const PLACEHOLDERS = ["SigningKey", "VerificationFileName", "VerificationFileContent"];

/// The function with its placeholders filled in as Fn::Sub would, and a clock.
export function loadFunction(values, nowMs = () => Date.now()) {
  let source = readFileSync(FUNCTION_FILE, "utf8");
  for (const name of PLACEHOLDERS) {
    if (!(name in values)) throw new Error(`no value for the placeholder ${name}`);
    source = source.split("${" + name + "}").join(values[name]);
  }
  const leftOver = source.match(/\$\{[^}]*\}/);
  if (leftOver) throw new Error(`media-url.js has a placeholder the template does not fill: ${leftOver[0]}`);
  const clock = { now: () => nowMs() };
  const require = createRequire(import.meta.url);
  // `Date` is shadowed so that a test can move the clock; everything else is the real one.
  const FakeDate = new Proxy(Date, { get: (target, prop) => (prop === "now" ? clock.now : target[prop]) });
  return new Function("require", "Date", `${source}\nreturn handler;`)(require, FakeDate);
}

/// The viewer-request event CloudFront builds for a URL: the path as sent (percent-encoded),
/// each query parameter's value as sent, a repeated one with `multiValue`.
export function viewerRequest(url) {
  const parsed = new URL(url);
  const querystring = {};
  for (const pair of parsed.search.replace(/^\?/, "").split("&").filter(Boolean)) {
    const at = pair.indexOf("=");
    const name = at < 0 ? pair : pair.slice(0, at);
    const value = at < 0 ? "" : pair.slice(at + 1);
    if (querystring[name]) {
      const entry = querystring[name];
      entry.multiValue = entry.multiValue || [{ value: entry.value }];
      entry.multiValue.push({ value });
    } else {
      querystring[name] = { value };
    }
  }
  return {
    version: "1.0",
    context: { eventType: "viewer-request" },
    viewer: { ip: "127.0.0.1" },
    request: { method: "GET", uri: parsed.pathname, querystring, headers: { host: { value: parsed.host } }, cookies: {} },
  };
}

/// What the viewer gets: a response the function made, or the request passed on to the bucket.
export function outcome(result) {
  if (result && "statusCode" in result) {
    return { status: result.statusCode, body: result.body ?? "" };
  }
  return { forwarded: true, uri: result.uri, querystring: result.querystring };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const input = JSON.parse(readFileSync(0, "utf8"));
  const handler = loadFunction(input.placeholders, () => input.now_ms);
  const results = input.urls.map((url) => outcome(handler(viewerRequest(url))));
  process.stdout.write(JSON.stringify(results));
}
