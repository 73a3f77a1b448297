// The floor of a Node.js Lambda function: the runtime client and a handler that answers 200 without
// looking at the event. lambdabench runs it next to the peer to tell the runtime's own CPU per invocation
// from the handler's work.
export async function handler() {
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' };
}
