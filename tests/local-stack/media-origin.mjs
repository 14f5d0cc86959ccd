// The front door's /media/* locally, as CloudFront serves it. It speaks https on a hostname,
// with a certificate from a test certificate authority made at start. It runs the same
// CloudFront Function (infra/cloudfront/media-url.js) in front of the bucket (moto's S3),
// and never redirects. TikTok's stand-ins trust the authority and resolve the hostname to
// 127.0.0.1, so they reach it as TikTok would reach the user's domain.
//
// Usage: node tests/local-stack/media-origin.mjs --dir DIR --host NAME --s3 URL --bucket NAME
//          --signing-key-file FILE [--verification-file NAME --verification-text TEXT] [--port N]
// It prints one JSON line, {"url", "port", "ca"}, once it listens. The authority's
// certificate (ca.pem) and the host's key and certificate go in DIR.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
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

/// Serves the media path: the function decides, and what it forwards is read from S3.
export function startMediaOrigin({ dir, host, s3, bucket, signingKey, verificationFile = "", verificationText = "", port = 0, log = () => {} }) {
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
  const handler = loadFunction({
    SigningKey: signingKey,
    VerificationFileName: verificationFile,
    VerificationFileContent: verificationText,
  });
  const server = https.createServer(
    { key: readFileSync(certificates.key), cert: readFileSync(certificates.cert) },
    (req, res) => {
      const path = req.url.split("?")[0];
      const done = (status) => log(`${req.method} ${path} -> ${status}`);
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
      serveObject(s3Client, bucket, result, req, res).then(done, () => {
        res.writeHead(502).end();
        done(502);
      });
    },
  );
  return new Promise((resolve) => {
    server.listen(port, "127.0.0.1", () => {
      const actual = server.address().port;
      resolve({ server, port: actual, url: `https://${host}:${actual}`, ca: certificates.ca });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      dir: { type: "string" }, host: { type: "string" }, s3: { type: "string" }, bucket: { type: "string" },
      "signing-key-file": { type: "string" }, "verification-file": { type: "string", default: "" },
      "verification-text": { type: "string", default: "" }, port: { type: "string", default: "0" },
    },
  });
  for (const name of ["dir", "host", "s3", "bucket", "signing-key-file"]) {
    if (!values[name]) {
      console.error(`media-origin: --${name} is required`);
      process.exit(2);
    }
  }
  const origin = await startMediaOrigin({
    dir: values.dir, host: values.host, s3: values.s3, bucket: values.bucket,
    signingKey: readFileSync(values["signing-key-file"], "utf8").trim(),
    verificationFile: values["verification-file"], verificationText: values["verification-text"],
    port: Number(values.port),
    log: (line) => console.error(`[media-origin] ${line}`),
  });
  console.log(JSON.stringify({ url: origin.url, port: origin.port, ca: origin.ca }));
}
