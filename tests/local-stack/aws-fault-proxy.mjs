// The AWS fault proxy: the functions of a local stack started with LOCAL_STACK_AWS_FAULTS
// reach moto through it. At the share the setting gives each service, it answers a call as
// that service does when it throttles or fails (its own throttling error, a 500 or a 503),
// or reads the request and drops the connection without an answer. Every other call goes on
// to moto untouched: the Host header and the body as signed, the answer streamed back.
//
// The service is the one the request was signed for (SigV4's credential scope), so a call is
// judged by what the SDK meant, not by guessing from its path.
//
// Toxiproxy and the like work on TCP streams: they can drop or slow a connection, but not
// answer with DynamoDB's ProvisionedThroughputExceededException or S3's SlowDown.
//
// Usage: node tests/local-stack/aws-fault-proxy.mjs --upstream URL --faults SPEC [--seed N] [--port N]
//   SPEC: `service:share,...`, e.g. `dynamodb:0.1,s3:0.1,kms:0.05,sfn:0.05,events:0.1`
//   (services by the name SigV4 signs for; `sfn` is Step Functions' `states`), or `none`:
//   no faults, the calls only counted (the volume bench's cost per post).
// It prints one JSON line, {"url", "port"}, once it listens.
// GET /__faults answers what it saw: calls and injected faults per service and kind, and
// calls per operation, named as the bench's counting proxy names them (`DynamoDB GetItem`,
// `S3 GET (ranged)`, ...). (An S3 bucket cannot be named `__faults`: no AWS call has that
// path.)
import http from "node:http";
import { parseArgs } from "node:util";

export const KINDS = ["throttle", "server_error", "dropped"];
const ALIASES = { sfn: "states", stepfunctions: "states", eventbridge: "events" };

/// `dynamodb:0.1,s3:0.1` -> Map(service -> share). Refuses anything else, naming it.
export function parseFaults(spec) {
  const shares = new Map();
  if (spec?.trim() === "none") return shares;
  for (const part of (spec ?? "").split(",").map((p) => p.trim()).filter(Boolean)) {
    const [name, value, extra] = part.split(":");
    const share = Number(value);
    if (!name || extra !== undefined || value === undefined || value.trim() === "" || !(share >= 0 && share <= 1)) {
      throw new Error(`LOCAL_STACK_AWS_FAULTS: "${part}" is not service:share with a share from 0 to 1`);
    }
    shares.set(ALIASES[name] ?? name, share);
  }
  return shares;
}

/// The service a request was signed for: the credential scope of its Authorization header,
/// or of a presigned URL's X-Amz-Credential. Undefined for an unsigned request.
export function signedService(req) {
  const scope = /Credential=[^/,\s]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(req.headers.authorization ?? "");
  if (scope) return scope[1];
  const credential = new URL(req.url, "http://proxy").searchParams.get("X-Amz-Credential");
  return credential?.split("/")[3];
}

const TARGET_SERVICES = [
  [/^DynamoDB/, "DynamoDB"],
  [/^secretsmanager$/i, "SecretsManager"],
  [/^AWSStepFunctions/, "StepFunctions"],
  [/^TrentService/, "KMS"],
  [/^AWSEvents/, "EventBridge"],
];

/// The operation a request calls: `DynamoDB PutItem` from a JSON protocol's X-Amz-Target,
/// `S3 GET (ranged)` from S3's method (tests/bench's `CountingProxy` names them the same way,
/// so its price classes read these counts).
export function operationOf(req) {
  const target = req.headers["x-amz-target"];
  if (target) {
    const [prefix, op] = target.includes(".") ? target.split(".", 2) : ["?", target];
    const service = TARGET_SERVICES.find(([pattern]) => pattern.test(prefix))?.[1] ?? prefix;
    return `${service} ${op}`;
  }
  return `S3 ${req.method}${req.headers.range ? " (ranged)" : ""}`;
}

// mulberry32: a small seeded generator, so a run's faults can be replayed.
function generator(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function seedOf(text) {
  let hash = 2166136261;
  for (const c of text) hash = Math.imul(hash ^ c.charCodeAt(0), 16777619);
  return hash >>> 0;
}

/// Which calls fail, and how. Each service draws from its own seeded generator, so the
/// faults one service gets do not depend on how its calls interleave with another's.
/// A call fails at the service's share; besides, a service never falls two faults behind
/// its share (a short run still sees its faults). Kinds take turns per service, so any
/// service with three faults has seen each kind.
export class FaultPlan {
  constructor(shares, seed) {
    this.shares = shares;
    this.seed = seed;
    this.services = new Map();
    this.operations = new Map();
  }

  countOperation(operation) {
    this.operations.set(operation, (this.operations.get(operation) ?? 0) + 1);
  }

  #service(name) {
    if (!this.services.has(name)) {
      this.services.set(name, {
        calls: 0,
        injected: Object.fromEntries(KINDS.map((k) => [k, 0])),
        random: generator(seedOf(`${this.seed}/${name}`)),
      });
    }
    return this.services.get(name);
  }

  /// The fault for the next call to `service` (undefined: none), counted.
  next(service) {
    const name = service ?? "unsigned";
    const seen = this.#service(name);
    seen.calls += 1;
    const share = this.shares.get(name) ?? 0;
    if (share === 0) return undefined;
    const faults = KINDS.reduce((sum, k) => sum + seen.injected[k], 0);
    const behind = Math.floor(seen.calls * share) - faults >= 2;
    if (!(seen.random() < share || behind)) return undefined;
    const kind = KINDS[faults % KINDS.length];
    seen.injected[kind] += 1;
    return kind;
  }

  counts() {
    const services = {};
    for (const [name, seen] of [...this.services].sort(([a], [b]) => a.localeCompare(b))) {
      services[name] = { share: this.shares.get(name) ?? 0, calls: seen.calls, injected: { ...seen.injected } };
    }
    const operations = Object.fromEntries([...this.operations].sort(([a], [b]) => a.localeCompare(b)));
    return { seed: this.seed, services, operations };
  }
}

const JSON_ERRORS = {
  // DynamoDB's data plane throttles with this one; the SDKs retry it (DynamoDB's "Error
  // handling" guide).
  dynamodb: {
    throttle: "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
    500: "com.amazonaws.dynamodb.v20120810#InternalServerError",
  },
  kms: { throttle: "ThrottlingException", 500: "KMSInternalException" },
  states: { throttle: "ThrottlingException", 500: "InternalServerError" },
  events: { throttle: "ThrottlingException", 500: "InternalException" },
};

/// The answer `service` gives for a fault of `kind` (not `dropped`): status, headers, body.
/// Server errors take turns between 500 and 503.
export function faultAnswer(service, kind, req, turn) {
  const status = kind === "throttle" ? (service === "s3" ? 503 : 400) : turn % 2 === 0 ? 500 : 503;
  const requestId = `fault-${turn}`;
  if (service === "s3") {
    const [code, message] =
      kind === "throttle" ? ["SlowDown", "Please reduce your request rate."]
      : status === 500 ? ["InternalError", "We encountered an internal error. Please try again."]
      : ["ServiceUnavailable", "Service is unable to handle request."];
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>${requestId}</RequestId></Error>`;
    return { status, headers: { "content-type": "application/xml", "x-amz-request-id": requestId }, body: req.method === "HEAD" ? "" : body };
  }
  const errors = JSON_ERRORS[service] ?? { throttle: "ThrottlingException", 500: "InternalFailure" };
  const type = kind === "throttle" ? errors.throttle : status === 500 ? errors[500] : "ServiceUnavailable";
  const message = kind === "throttle" ? "Rate exceeded" : "injected by the local stack's AWS fault proxy";
  return {
    status,
    headers: {
      "content-type": req.headers["content-type"] ?? "application/x-amz-json-1.0",
      "x-amzn-requestid": requestId,
      "x-amzn-errortype": type,
    },
    body: JSON.stringify({ __type: type, message }),
  };
}

/// Starts the proxy in front of `upstream` on loopback; resolves to the server once it listens.
export function startFaultProxy({ upstream, shares, seed = 1, port = 0, log = () => {} }) {
  const target = new URL(upstream);
  const plan = new FaultPlan(shares, seed);
  let turn = 0;
  const server = http.createServer((req, res) => {
    if (req.method === "GET" && req.url === "/__faults") {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify(plan.counts()));
    }
    const service = signedService(req);
    if (service !== undefined) plan.countOperation(operationOf(req));
    const kind = plan.next(service);
    if (kind !== undefined) {
      turn += 1;
      const what = req.headers["x-amz-target"] ?? `${req.method} ${req.url.split("?")[0]}`;
      log(`${service} ${what}: ${kind}`);
      // The request is read to its end first: the fault comes after the service had it all.
      req.resume();
      req.on("end", () => {
        if (kind === "dropped") return req.socket.destroy();
        const answer = faultAnswer(service, kind, req, turn);
        res.writeHead(answer.status, { ...answer.headers, "content-length": Buffer.byteLength(answer.body) });
        res.end(answer.body);
      });
      return;
    }
    const forward = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode, answer.rawHeaders);
        answer.pipe(res);
      },
    );
    forward.on("error", (e) => {
      log(`${service} ${req.method} ${req.url.split("?")[0]}: moto failed: ${e.message}`);
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" }).end(`proxy: ${e.message}`);
      else res.destroy();
    });
    req.pipe(forward);
  });
  // Keep-alive connections from the SDKs outlive a request; never time them out first.
  server.keepAliveTimeout = 65_000;
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}

async function main() {
  const { values } = parseArgs({
    options: {
      upstream: { type: "string" },
      faults: { type: "string" },
      seed: { type: "string", default: "1" },
      port: { type: "string", default: "0" },
    },
  });
  if (!values.upstream) throw new Error("--upstream URL is required");
  const shares = parseFaults(values.faults);
  const time = () => new Date().toISOString().slice(11, 23);
  const server = await startFaultProxy({
    upstream: values.upstream,
    shares,
    seed: Number(values.seed),
    port: Number(values.port),
    log: (line) => console.log(`${time()} [aws-fault-proxy] ${line}`),
  });
  const { port } = server.address();
  console.log(JSON.stringify({ url: `http://127.0.0.1:${port}`, port }));
  console.log(`${time()} [aws-fault-proxy] shares ${JSON.stringify(Object.fromEntries(shares))}, seed ${values.seed}, to ${values.upstream}`);
  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(0));
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
