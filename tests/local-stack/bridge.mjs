// The invoke bridge between aws-local-stepfunctions (or the event pump) and the functions
// served by `cargo lambda watch`, which differs from Lambda's Invoke API in two ways:
// - it serves functions by their bare binary name only (a full function ARN is a 404);
// - a function error comes back as HTTP 500 with {errorType, errorMessage} and without the
//   X-Amz-Function-Error header, so an AWS SDK client retries it and reports `Unknown`.
// Here an ARN becomes its function name, and a function error becomes an error whose `name`
// is the errorType and whose message is "errorType: errorMessage" (what
// aws-local-stepfunctions itself makes of a Lambda function error), so Retry and Catch match
// the names the functions raise. Failures of the service itself get Lambda's names:
// Lambda.ResourceNotFoundException, Lambda.TooManyRequestsException,
// Lambda.ServiceException, Lambda.SdkClientException (no answer), and Lambda.Unknown for a
// function whose process dies during the invocation (what Lambda reports for an
// out-of-memory kill or a crash: watch itself never answers such an invocation).
import http from "node:http";
import { statSync } from "node:fs";

export function short(value, max = 200) {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text && text.length > max ? `${text.slice(0, max)}...` : text;
}

export function namedError(name, message) {
  const error = new Error(message);
  error.name = name;
  return error;
}

// The bare function name watch serves, from a Task's Resource (a function ARN, optionally
// with a version or alias) or a bare name.
export function functionName(resource) {
  if (/^[A-Za-z0-9_-]+$/.test(resource)) return resource;
  const match = /^arn:[^:]+:lambda:[^:]+:[^:]+:function:([A-Za-z0-9_-]+)(:[^:]+)?$/.exec(resource);
  if (!match) throw new Error(`Task resource ${resource} is not a Lambda function ARN: not supported locally`);
  return match[1];
}

// Invokes function `name` at `baseUrl` (watch) with `payload`. Resolves with the function's
// answer; rejects with an error named as Lambda would name it. node:http rather than fetch:
// fetch gives up on an answer whose headers take over 300 s (a long chunk-upload).
// `exited` (optional): a promise that resolves with a description when the function's
// process exits before answering; the invocation then fails as Lambda.Unknown.
export function invoke(baseUrl, name, payload, timeoutMs, { exited } = {}) {
  const url = new URL(baseUrl);
  const body = JSON.stringify(payload);
  return new Promise((resolve, reject) => {
    exited?.then((how) => {
      request.destroy();
      reject(namedError("Lambda.Unknown", `${name}: the function's process exited during the invocation (${how})`));
    });
    const request = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: "POST",
        path: `/2015-03-31/functions/${encodeURIComponent(name)}/invocations`,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        signal: AbortSignal.timeout(timeoutMs),
      },
      (response) => {
        const chunks = [];
        response.on("data", (chunk) => chunks.push(chunk));
        response.on("error", (e) => reject(namedError("Lambda.SdkClientException", `${name}: ${e.message}`)));
        response.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed;
          try {
            parsed = text ? JSON.parse(text) : null;
          } catch {
            parsed = undefined;
          }
          const functionError = response.headers["x-amz-function-error"];
          if (response.statusCode === 200 && !functionError) {
            if (parsed === undefined) reject(namedError("Lambda.ServiceException", `${name}: not JSON: ${short(text)}`));
            else resolve(parsed);
          } else if (parsed && typeof parsed.errorType === "string") {
            reject(namedError(parsed.errorType, `${parsed.errorType}: ${parsed.errorMessage ?? ""}`));
          } else if (response.statusCode === 404) {
            reject(namedError("Lambda.ResourceNotFoundException", `${name}: ${short(text)}`));
          } else if (response.statusCode === 429) {
            reject(namedError("Lambda.TooManyRequestsException", `${name}: ${short(text)}`));
          } else {
            reject(namedError("Lambda.ServiceException", `${name}: HTTP ${response.statusCode} ${short(text)}`));
          }
        });
      },
    );
    request.on("error", (e) => reject(namedError("Lambda.SdkClientException", `${name}: ${e.message}`)));
    request.end(body);
  });
}

// Watches the file a function's restart loop appends a line to each time its process exits
// (scripts/local-stack): `exited` resolves on the first exit after the call, `stop()` ends
// the watch. A missing file counts as empty.
export function processExits(file, pollMs = 200) {
  const size = () => {
    try {
      return statSync(file).size;
    } catch {
      return 0;
    }
  };
  const before = size();
  let timer;
  const exited = new Promise((resolve) => {
    timer = setInterval(() => {
      if (size() !== before) {
        clearInterval(timer);
        resolve("it was killed or crashed");
      }
    }, pollMs);
  });
  return { exited, stop: () => clearInterval(timer) };
}
