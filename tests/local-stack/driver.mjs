// The local stack's driver: does locally what AWS does between the services.
//
//   1. Event pump: drains each queue that stands in for an EventBridge rule's Lambda target
//      (setup.py made them) and invokes the rule's function with the event, as EventBridge
//      would (with the key URL-encoded and a unique id, as AWS sends them: asAwsSendsIt). A failed invocation leaves the message: it comes back after the queue's
//      visibility timeout, and after 1 + the function's retries moto moves it to the
//      dead-letter queue, as Lambda's asynchronous retries would.
//   2. Execution runner: picks up each new RUNNING execution in moto (whoever started it:
//      s3-trigger, posts-api, a test) and runs it once, on the definition moto holds (the
//      one from infra/ with its DefinitionSubstitutions filled in), in aws-local-stepfunctions.
//      An execution stopped in moto (StopExecution: a cancel) is aborted here too; a finished
//      run is stopped in moto so that it reads as closed (moto can only say ABORTED: the post
//      record, and this log, tell the outcome).
//   3. Invoke bridge (bridge.mjs): every Task state calls the real handler served by
//      `cargo lambda watch`: the function ARN becomes the bare name watch serves, and watch's
//      HTTP 500 with an errorType becomes an error of that name (what Lambda's
//      X-Amz-Function-Error gives Retry/Catch in AWS).
//
// Wait states are shortened with the runner's waitTimeOverrides (the definition is never
// edited), never below MIN_WAIT_MS (2 s: TikTok allows 30 status fetches per
// minute per account). Retry intervals are the definition's own.
//
// A function whose process dies during an invocation (killed, out of memory, crashed) fails
// that invocation as Lambda.Unknown, as in AWS: watch would hold it unanswered forever. The
// restart loop of scripts/local-stack appends a line to LOCAL_STACK_EXITS_DIR/<function>
// at each exit; the bridge watches that file while it waits.
//
// With LOCAL_STACK_LAMBDA_KILLS (a share, e.g. 0.05), that share of task invocations is
// chosen to die. A choice is taken by an invocation that is its function's only one in
// flight (so that nothing queued behind it dies too: one process serves a function here);
// while the function is busy, the choice waits for the next such invocation (at most three
// wait). At a random moment in its first 1.5 s, if it is still running and still alone, the
// function's process is killed (SIGKILL, its pid from the restart loop's pids/ file). The
// invocation then fails as Lambda.Unknown, and the definition's Retry takes it from there;
// a retry (the same task input) is never killed again.
// Kills are counted in LOCAL_STACK_DIR/lambda-kills.json.
//
// With LOCAL_STACK_DIR, the driver also counts what it did, for the volume bench
// (tests/bench): each function's invocations through it (the event pump's and the Task
// states'; not watch's HTTP API, nor invocations made straight to the Invoke API) and, per
// execution, the states entered and the retries (what Step Functions bills as transitions).
// They go to LOCAL_STACK_DIR/driver-counts.json, rewritten at most once a second.
//
// Environment: AWS_ENDPOINT_URL (moto), LOCAL_STACK_LAMBDA_URL (watch), LOCAL_STACK_JSON
// (setup.py's stack.json), LOCAL_STACK_WAIT_MS (default and minimum 2000),
// LOCAL_STACK_EXITS_DIR (optional: without it a dead function's invocation waits for its
// time-out), LOCAL_STACK_LAMBDA_KILLS with LOCAL_STACK_PIDS_DIR and LOCAL_STACK_DIR
// (optional).
// Usage: node tests/local-stack/driver.mjs       (scripts/local-stack starts it)
import { readFileSync, writeFileSync } from "node:fs";
import { SQSClient, ReceiveMessageCommand, DeleteMessageCommand } from "@aws-sdk/client-sqs";
import { functionName, invoke, processExits, short } from "./bridge.mjs";
import {
  SFNClient,
  ListExecutionsCommand,
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  StopExecutionCommand,
} from "@aws-sdk/client-sfn";

// aws-local-stepfunctions 3 targets Node 22; on Node 20 every Task state needs this (without
// it every Task fails with a TypeError that a States.ALL Catch swallows).
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

const MIN_WAIT_MS = 2000;
const stack = JSON.parse(readFileSync(process.env.LOCAL_STACK_JSON, "utf8"));
const lambdaUrl = new URL(process.env.LOCAL_STACK_LAMBDA_URL);
const waitMs = Math.max(MIN_WAIT_MS, Number(process.env.LOCAL_STACK_WAIT_MS || MIN_WAIT_MS));
const exitsDir = process.env.LOCAL_STACK_EXITS_DIR;

const killShare = Number(process.env.LOCAL_STACK_LAMBDA_KILLS || 0);
const pidsDir = process.env.LOCAL_STACK_PIDS_DIR;
const KILL_WITHIN_MS = 1500;
const MAX_WAITING_KILLS = 3;
const kills = { chosen: 0, owed: 0, killed: 0, finished_first: 0, not_alone: 0, by_function: {} };
const inFlight = new Map(); // function name -> invocations the driver is waiting on

// What driver-counts.json holds (see the header).
const counts = { invocations: {}, executions: {} };
let countsDue;
function countsChanged() {
  if (countsDue || !process.env.LOCAL_STACK_DIR) return;
  countsDue = setTimeout(() => {
    countsDue = undefined;
    writeFileSync(`${process.env.LOCAL_STACK_DIR}/driver-counts.json`, JSON.stringify(counts));
  }, 1000);
}

// Invokes `fn`, failing the invocation as Lambda.Unknown if its process exits meanwhile.
// `mayKill`: a task invocation, one LOCAL_STACK_LAMBDA_KILLS may choose to kill.
async function invokeFunction(fn, payload, timeoutMs, { mayKill = false } = {}) {
  counts.invocations[fn] = (counts.invocations[fn] ?? 0) + 1;
  countsChanged();
  if (!exitsDir) return invoke(lambdaUrl, fn, payload, timeoutMs);
  const exits = processExits(`${exitsDir}/${fn}`);
  inFlight.set(fn, (inFlight.get(fn) ?? 0) + 1);
  let running = true;
  const killer = mayKill ? killerFor(fn, payload, () => running) : undefined;
  try {
    return await invoke(lambdaUrl, fn, payload, timeoutMs, { exited: exits.exited });
  } finally {
    running = false;
    clearTimeout(killer);
    inFlight.set(fn, inFlight.get(fn) - 1);
    exits.stop();
  }
}

// Task inputs already killed once: a state's retry has the same input, and is never killed
// again, so no state loses more than one of its Lambda.Unknown retries to the kills.
const killedInputs = new Set();

// Chooses this task invocation (at the share) or carries over a choice an earlier one could
// not take (its function was busy with others); at most MAX_WAITING_KILLS choices wait. Only an
// invocation alone in flight takes one. Returns its timer, or undefined.
function killerFor(fn, payload, isRunning) {
  if (killShare <= 0) return undefined;
  if (Math.random() < killShare) {
    kills.chosen += 1;
    kills.owed = Math.min(kills.owed + 1, MAX_WAITING_KILLS);
  }
  const input = `${fn} ${JSON.stringify(payload)}`;
  if (kills.owed === 0 || inFlight.get(fn) !== 1 || killedInputs.has(input)) return undefined;
  kills.owed -= 1;
  return setTimeout(() => {
    if (!isRunning() || inFlight.get(fn) !== 1) {
      // A choice that finds nothing to kill waits for the next invocation.
      kills.owed = Math.min(kills.owed + 1, MAX_WAITING_KILLS);
      if (isRunning()) kills.not_alone += 1;
      else kills.finished_first += 1;
    } else {
      const pid = Number(readFileSync(`${pidsDir}/${fn}`, "utf8"));
      try {
        process.kill(pid, "SIGKILL");
        killedInputs.add(input);
        kills.killed += 1;
        kills.by_function[fn] = (kills.by_function[fn] ?? 0) + 1;
        log("driver", `killed ${fn} (pid ${pid}) mid-invocation (LOCAL_STACK_LAMBDA_KILLS)`);
      } catch (e) {
        log("driver", `could not kill ${fn} (pid ${pid}): ${e.message}`);
      }
    }
    writeFileSync(`${process.env.LOCAL_STACK_DIR}/lambda-kills.json`, JSON.stringify(kills));
  }, Math.random() * KILL_WITHIN_MS);
}
const aws = {
  endpoint: process.env.AWS_ENDPOINT_URL,
  region: stack.region,
  credentials: { accessKeyId: "test", secretAccessKey: "test" },
};
const sqs = new SQSClient(aws);
const sfn = new SFNClient(aws);
// moto gives every S3 event this same id; AWS's are unique.
const MOTO_EVENT_ID = "17793124-05d4-b198-2fde-7ededc63b103";

// moto's S3 event as AWS sends it: a unique id (the SQS message id: stable across
// redeliveries, as an event's id is across EventBridge's retries), and the object key
// URL-encoded form-style ("red flower.jpg" -> "red+flower.jpg"; moto 5.2.5 sends it raw), so
// s3-trigger runs with its AWS settings.
function asAwsSendsIt(event, messageId) {
  if (event.id === MOTO_EVENT_ID) event.id = messageId;
  const object = event.source === "aws.s3" ? event.detail?.object : undefined;
  if (object && typeof object.key === "string") {
    object.key = encodeURIComponent(object.key).replace(/%20/g, "+").replace(/%2F/g, "/");
  }
  return event;
}

let stopping = false;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function log(who, message) {
  const time = new Date().toISOString().slice(11, 23);
  console.log(`${time} [${who}] ${message}`);
}

// ------------------------------------------------------------------ event pump

async function pump({ queue_url: queueUrl, function: fn, rule, timeout_seconds: timeoutSeconds }) {
  const who = `event ${fn}`;
  log(who, `draining ${queueUrl.split("/").pop()} (rule ${rule})`);
  while (!stopping) {
    let messages = [];
    try {
      const answer = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          MessageSystemAttributeNames: ["ApproximateReceiveCount"],
        }),
      );
      messages = answer.Messages ?? [];
    } catch (e) {
      if (!stopping) log(who, `ReceiveMessage failed: ${e.message}`);
      await sleep(1000);
      continue;
    }
    for (const message of messages) {
      const event = JSON.parse(message.Body);
      const what = `${event["detail-type"]} ${event.detail?.object?.key ?? ""}`;
      asAwsSendsIt(event, message.MessageId);
      const attempt = message.Attributes?.ApproximateReceiveCount ?? "1";
      const started = Date.now();
      try {
        const answer = await invokeFunction(fn, event, (timeoutSeconds + 5) * 1000);
        log(who, `${what} (attempt ${attempt}) -> ok in ${Date.now() - started} ms: ${short(answer)}`);
        await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
      } catch (e) {
        log(who, `${what} (attempt ${attempt}) -> ${e.name}: ${short(e.message)} (retried after the visibility timeout)`);
      }
    }
  }
}

// ------------------------------------------------------------------ execution runner

const definitions = new Map(); // state machine ARN -> parsed definition
const runs = new Map(); // execution ARN -> { abort, name }
const seen = new Set(); // execution ARNs picked up (each runs once)

async function definitionOf(stateMachineArn) {
  if (!definitions.has(stateMachineArn)) {
    const answer = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn }));
    definitions.set(stateMachineArn, JSON.parse(answer.definition));
  }
  return definitions.get(stateMachineArn);
}

function overridesFor(definition) {
  const taskResourceLocalHandlers = {};
  const waitTimeOverrides = {};
  for (const [name, state] of Object.entries(definition.States)) {
    if (state.Type === "Task") {
      const fn = functionName(state.Resource);
      // The runner enforces TimeoutSeconds itself; the request gives up a little later.
      const timeoutMs = ((state.TimeoutSeconds ?? 60) + 5) * 1000;
      taskResourceLocalHandlers[name] = (input) => invokeFunction(fn, input, timeoutMs, { mayKill: true });
    } else if (state.Type === "Wait") {
      waitTimeOverrides[name] = waitMs;
    } else if (state.Type === "Map" || state.Type === "Parallel") {
      throw new Error(`state ${name}: ${state.Type} states are not bridged locally yet`);
    }
  }
  return { taskResourceLocalHandlers, waitTimeOverrides };
}

async function run(stateMachine, summary) {
  const arn = summary.executionArn;
  const who = `run ${summary.name}`;
  const described = await sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
  const input = JSON.parse(described.input ?? "{}");
  const definition = await definitionOf(stateMachine.arn);
  const machine = new StateMachine(definition);
  const execution = machine.run(input, {
    overrides: overridesFor(definition),
    noThrowOnAbort: true,
    context: {
      Execution: { Id: arn, Name: summary.name, Input: input, StartTime: described.startDate?.toISOString() },
      StateMachine: { Id: stateMachine.arn, Name: stateMachine.name },
    },
  });
  runs.set(arn, { abort: execution.abort, name: summary.name });
  log(who, `started ${short(input)} (waits ${waitMs} ms)`);
  const entered = new Map();
  const counted = (counts.executions[summary.name] = { states: 0, retries: 0, outcome: "running" });
  let outcome = "ended";
  for await (const event of execution.eventLogs) {
    const state = event.state;
    switch (event.type) {
      case "StateEntered":
        counted.states += 1;
        countsChanged();
        entered.set(state.name, Date.now());
        if (state.type === "Wait") log(who, `${state.name}: wait ${waitMs} ms (definition asks ${short(state.input?.wait_seconds ?? "its own")} s)`);
        break;
      case "StateExited":
        if (state.type === "Task") log(who, `${state.name} -> ${short(state.output)} (${Date.now() - entered.get(state.name)} ms)`);
        else if (state.type === "Choice") log(who, `${state.name}: chose the next state`);
        break;
      case "StateRetried":
        counted.retries += 1;
        log(who, `${state.name}: retry ${event.retry.attempt} after ${event.retry.retrier.ErrorEquals.join("|")}`);
        break;
      case "StateCaught":
        log(who, `${state.name}: caught -> ${event.catch.catcher.Next}`);
        break;
      case "StateFailed":
        log(who, `${state.name} failed: ${event.Error}: ${short(event.Cause)}`);
        break;
      case "ExecutionSucceeded":
        outcome = "succeeded";
        log(who, `SUCCEEDED ${short(event.output)}`);
        break;
      case "ExecutionFailed":
        outcome = "failed";
        log(who, `FAILED ${event.Error}: ${short(event.Cause)}`);
        break;
      case "ExecutionTerminated":
        outcome = "aborted";
        log(who, "ABORTED (stopped in moto)");
        break;
      default:
        break;
    }
  }
  await execution.result.catch(() => {});
  counted.outcome = outcome;
  countsChanged();
  const wasStoppedOutside = !runs.has(arn);
  runs.delete(arn);
  if (!wasStoppedOutside && !stopping) {
    // Close it in moto (it can only say ABORTED): StartExecution with this name then
    // answers ExecutionAlreadyExists, as AWS does for a closed execution.
    await sfn
      .send(new StopExecutionCommand({ executionArn: arn, cause: `local run ${outcome}` }))
      .catch((e) => log(who, `StopExecution failed: ${e.message}`));
  }
}

async function runner() {
  for (const machine of stack.state_machines) log("runner", `watching executions of ${machine.name}`);
  while (!stopping) {
    for (const machine of stack.state_machines) {
      try {
        let nextToken;
        do {
          const page = await sfn.send(
            new ListExecutionsCommand({ stateMachineArn: machine.arn, statusFilter: "RUNNING", nextToken }),
          );
          for (const summary of page.executions ?? []) {
            if (seen.has(summary.executionArn)) continue;
            seen.add(summary.executionArn);
            run(machine, summary).catch((e) => log(`run ${summary.name}`, `could not run: ${e.stack}`));
          }
          nextToken = page.nextToken;
        } while (nextToken);
        // A run whose execution was stopped in moto (a cancel) is aborted here.
        for (const [arn, local] of runs) {
          const { status } = await sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
          if (status !== "RUNNING") {
            runs.delete(arn);
            log(`run ${local.name}`, `execution is ${status} in moto: aborting the local run`);
            local.abort();
          }
        }
      } catch (e) {
        if (!stopping) log("runner", `polling moto failed: ${e.message}`);
      }
    }
    await sleep(500);
  }
}

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    stopping = true;
    for (const local of runs.values()) local.abort();
    log("driver", `${signal}: stopping`);
    setTimeout(() => process.exit(0), 200);
  });
}

log("driver", `moto ${aws.endpoint}, functions ${lambdaUrl.origin}, ${stack.event_sources.length} event source(s), ${stack.state_machines.length} state machine(s)`);
await Promise.all([...stack.event_sources.map(pump), runner(), (async () => log("driver", "ready"))()]);
