// The AWS fault proxy (aws-fault-proxy.mjs): calls judged by the service they were signed
// for, faults answered in each service's own shape (read back by the AWS SDK for
// JavaScript's own clients), dropped connections, and everything else passed on untouched.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { S3Client, GetObjectCommand } from "@aws-sdk/client-s3";
import { SFNClient, ListStateMachinesCommand } from "@aws-sdk/client-sfn";
import { FaultPlan, KINDS, parseFaults, startFaultProxy } from "./aws-fault-proxy.mjs";

let upstream, proxy, url;
const seen = [];

before(async () => {
  // moto's stand-in: echoes what reached it.
  upstream = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      seen.push({ method: req.method, url: req.url, host: req.headers.host, body: Buffer.concat(chunks).toString() });
      res.writeHead(200, { "content-type": "application/x-amz-json-1.0", "x-upstream": "yes" });
      res.end(JSON.stringify({ stateMachines: [] }));
    });
  });
  await new Promise((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  proxy = await startFaultProxy({
    upstream: `http://127.0.0.1:${upstream.address().port}`,
    shares: parseFaults("states:1,s3:1,dynamodb:0"),
    seed: 7,
  });
  url = `http://127.0.0.1:${proxy.address().port}`;
});

after(() => {
  proxy.close();
  upstream.close();
});

const credentials = { accessKeyId: "test", secretAccessKey: "test" };

function signedRequest(service, body = "{}") {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/`, {
      method: "POST",
      headers: {
        authorization: `AWS4-HMAC-SHA256 Credential=AKID/20261208/us-east-1/${service}/aws4_request, SignedHeaders=host, Signature=00`,
        "content-type": "application/x-amz-json-1.0",
        host: "moto.example:4566",
      },
    });
    req.on("response", (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const counts = async () => (await fetch(`${url}/__faults`)).json();

test("Step Functions' faults take turns: its throttling error, a 500, a dropped connection", async () => {
  const sfn = new SFNClient({ endpoint: url, region: "us-east-1", credentials, maxAttempts: 1 });
  const names = [];
  for (let n = 0; n < 3; n += 1) {
    const error = await sfn.send(new ListStateMachinesCommand({})).then(() => undefined, (e) => e);
    assert.ok(error, "every call fails at share 1");
    names.push(error.name);
  }
  assert.equal(names[0], "ThrottlingException");
  assert.equal(names[1], "InternalServerError");
  // The connection closed with no answer: the SDK's own network error.
  assert.notEqual(names[2], "ThrottlingException");
  const { services } = await counts();
  assert.deepEqual(services.states.injected, { throttle: 1, server_error: 1, dropped: 1 });
  assert.equal(services.states.calls, 3);
});

test("S3 throttles with 503 SlowDown in its XML, which the S3 client reads as such", async () => {
  const s3 = new S3Client({ endpoint: url, region: "us-east-1", credentials, forcePathStyle: true, maxAttempts: 1 });
  const before = (await counts()).services.s3?.injected.throttle ?? 0;
  const errors = [];
  for (let n = 0; n < 3; n += 1) {
    errors.push(await s3.send(new GetObjectCommand({ Bucket: "b", Key: "k" })).then(() => undefined, (e) => e));
  }
  const throttled = errors.find((e) => e?.name === "SlowDown");
  assert.ok(throttled, `one of ${errors.map((e) => e?.name)} is SlowDown`);
  assert.equal(throttled.$metadata.httpStatusCode, 503);
  assert.equal((await counts()).services.s3.injected.throttle, before + 1);
});

test("a service at share 0 reaches moto untouched: its Host header and body as signed", async () => {
  const answer = await signedRequest("dynamodb", '{"TableName":"posts"}');
  assert.equal(answer.status, 200);
  assert.equal(answer.headers["x-upstream"], "yes");
  const last = seen.at(-1);
  assert.equal(last.host, "moto.example:4566");
  assert.equal(last.body, '{"TableName":"posts"}');
});

test("unsigned requests and services not named pass through, and are counted", async () => {
  const answer = await fetch(`${url}/moto-api/`);
  assert.equal(answer.status, 200);
  const answered = await signedRequest("secretsmanager");
  assert.equal(answered.status, 200);
  const { services } = await counts();
  assert.ok(services.unsigned.calls >= 1);
  assert.equal(services.secretsmanager.share, 0);
  assert.deepEqual(services.secretsmanager.injected, { throttle: 0, server_error: 0, dropped: 0 });
});

test("a presigned S3 URL is judged as S3", async () => {
  const before = (await counts()).services.s3.calls;
  const credential = encodeURIComponent("AKID/20261208/us-east-1/s3/aws4_request");
  await fetch(`${url}/bucket/key?X-Amz-Credential=${credential}&X-Amz-Signature=00`).catch(() => undefined);
  assert.equal((await counts()).services.s3.calls, before + 1);
});

test("a plan never falls two faults behind its share, and kinds take turns", () => {
  for (const seed of [1, 2, 3, 99]) {
    const plan = new FaultPlan(parseFaults("sfn:0.1"), seed);
    const kinds = [];
    for (let n = 1; n <= 40; n += 1) {
      const kind = plan.next("states");
      if (kind) kinds.push(kind);
      const faults = kinds.length;
      assert.ok(faults >= Math.floor(n * 0.1) - 1, `seed ${seed}: ${faults} faults after ${n} calls`);
    }
    assert.deepEqual(kinds.slice(0, 3), KINDS.slice(0, Math.min(3, kinds.length)));
  }
});

test("the same seed replays the same faults", () => {
  const run = (seed) => {
    const plan = new FaultPlan(parseFaults("dynamodb:0.3"), seed);
    return Array.from({ length: 50 }, () => plan.next("dynamodb") ?? "-").join(",");
  };
  assert.equal(run(5), run(5));
  assert.notEqual(run(5), run(6));
});

test("calls are counted per operation, as the bench's counting proxy names them", async () => {
  const { operations } = await counts();
  assert.ok(operations["StepFunctions ListStateMachines"] >= 3, JSON.stringify(operations));
  assert.ok(operations["S3 GET"] >= 3, JSON.stringify(operations));
});

test("a setting that is not service:share is refused, naming the part", () => {
  assert.deepEqual([...parseFaults("none")], []);
  assert.deepEqual([...parseFaults("sfn:0.05, events:0.1")], [["states", 0.05], ["events", 0.1]]);
  for (const bad of ["dynamodb", "dynamodb:", "dynamodb:1.5", "s3:x", "s3:0.1:2"]) {
    assert.throws(() => parseFaults(bad), new RegExp(`"${bad.replace(/[.]/g, "\\.")}"`));
  }
});
