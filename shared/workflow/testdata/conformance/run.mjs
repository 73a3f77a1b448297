// Conformance harness: runs the onboarding workflow definition through aws-local-stepfunctions (npm) on the
// scenarios the Go test (shared/workflow/conformance_test.go) sends on stdin, and prints what happened as JSON
// on stdout, for the Go test to compare with the Go interpreter (shared/asl/engine) on the same scenarios.
//
// stdin:  {"definition": <ASL with the Lambda ARNs substituted>,
//          "scenarios": [{"name", "input", "functions": {"<function name>": [<behaviour>, ...]}}]}
// stdout: {"results": [{"name", "states": [...entered states], "status": "SUCCEEDED"|"FAILED"|...,
//           "output", "error", "cause", "calls": [{"function", "payload"}]}]}
//
// A behaviour scripts one invocation of a function (invocations past the end of the list get {}):
//   {}                                        answer like the real function (steps.Output; see respond)
//   {"error": "TransientError", "message": m}  fail as a Go Lambda does: Error = the Go type name,
//                                              Cause = {"errorMessage": m, "errorType": name}
//   {"callback": "success", "output": {...}}   (await_webhook) answer, then the worker calls SendTaskSuccess
//   {"callback": "failure", "error": e, "cause": c}   ... SendTaskFailure
//   {"callback": "none"}                       nobody calls back: the task's TimeoutSecondsPath ends it
//
// Every scenario runs concurrently in this one process; no network (every Task state is overridden).
//
// What aws-local-stepfunctions 3.0.0 lacks, and how this harness makes up for it (the Go test repeats this):
//   - Service integrations: a Task's Resource is always treated as a Lambda function ARN. Every Task state
//     is overridden (taskResourceLocalHandlers, keyed by state name); the override receives the input after
//     Parameters ({"FunctionName", "Payload"}), dispatches on FunctionName like Step Functions does, and
//     returns what arn:aws:states:::lambda:invoke returns (the function's response under "Payload", with
//     StatusCode and ExecutedVersion), since ResultSelector reads $.Payload.
//   - .waitForTaskToken: unsupported, and the Context Object has no Task.Token. The run passes a Context
//     Object with a fixed Task.Token; the override invokes await_webhook and then plays the callback itself:
//     it resolves with the SendTaskSuccess output, rejects with the SendTaskFailure error, or never settles,
//     so that the library's own TimeoutSecondsPath timer fails the task with States.Timeout (the scenario
//     uses a 1 s timeout: the only real wait of the run).
//   - TimeoutSecondsPath is resolved against the task input after Parameters, not the state input as on
//     Step Functions: the library gets the paths rewritten to $$.Execution.Input (see forLibrary).
//   - It requires Node >= 22 (its package.json says so; ours allows >= 20): every Task state calls
//     Promise.withResolvers, which Node 20 lacks, and fails with a TypeError that the definition's
//     Catch then routes to the failure branch. The harness polyfills it.
//   - Retry intervals and Wait states are set to 0 ms (retryIntervalOverrides, waitTimeOverrides), which
//     also bypasses JitterStrategy FULL / MaxDelaySeconds (supported by the library, but random).
import { StateMachine } from 'aws-local-stepfunctions';

// Node 20 has no Promise.withResolvers, which aws-local-stepfunctions 3 uses in every Task state.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new this((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

// The token this harness hands to every .waitForTaskToken task ($$.Task.Token).
const TASK_TOKEN = 'conformance-task-token';

async function readStdin() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

// functionName returns the function name of a FunctionName parameter (a name or an ARN, maybe qualified).
function functionName(fn) {
  const i = fn.indexOf(':function:');
  const rest = i >= 0 ? fn.slice(i + ':function:'.length) : fn;
  return rest.split(':')[0];
}

// lambdaError is a function error as Step Functions reports it for a Go Lambda function.
function lambdaError(name, message) {
  const err = new Error(JSON.stringify({ errorMessage: message, errorType: name }));
  err.name = name;
  return err;
}

// respond mirrors the real functions' successful responses (steps.Output), as the Go test's handlers do.
function respond(fn, payload) {
  const out = { onboarding_id: payload.onboarding_id };
  switch (fn) {
    case 'record_outcome':
      switch (payload.action) {
        case 'skip':
          return { ...out, step: payload.step, status: 'SKIPPED', note: payload.reason };
        case 'fail':
          return { ...out, step: payload.step, status: 'FAILED' };
        case 'complete':
          return { ...out, step: 'send_test_message', status: payload.verified ? 'SUCCEEDED' : 'SKIPPED' };
        case 'wait':
          return { ...out, step: payload.step, status: 'RUNNING', wait_seconds: 420 };
        default:
          throw lambdaError('PermanentError', `record_outcome: unknown action "${payload.action}"`);
      }
    case 'await_webhook':
      return { ...out, step: payload.kind === 'phone_verification' ? 'verify_phone' : 'send_test_message', status: 'RUNNING' };
    case 'send_test_message':
      return { ...out, step: fn, status: 'RUNNING', message_id: 'wamid.reply' };
    default:
      return { ...out, step: fn, status: 'SUCCEEDED' };
  }
}

function lambdaInvokeResult(payload) {
  return { ExecutedVersion: '$LATEST', Payload: payload, StatusCode: 200 };
}

async function runScenario(definition, machine, sc) {
  const calls = [];
  const counts = {};
  const invoke = (fn, payload) => {
    calls.push({ function: fn, payload });
    const n = counts[fn] ?? 0;
    counts[fn] = n + 1;
    const b = sc.functions?.[fn]?.[n] ?? {};
    if (b.error && !b.callback) throw lambdaError(b.error, b.message ?? '');
    const response = respond(fn, payload);
    if (b.status) response.status = b.status; // verify_phone finding the number unverified: RUNNING
    return { response, behaviour: b };
  };

  const taskResourceLocalHandlers = {};
  const retryIntervalOverrides = {};
  const waitTimeOverrides = {};
  for (const [name, st] of Object.entries(definition.States)) {
    if (st.Retry) retryIntervalOverrides[name] = 0;
    if (st.Type === 'Wait') waitTimeOverrides[name] = 0;
    if (st.Type !== 'Task') continue;
    const callback = st.Resource.endsWith('.waitForTaskToken');
    taskResourceLocalHandlers[name] = (params) => {
      const p = callTask(name, callback, params);
      p.catch(() => {}); // the library may fail the state before it awaits p (States.Runtime)
      return p;
    };
  }
  async function callTask(name, callback, params) {
    const { response, behaviour } = invoke(functionName(params.FunctionName), params.Payload ?? {});
    if (!callback) return lambdaInvokeResult(response);
    // The function returned: the task now waits for its token, which the scripted worker answers.
    switch (behaviour.callback) {
      case 'success':
        return behaviour.output;
      case 'failure': {
        const err = new Error(behaviour.cause ?? '');
        err.name = behaviour.error;
        throw err;
      }
      case 'none':
        return new Promise(() => {}); // only the task's timeout ends it
      default:
        throw new Error(`state ${name}: behaviour without callback for a .waitForTaskToken task`);
    }
  }

  const execution = machine.run(sc.input, {
    overrides: { taskResourceLocalHandlers, retryIntervalOverrides, waitTimeOverrides },
    context: { Task: { Token: TASK_TOKEN } },
  });
  const states = [];
  const result = { name: sc.name, states, calls };
  const collect = (async () => {
    for await (const ev of execution.eventLogs) {
      switch (ev.type) {
        case 'StateEntered':
          states.push(ev.state.name);
          break;
        case 'ExecutionSucceeded':
          result.status = 'SUCCEEDED';
          result.output = ev.output;
          break;
        case 'ExecutionFailed':
          result.status = 'FAILED';
          result.error = ev.Error;
          result.cause = typeof ev.Cause === 'string' ? ev.Cause : String(ev.Cause?.message ?? ev.Cause);
          break;
        case 'ExecutionTimeout':
          result.status = 'TIMED_OUT';
          break;
        case 'ExecutionAborted':
          result.status = 'ABORTED';
          break;
      }
    }
  })();
  try {
    await execution.result;
  } catch (err) {
    result.exception = String(err?.message ?? err);
  }
  await collect;
  return result;
}

// forLibrary returns the definition as aws-local-stepfunctions must be given it to behave as Step Functions
// does. The library resolves TimeoutSecondsPath against the task's input after Parameters (here
// {"FunctionName", "Payload"}), where Step Functions (and the Go interpreter) resolve it against the state's
// input. The definition's timeout paths name execution input fields that no state writes, so reading them
// from the Context Object ($$.Execution.Input) gives the value Step Functions reads.
function forLibrary(definition) {
  const def = structuredClone(definition);
  for (const st of Object.values(def.States)) {
    if (typeof st.TimeoutSecondsPath === 'string' && st.TimeoutSecondsPath.startsWith('$.')) {
      st.TimeoutSecondsPath = '$$.Execution.Input.' + st.TimeoutSecondsPath.slice(2);
    }
  }
  return def;
}

const { definition, scenarios } = await readStdin();
const libraryDefinition = forLibrary(definition);
// The constructor validates the definition with asl-validator (ARNs and paths checked).
const machine = new StateMachine(libraryDefinition);
const results = await Promise.all(scenarios.map((sc) => runScenario(definition, machine, sc)));
process.stdout.write(JSON.stringify({ results }) + '\n');
