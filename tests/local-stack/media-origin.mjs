// The front door's /media/* locally, as CloudFront serves it. It speaks https on a hostname,
// with a certificate from a test certificate authority made at start. It runs the same
// CloudFront Function (infra/cloudfront/media-url.js) in front of the bucket (moto's S3),
// and never redirects. TikTok's stand-ins trust the authority and resolve the hostname to
// 127.0.0.1, so they reach it as TikTok would reach the user's domain. With --api, /oauth/*
// and /webhooks/* go on to the HTTP API, as the distribution's cache behaviours send them.
//
// Usage: node tests/local-stack/media-origin.mjs --dir DIR --host NAME --s3 URL --bucket NAME
//          (--signing-key-file FILE [--verification-file NAME --verification-text TEXT]
//           | --settings FILE) [--port N] [--api URL] [--control-port N]
// --settings is the JSON setup.py writes from the template (media-origin.json: signing_key,
// verification_file, verification_text).
// It prints one JSON line, {"url", "port", "ca", "control"}, once it listens. The authority's
// certificate (ca.pem) and the host's key and certificate go in DIR. `--certificates-only`
// makes them and exits (the fake TikTok must trust the authority before the origin starts).
//
// The control port (plain http, loopback, tests only; CloudFront has no such thing):
// - `PUT /clock {"offset_seconds": N}` makes the function judge media URLs N seconds later than
//   now, as a pull that starts after the URL expired would be judged;
// - `PUT /hold {"hold": true}` keeps every media request the function lets through waiting
//   before its first byte, as a slow origin would, until `{"hold": false}`: TikTok's download
//   then stays in progress for as long as a test needs (a cancel while it downloads).
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { GetObjectCommand, HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { loadFunction, viewerRequest } from "../../infra/cloudfront/load.mjs";

/// A certificate authority and a certificate for `host` signed by it, made with openssl
/// (Node can make keys but not certificates). Reused when DIR already has them.
export function makeCertificates(dir, host) {
  const files = { ca: join(dir, "ca.pem"), key: join(dir, "host.key"), cert: join(dir, "host.pem") };
  if (existsSync(files.cert)) return files;
  const openssl = (...args) => execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
  const caKey = join(dir, "ca.key");
  openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
    "-keyout", caKey, "-out", files.ca, "-days", "2", "-subj", "/CN=tiktok-publish local media CA",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
  const csr = join(dir, "host.csr");
  openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
    "-keyout", files.key, "-out", csr, "-subj", `/CN=${host}`);
  const extensions = join(dir, "host.ext");
  writeFileSync(extensions, `subjectAltName=DNS:${host}\nextendedKeyUsage=serverAuth\n`);
  openssl("x509", "-req", "-in", csr, "-CA", files.ca, "-CAkey", caKey, "-CAcreateserial",
    "-out", files.cert, "-days", "2", "-extfile", extensions);
  return files;
}

/// Reads what the function let through from S3, signed as Origin Access Control signs
/// (SigV4, the stack's credentials), and passes on the body and its description, never S3's
/// own headers. The status it answered with.
async function serveObject(s3Client, bucket, forwarded, req, res) {
  const input = {
    Bucket: bucket,
    // The function forwards the key as sent (percent-encoded); the S3 client encodes it again.
    Key: decodeURIComponent(forwarded.uri.replace(/^\//, "")),
    VersionId: forwarded.querystring.versionId.value,
    Range: req.headers.range,
  };
  let answer;
  try {
    answer = await s3Client.send(req.method === "HEAD" ? new HeadObjectCommand(input) : new GetObjectCommand(input));
  } catch (err) {
    // S3 behind Origin Access Control, without s3:ListBucket, says 403 for a missing key.
    const status = err.$metadata?.httpStatusCode === 404 ? 403 : (err.$metadata?.httpStatusCode ?? 502);
    res.writeHead(status).end();
    return status;
  }
  const status = answer.ContentRange ? 206 : 200;
  const headers = {
    "content-type": answer.ContentType,
    "content-length": answer.ContentLength,
    "content-range": answer.ContentRange,
    "accept-ranges": answer.AcceptRanges,
    etag: answer.ETag,
    "last-modified": answer.LastModified?.toUTCString(),
  };
  res.writeHead(status, Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined)));
  if (answer.Body) {
    answer.Body.pipe(res);
  } else {
    res.end();
  }
  return status;
}

// CloudFront's cache behaviours for the API's public paths, and the methods each allows
// (infra/template.yaml, FrontDoor): anything else is answered 403 at the edge.
// The console's behaviours exist only with ConsoleAdminEmail; here they always pass (the API
// answers 404 without a console).
const ALL_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"];
const API_BEHAVIOURS = [
  { prefix: "/oauth/", methods: ["GET", "HEAD"] },
  { prefix: "/webhooks/", methods: ALL_METHODS },
  { prefix: "/console", methods: ALL_METHODS },
  { exact: "/about", methods: ["GET", "HEAD"] },
  { exact: "/terms", methods: ["GET", "HEAD"] },
  { exact: "/privacy", methods: ["GET", "HEAD"] },
];

/// Passes a request on to the HTTP API as the distribution does (AllViewerExceptHostHeader:
/// every header but Host, the query string and the body), and its answer back unchanged.
function forwardToApi(api, req, res, done) {
  const target = new URL(req.url, api);
  const headers = { ...req.headers };
  delete headers.host;
  const upstream = http.request(target, { method: req.method, headers }, (answer) => {
    res.writeHead(answer.statusCode, answer.rawHeaders);
    answer.pipe(res);
    answer.on("end", () => done(answer.statusCode));
  });
  upstream.on("error", () => {
    res.writeHead(502).end();
    done(502);
  });
  req.pipe(upstream);
}

/// The test-only control server (see the header): the function's clock offset, and the hold.
function startControl(clock, gate, port) {
  const routes = {
    "/clock": (body) => {
      if (!Number.isInteger(body?.offset_seconds)) return "offset_seconds: a whole number of seconds is required";
      clock.offsetMs = body.offset_seconds * 1000;
    },
    "/hold": (body) => {
      if (typeof body?.hold !== "boolean") return "hold: true or false is required";
      gate.set(body.hold);
    },
  };
  const server = http.createServer((req, res) => {
    const route = req.method === "PUT" && routes[req.url];
    if (!route) return res.writeHead(404).end();
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      let body;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString());
      } catch {
        body = undefined;
      }
      const refusal = route(body);
      if (refusal) return res.writeHead(400).end(refusal);
      res.writeHead(204).end();
    });
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}

/// Media requests wait here while the origin is held (see the header).
function makeGate() {
  let held = false;
  let waiters = [];
  return {
    set(hold) {
      held = hold;
      if (!hold) {
        waiters.forEach((release) => release());
        waiters = [];
      }
    },
    passed() {
      return held ? new Promise((release) => waiters.push(release)) : Promise.resolve();
    },
  };
}

/// Serves the media path: the function decides, and what it forwards is read from S3.
export async function startMediaOrigin({ dir, host, s3, bucket, signingKey, verificationFile = "", verificationText = "", port = 0, api = "", controlPort = null, log = () => {} }) {
  const certificates = makeCertificates(dir, host);
  const s3Client = new S3Client({
    endpoint: s3,
    forcePathStyle: true,
    region: process.env.AWS_REGION || "us-east-1",
    credentials: {
      accessKeyId: process.env.AWS_ACCESS_KEY_ID || "test",
      secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY || "test",
    },
  });
  const clock = { offsetMs: 0 };
  const handler = loadFunction({
    SigningKey: signingKey,
    VerificationFileName: verificationFile,
    VerificationFileContent: verificationText,
  }, () => Date.now() + clock.offsetMs);
  const gate = makeGate();
  const control = controlPort === null ? null : await startControl(clock, gate, controlPort);
  const server = https.createServer(
    { key: readFileSync(certificates.key), cert: readFileSync(certificates.cert) },
    (req, res) => {
      const path = req.url.split("?")[0];
      const done = (status) => log(`${req.method} ${path} -> ${status}`);
      const behaviour = api && API_BEHAVIOURS.find((b) => (b.exact ? path === b.exact : path.startsWith(b.prefix)));
      if (behaviour) {
        if (!behaviour.methods.includes(req.method)) {
          res.writeHead(403).end();
          return done(403);
        }
        return forwardToApi(api, req, res, done);
      }
      // CloudFront's media behaviour allows GET and HEAD only, and answers 403 to the rest.
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.writeHead(403).end();
        return done(403);
      }
      const result = handler(viewerRequest(`https://${host}${req.url}`));
      if ("statusCode" in result) {
        const headers = Object.fromEntries(Object.entries(result.headers || {}).map(([k, v]) => [k, v.value]));
        res.writeHead(result.statusCode, headers).end(req.method === "HEAD" ? undefined : result.body);
        return done(result.statusCode);
      }
      gate.passed().then(() => serveObject(s3Client, bucket, result, req, res)).then(done, () => {
        res.writeHead(502).end();
        done(502);
      });
    },
  );
  return new Promise((resolve) => {
    server.listen(port, "127.0.0.1", () => {
      const actual = server.address().port;
      resolve({
        server, port: actual, url: `https://${host}:${actual}`, ca: certificates.ca,
        control: control && `http://127.0.0.1:${control.address().port}`,
        close: () => { server.close(); control?.close(); },
      });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      dir: { type: "string" }, host: { type: "string" }, s3: { type: "string" }, bucket: { type: "string" },
      "signing-key-file": { type: "string" }, "verification-file": { type: "string", default: "" },
      "verification-text": { type: "string", default: "" }, port: { type: "string", default: "0" },
      api: { type: "string", default: "" }, "control-port": { type: "string" },
      "certificates-only": { type: "boolean", default: false }, settings: { type: "string" },
    },
  });
  if (values["certificates-only"]) {
    if (!values.dir || !values.host) {
      console.error("media-origin: --certificates-only needs --dir and --host");
      process.exit(2);
    }
    console.log(JSON.stringify({ ca: makeCertificates(values.dir, values.host).ca }));
    process.exit(0);
  }
  for (const name of ["dir", "host", "s3", "bucket", values.settings ? "settings" : "signing-key-file"]) {
    if (!values[name]) {
      console.error(`media-origin: --${name} is required`);
      process.exit(2);
    }
  }
  const settings = values.settings
    ? JSON.parse(readFileSync(values.settings, "utf8"))
    : {
      signing_key: readFileSync(values["signing-key-file"], "utf8").trim(),
      verification_file: values["verification-file"],
      verification_text: values["verification-text"],
    };
  const origin = await startMediaOrigin({
    dir: values.dir, host: values.host, s3: values.s3, bucket: values.bucket,
    signingKey: settings.signing_key,
    verificationFile: settings.verification_file, verificationText: settings.verification_text,
    port: Number(values.port), api: values.api,
    controlPort: values["control-port"] === undefined ? null : Number(values["control-port"]),
    log: (line) => console.error(`[media-origin] ${line}`),
  });
  console.log(JSON.stringify({ url: origin.url, port: origin.port, ca: origin.ca, control: origin.control }));
}
