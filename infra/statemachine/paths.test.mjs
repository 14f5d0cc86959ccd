// Runs infra/statemachine/publish.asl.json through aws-local-stepfunctions with scripted task
// results (no Lambda, no AWS) and checks every routing path: the happy path's state
// transitions, the waits, retries, re-init, duplicates and failure recording.
// Usage: node infra/statemachine/paths.test.mjs     (scripts/lint-infra runs it)
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import assert from "node:assert/strict";

// aws-local-stepfunctions 3 targets Node 22; on Node 20 every Task needs this.
if (typeof Promise.withResolvers !== "function") {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new Promise((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}
const { StateMachine } = await import("aws-local-stepfunctions");

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const raw = readFileSync(join(here, "publish.asl.json"), "utf8");
// DefinitionSubstitutions fill these in AWS; here they only need to look like function ARNs.
const definition = JSON.parse(
  raw.replace(/\$\{([A-Za-z0-9_]+)\}/g, "arn:aws:lambda:us-east-1:123456789012:function:$1"),
);

const TASKS = ["Init", "Upload", "Status", "RecordFailure"];
const WAITS = Object.keys(definition.States).filter((s) => definition.States[s].Type === "Wait");

function taskError(name, message = `${name} (scripted)`) {
  const error = new Error(message);
  error.name = name;
  return error;
}

// Runs one execution. `script` maps a task state name to a list of results, consumed in
// order: an object is returned, an Error is thrown. Returns the visited states, the task
// inputs and the outcome.
async function run(script, input = { post_id: "p1" }) {
  const calls = Object.fromEntries(TASKS.map((t) => [t, []]));
  const queues = Object.fromEntries(TASKS.map((t) => [t, [...(script[t] || [])]]));
  const handlers = Object.fromEntries(
    TASKS.map((task) => [
      task,
      async (taskInput) => {
        calls[task].push(taskInput);
        const next = queues[task].shift();
        if (next === undefined) throw new Error(`${task} called more often than scripted`);
        if (next instanceof Error) throw next;
        return next;
      },
    ]),
  );
  const waits = [];
  const machine = new StateMachine(definition);
  const execution = machine.run(input, {
    overrides: {
      taskResourceLocalHandlers: handlers,
      waitTimeOverrides: Object.fromEntries(WAITS.map((w) => [w, 0])),
      retryIntervalOverrides: Object.fromEntries(TASKS.map((t) => [t, 0])),
    },
  });
  const visited = [];
  let retries = 0;
  let outcome;
  let failure;
  for await (const event of execution.eventLogs) {
    if (event.type === "StateEntered") {
      visited.push(event.state.name);
      if (event.state.type === "Wait") waits.push([event.state.name, event.state.input.wait_seconds]);
    }
    if (event.type === "StateRetried") retries += 1;
    if (event.type === "ExecutionSucceeded") outcome = "succeeded";
    if (event.type === "ExecutionFailed") {
      outcome = "failed";
      failure = { Error: event.Error, Cause: event.Cause };
    }
  }
  for (const task of TASKS) {
    assert.equal(queues[task].length, 0, `${task}: scripted results left over: ${JSON.stringify(queues[task])}`);
  }
  // Billed transitions: every state entered, plus every retry.
  return { visited, transitions: visited.length + retries, retries, calls, outcome, failure, waits };
}

const ready = { post_id: "p1", ready: true, wait_seconds: 0, pulled: false };
const pulledReady = { post_id: "p1", ready: true, wait_seconds: 5, pulled: true };
const uploaded = { post_id: "p1", done: true, wait_seconds: 15 };
const processing = { post_id: "p1", final: false, wait_seconds: 15 };
const published = { post_id: "p1", final: true, wait_seconds: 0 };

const tests = {
  async "happy path: 1 chunk, 2 status fetches, 10 transitions"() {
    const r = await run({ Init: [ready], Upload: [uploaded], Status: [processing, published] });
    assert.equal(r.outcome, "succeeded");
    assert.deepEqual(r.visited, [
      "Init", "InitReady", "Upload", "Pause", "Status", "Route", "Pause", "Status", "Route", "Published",
    ]);
    assert.equal(r.transitions, 10);
    assert.deepEqual(r.waits, [["Pause", 15], ["Pause", 15]]);
    // The task I/O contract: only the post id (and the action) goes in.
    assert.deepEqual(r.calls.Init, [{ post_id: "p1" }]);
    assert.deepEqual(r.calls.Upload, [{ post_id: "p1" }]);
    assert.deepEqual(r.calls.Status, [
      { post_id: "p1", action: "status" },
      { post_id: "p1", action: "status" },
    ]);
  },

  async "a pull skips the upload: init, a wait, status until final, 9 transitions"() {
    const r = await run({ Init: [pulledReady], Status: [processing, published] });
    assert.equal(r.outcome, "succeeded");
    assert.deepEqual(r.visited, [
      "Init", "InitReady", "Pause", "Status", "Route", "Pause", "Status", "Route", "Published",
    ]);
    assert.equal(r.transitions, 9);
    assert.deepEqual(r.waits, [["Pause", 5], ["Pause", 15]]);
    assert.deepEqual(r.calls.Upload, []);
  },

  async "one status fetch is enough: 7 transitions"() {
    const r = await run({ Init: [ready], Upload: [uploaded], Status: [published] });
    assert.equal(r.outcome, "succeeded");
    assert.equal(r.transitions, 7);
  },

  async "scheduled or allowance-bound init waits wait_seconds and inits again"() {
    const r = await run(
      {
        Init: [{ post_id: "p1", ready: false, wait_seconds: 3600 }, ready],
        Upload: [uploaded],
        Status: [published],
      },
      { post_id: "p1", publish_at: "2026-12-01T10:00:00Z" },
    );
    assert.equal(r.outcome, "succeeded");
    assert.deepEqual(r.visited.slice(0, 5), ["Init", "InitReady", "WaitForInit", "Init", "InitReady"]);
    assert.deepEqual(r.waits[0], ["WaitForInit", 3600]);
    assert.deepEqual(r.calls.Init, [{ post_id: "p1" }, { post_id: "p1" }]);
  },

  async "an upload that needs several invocations loops back through Status"() {
    const r = await run({
      Init: [ready],
      Upload: [{ post_id: "p1", done: false, wait_seconds: 0 }, uploaded],
      Status: [{ post_id: "p1", final: false, uploaded: false, wait_seconds: 0 }, published],
    });
    assert.equal(r.outcome, "succeeded");
    assert.deepEqual(r.visited, [
      "Init", "InitReady", "Upload", "Pause", "Status", "Route", "Upload", "Pause", "Status", "Route", "Published",
    ]);
  },

  async "UploadUrlExpired during the upload starts again from init"() {
    const r = await run({
      Init: [ready, ready],
      Upload: [taskError("UploadUrlExpired"), uploaded],
      Status: [published],
    });
    assert.equal(r.outcome, "succeeded");
    assert.deepEqual(r.visited.slice(0, 5), ["Init", "InitReady", "Upload", "Init", "InitReady"]);
    assert.deepEqual(r.calls.Init[1], { post_id: "p1" });
  },

  async "UploadUrlExpired from a status fetch starts again from init"() {
    const r = await run({
      Init: [ready, ready],
      Upload: [uploaded, uploaded],
      Status: [taskError("UploadUrlExpired"), published],
    });
    assert.equal(r.outcome, "succeeded");
    assert.equal(r.calls.Init.length, 2);
  },

  async "retryable errors are retried in place"() {
    for (const name of [
      "TikTokRateLimited", "TikTokUnavailable", "AwsUnavailable",
      "Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
      "Lambda.TooManyRequestsException",
    ]) {
      const r = await run({
        Init: [taskError(name), ready],
        Upload: [taskError(name), uploaded],
        Status: [taskError(name), published],
      });
      assert.equal(r.outcome, "succeeded", name);
      assert.equal(r.retries, 3, name);
      assert.equal(r.calls.RecordFailure.length, 0, name);
    }
  },

  async "AccessTokenInvalid is retried once (the next attempt refreshes), then recorded"() {
    const ok = await run({ Init: [taskError("AccessTokenInvalid"), ready], Upload: [uploaded], Status: [published] });
    assert.equal(ok.outcome, "succeeded");
    const r = await run({
      Init: [taskError("AccessTokenInvalid"), taskError("AccessTokenInvalid")],
      RecordFailure: [{ recorded: true }],
    });
    assert.equal(r.outcome, "failed");
    assert.equal(r.failure.Error, "AccessTokenInvalid");
  },

  async "retries end: the failure is recorded, then the run fails with the original error"() {
    const attempts = 1 + definition.States.Status.Retry.find((x) => x.ErrorEquals.includes("TikTokUnavailable")).MaxAttempts;
    const r = await run({
      Init: [ready],
      Upload: [uploaded],
      Status: Array.from({ length: attempts }, () => taskError("TikTokUnavailable", "TikTok answered 503")),
      RecordFailure: [{ recorded: true }],
    });
    assert.equal(r.outcome, "failed");
    assert.equal(r.failure.Error, "TikTokUnavailable");
    assert.equal(r.calls.RecordFailure.length, 1);
    assert.equal(r.calls.RecordFailure[0].action, "record_failure");
    assert.equal(r.calls.RecordFailure[0].error.Error, "TikTokUnavailable");
  },

  async "final errors are not retried: recorded, then Fail"() {
    for (const name of ["PostRefused", "TikTokRejected", "TikTokPostFailed", "AccountNeedsReconnect", "VideoChanged", "Internal"]) {
      for (const at of ["Init", "Upload", "Status"]) {
        const script = { Init: [ready], Upload: [uploaded], Status: [published], RecordFailure: [{ recorded: true }] };
        const order = ["Init", "Upload", "Status"];
        script[at] = [taskError(name, "because")];
        for (const later of order.slice(order.indexOf(at) + 1)) script[later] = [];
        const r = await run(script);
        assert.equal(r.outcome, "failed", `${name} at ${at}`);
        assert.equal(r.retries, 0, `${name} at ${at}`);
        assert.deepEqual(r.visited.slice(-2), ["RecordFailure", "Failed"], `${name} at ${at}`);
        assert.deepEqual(r.calls.RecordFailure, [
          { post_id: "p1", action: "record_failure", error: { Error: name, Cause: "because" } },
        ]);
        assert.equal(r.failure.Error, name);
        assert.equal(r.failure.Cause, "because");
      }
    }
  },

  async "a crashed, killed or timed-out task is retried in place (the next invocation resumes)"() {
    for (const name of ["Lambda.Unknown", "Runtime.ExitError", "Sandbox.Timedout", "States.Timeout"]) {
      const r = await run({
        Init: [taskError(name), ready],
        Upload: [taskError(name), uploaded],
        Status: [taskError(name), published],
      });
      assert.equal(r.outcome, "succeeded", name);
      assert.equal(r.retries, 3, name);
    }
  },

  async "a crash that keeps happening is recorded, then the run fails with it"() {
    const attempts = 1 + definition.States.Init.Retry.find((x) => x.ErrorEquals.includes("Lambda.Unknown")).MaxAttempts;
    const r = await run({
      Init: Array(attempts).fill(taskError("Lambda.Unknown")),
      RecordFailure: [{ recorded: true }],
    });
    assert.equal(r.outcome, "failed");
    assert.equal(r.failure.Error, "Lambda.Unknown");
    assert.equal(r.calls.Init.length, attempts);
  },

  async "an unexpected error no retrier names is recorded at once"() {
    const r = await run({ Init: [taskError("Some.NewError")], RecordFailure: [{ recorded: true }] });
    assert.equal(r.outcome, "failed");
    assert.equal(r.failure.Error, "Some.NewError");
  },

  async "PostConflict: another run owns the post, this one succeeds quietly"() {
    for (const at of ["Init", "Upload", "Status"]) {
      const script = { Init: [ready], Upload: [uploaded], Status: [published] };
      const order = ["Init", "Upload", "Status"];
      script[at] = [taskError("PostConflict")];
      for (const later of order.slice(order.indexOf(at) + 1)) script[later] = [];
      const r = await run(script);
      assert.equal(r.outcome, "succeeded", at);
      assert.equal(r.visited.at(-1), "Duplicate");
      assert.equal(r.calls.RecordFailure.length, 0);
    }
  },

  async "a failure to record the failure still fails the run with the original error"() {
    const attempts = 1 + definition.States.RecordFailure.Retry.find((x) => x.ErrorEquals.includes("AwsUnavailable")).MaxAttempts;
    const r = await run({
      Init: [taskError("PostRefused", "no such object")],
      RecordFailure: Array.from({ length: attempts }, () => taskError("AwsUnavailable")),
    });
    assert.equal(r.outcome, "failed");
    assert.equal(r.failure.Error, "PostRefused");
  },

  async "every error name of the core appears in the definition, and only those (plus AWS's own)"() {
    const rust = readFileSync(join(root, "shared", "domain", "src", "errors.rs"), "utf8");
    const block = rust.slice(rust.indexOf("error_kinds! {"));
    const names = [...block.matchAll(/^\s*([A-Z][A-Za-z0-9]*)\s*=>\s*[A-Za-z]+,/gm)].map((m) => m[1]);
    assert.ok(names.length >= 10, `parsed only ${names.length} names from errors.rs`);
    const used = new Set();
    for (const state of Object.values(definition.States)) {
      for (const rule of [...(state.Retry || []), ...(state.Catch || [])]) {
        for (const name of rule.ErrorEquals) used.add(name);
      }
    }
    for (const name of names) assert.ok(used.has(name), `${name} is never routed`);
    for (const name of used) {
      assert.ok(
        names.includes(name) || /^(States|Lambda|Runtime|Sandbox)\./.test(name),
        `${name} is not an error name of the core`,
      );
    }
  },

  async "every Task has TimeoutSeconds longer than its Lambda's Timeout"() {
    const template = readFileSync(join(root, "infra", "template.yaml"), "utf8");
    const lambdaTimeout = (logicalId) => {
      const at = template.indexOf(`\n  ${logicalId}:\n`);
      assert.ok(at >= 0, `${logicalId} not in the template`);
      const m = template.slice(at).match(/\n      Timeout: (\d+)\n/);
      return Number(m[1]);
    };
    const functionOf = {
      UploadInitFunctionArn: "UploadInitFunction",
      ChunkUploadFunctionArn: "ChunkUploadFunction",
      PublishStatusFunctionArn: "PublishStatusFunction",
    };
    const rawStates = JSON.parse(raw).States;
    for (const [name, state] of Object.entries(rawStates)) {
      if (state.Type !== "Task") continue;
      const placeholder = state.Resource.match(/^\$\{(\w+)\}$/)[1];
      const timeout = lambdaTimeout(functionOf[placeholder]);
      assert.ok(Number.isInteger(state.TimeoutSeconds), `${name} has no TimeoutSeconds`);
      assert.ok(state.TimeoutSeconds > timeout, `${name}: TimeoutSeconds ${state.TimeoutSeconds} <= Lambda Timeout ${timeout}`);
    }
  },
};

let failed = 0;
for (const [name, test] of Object.entries(tests)) {
  try {
    await test();
    console.log(`ok   ${name}`);
  } catch (error) {
    failed += 1;
    console.log(`FAIL ${name}\n     ${error.stack || error}`);
  }
}
console.log(`${Object.keys(tests).length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
