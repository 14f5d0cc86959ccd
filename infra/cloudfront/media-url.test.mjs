// The front door's media function (infra/cloudfront/media-url.js): the template carries it
// verbatim, and it passes exactly the URLs signed with the stack's key, before they expire.
// Signatures here come from Node's own HMAC; shared/domain/tests/media_url_function.rs checks
// the Rust signer against the same function.
// Usage: node --test infra/cloudfront/     (scripts/lint-infra runs it)
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import { FUNCTION_FILE, PLACEHOLDERS, loadFunction, outcome, viewerRequest } from "./load.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const KEY = "k3yForTests0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ";
const NOW_MS = 1_800_000_000_000;
const placeholders = {
  SigningKey: KEY,
  VerificationFileName: "tiktokAbC123.txt",
  VerificationFileContent: "tiktok-developers-site-verification=AbC123",
};

function sign(path, version, expires, key = KEY) {
  const signature = createHmac("sha256", key)
    .update(`GET\n${path}\n${version}\n${expires}`)
    .digest("base64url");
  return `https://media.example.com${path}?v=${version}&exp=${expires}&sig=${signature}`;
}

function answer(url, values = placeholders, nowMs = NOW_MS) {
  return outcome(loadFunction(values, () => nowMs)(viewerRequest(url)));
}

const inAnHour = NOW_MS / 1000 + 3600;
const path = "/media/uploads/open-1/my%20clip.mp4";

// Short tags (!Sub, !Ref, ...) parse as their plain value: a Sub gives [text, variables].
const tags = ["Ref", "GetAtt", "Sub", "Join", "If", "Equals", "Not", "And", "Or", "Select", "Split",
  "FindInMap", "ImportValue", "GetAZs", "Base64", "Cidr", "Condition"]
  .flatMap((name) => ["scalar", "seq", "map"].map((kind) => ({
    tag: `!${name}`, collection: kind === "scalar" ? undefined : kind, resolve: (value) => value })));
const template = YAML.parse(readFileSync(join(here, "..", "template.yaml"), "utf8"), { customTags: tags });

test("without DomainName nothing of the front door is created or output", () => {
  const frontDoor = Object.entries(template.Resources)
    .filter(([name, r]) => r.Type.startsWith("AWS::CloudFront::") || name === "MediaSigningKey");
  assert.deepEqual(frontDoor.map(([name]) => name).sort(),
    ["FrontDoor", "MediaOriginAccessControl", "MediaOriginRequestPolicy", "MediaSigningKey", "MediaUrlFunction"]);
  for (const [name, resource] of frontDoor) {
    assert.equal(resource.Condition, "HasFrontDoor", `${name} must exist only with a front door`);
  }
  const names = new Set(frontDoor.map(([name]) => name));
  for (const [name, output] of Object.entries(template.Outputs)) {
    const text = JSON.stringify(output.Value);
    // A resource's name on its own (a condition such as HasFrontDoor does not count).
    const mentions = [...names].some((resource) => new RegExp(`(^|[^A-Za-z])${resource}([^A-Za-z]|$)`).test(text))
      || text.includes("DomainName}/media");
    if (mentions) assert.equal(output.Condition, "HasFrontDoor", `output ${name}`);
  }
});

test("the template carries media-url.js verbatim and fills every placeholder", () => {
  const resource = template.Resources.MediaUrlFunction;
  assert.equal(resource.Type, "AWS::CloudFront::Function");
  assert.equal(resource.Properties.FunctionConfig.Runtime, "cloudfront-js-2.0");
  const [code, variables] = resource.Properties.FunctionCode.toJSON ? resource.Properties.FunctionCode.toJSON() : resource.Properties.FunctionCode;
  assert.equal(code, readFileSync(FUNCTION_FILE, "utf8"),
    "the template's FunctionCode differs from infra/cloudfront/media-url.js: copy the file in");
  assert.deepEqual(Object.keys(variables).sort(), [...PLACEHOLDERS].sort());
  assert.ok(Buffer.byteLength(code) < 10 * 1024, "CloudFront Functions are at most 10 KB");
});

test("a signed URL reaches the bucket as the key and the signed version", () => {
  const result = answer(sign(path, "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY", inAnHour));
  assert.equal(result.forwarded, true);
  assert.equal(result.uri, "/uploads/open-1/my%20clip.mp4");
  assert.deepEqual(result.querystring, { versionId: { value: "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY" } });
});

test("an expired URL is refused, one second before expiry is not", () => {
  const expires = NOW_MS / 1000;
  assert.equal(answer(sign(path, "v1", expires)).status, 403);
  assert.equal(answer(sign(path, "v1", expires + 1)).forwarded, true);
});

test("unsigned, tampered, re-pointed and foreign-key URLs are refused", () => {
  const good = sign(path, "v1", inAnHour);
  assert.equal(answer(`https://media.example.com${path}`).status, 403, "unsigned");
  assert.equal(answer(good.replace("v=v1", "v=v2")).status, 403, "another version");
  assert.equal(answer(good.replace("my%20clip", "other")).status, 403, "another object");
  assert.equal(answer(good.replace(`exp=${inAnHour}`, `exp=${inAnHour + 3600}`)).status, 403, "a later expiry");
  assert.equal(answer(sign(path, "v1", inAnHour, "another key")).status, 403, "another key");
  assert.equal(answer(`${good}&v=v2`).status, 403, "a repeated parameter");
  assert.equal(answer(sign("/media/config/secret.json", "v1", inAnHour)).status, 403, "outside uploads/");
  assert.equal(answer(sign(path, "v1/../x", inAnHour)).status, 403, "a version S3 never makes");
});

test("the verification file is served from the media prefix, and only when configured", () => {
  const served = answer("https://media.example.com/media/tiktokAbC123.txt");
  assert.deepEqual(served, { status: 200, body: "tiktok-developers-site-verification=AbC123" });
  const none = { ...placeholders, VerificationFileName: "", VerificationFileContent: "" };
  assert.equal(answer("https://media.example.com/media/tiktokAbC123.txt", none).status, 403);
  assert.equal(answer("https://media.example.com/media/", none).status, 403);
});

test("paths outside /media/ are not the function's", () => {
  assert.equal(answer("https://media.example.com/uploads/open-1/a.mp4").status, 404);
  assert.equal(answer("https://media.example.com/").status, 404);
});
