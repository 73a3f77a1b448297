// A minimal Lambda Runtime API client for the Node.js peer, used when the official aws-lambda-ric (whose
// native part needs cmake and a C++ toolchain) is not installed: the loop every custom runtime runs. It
// loads the handler, then forever: GET /runtime/invocation/next, run the handler on the event, POST its
// result to /invocation/<id>/response (or the error to /invocation/<id>/error). node:http with a
// keep-alive agent, one connection, as the official client keeps.
//
//   AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001 node runtime.mjs ./index.mjs
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(':');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const base = '/2018-06-01/runtime';

function request(method, p, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, method, path: base + p, agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ res, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function post(p, value) {
  const body = JSON.stringify(value);
  return request('POST', p, body, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
}

const file = process.argv[2] || process.env._HANDLER || './index.mjs';
let handler;
try {
  ({ handler } = await import(pathToFileURL(path.resolve(file)).href));
} catch (err) {
  await post('/init/error', { errorType: 'Runtime.ImportModuleError', errorMessage: String(err) });
  process.exit(1);
}

for (;;) {
  const { res, body } = await request('GET', '/invocation/next');
  const id = res.headers['lambda-runtime-aws-request-id'];
  const deadline = Number(res.headers['lambda-runtime-deadline-ms']);
  const context = {
    awsRequestId: id,
    invokedFunctionArn: res.headers['lambda-runtime-invoked-function-arn'],
    getRemainingTimeInMillis: () => deadline - Date.now(),
  };
  try {
    const result = await handler(JSON.parse(body), context);
    await post(`/invocation/${id}/response`, result === undefined ? null : result);
  } catch (err) {
    await post(`/invocation/${id}/error`, { errorType: err?.name || 'Error', errorMessage: String(err?.message || err) });
  }
}
