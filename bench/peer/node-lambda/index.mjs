// The Node.js peer on Lambda: the webhook receiver a partner writes for API Gateway (HTTP API, payload
// format 2.0) on the Node.js 20 runtime, doing the project's webhook job: check X-Hub-Signature-256 with
// node:crypto's HMAC over the raw body, JSON.parse it, and enqueue every message and status to SQS with the
// AWS SDK v3 (SendMessageBatch, 10 per call, 8 calls in flight: what the project's intake does), then 200.
// The app secret comes from the environment (APP_SECRET), as partners usually configure it; the project
// reads it from Secrets Manager, cached, which costs the project a call at its cold start, not the peer.
//
// PEER_SEND=message enqueues with one SendMessage per event instead.
import crypto from 'node:crypto';
import { SQSClient, SendMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';

const APP_SECRET = process.env.APP_SECRET;
const QUEUE_URL = process.env.WEBHOOK_QUEUE_URL;
const VERIFY_TOKEN = process.env.VERIFY_TOKEN || '';
const ONE_BY_ONE = process.env.PEER_SEND === 'message';
const MAX_BATCH_BYTES = 256 * 1024;
const sqs = new SQSClient({});

function answer(statusCode, body) {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

function verify(raw, header) {
  if (typeof header !== 'string' || !header.startsWith('sha256=')) return false;
  const expected = crypto.createHmac('sha256', APP_SECRET).update(raw).digest();
  const got = Buffer.from(header.slice(7), 'hex');
  return got.length === expected.length && crypto.timingSafeEqual(got, expected);
}

// batches groups message bodies by 10 and by SQS's 256 KiB per request.
function batches(bodies) {
  const out = [];
  let cur = [];
  let size = 0;
  for (const b of bodies) {
    const n = Buffer.byteLength(b);
    if (cur.length === 10 || (cur.length > 0 && size + n > MAX_BATCH_BYTES)) {
      out.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(b);
    size += n;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

async function sendAll(bodies) {
  const work = ONE_BY_ONE
    ? bodies.map((b) => () => sqs.send(new SendMessageCommand({ QueueUrl: QUEUE_URL, MessageBody: b })))
    : batches(bodies).map((batch) => async () => {
        const out = await sqs.send(new SendMessageBatchCommand({
          QueueUrl: QUEUE_URL,
          Entries: batch.map((b, i) => ({ Id: String(i), MessageBody: b })),
        }));
        if (out.Failed && out.Failed.length > 0) throw new Error(`${out.Failed.length} messages not enqueued`);
      });
  let next = 0;
  const lane = async () => {
    while (next < work.length) await work[next++]();
  };
  await Promise.all(Array.from({ length: Math.min(8, work.length) }, lane));
}

export async function handler(event) {
  const method = event.requestContext?.http?.method;
  if (method === 'GET') {
    const q = event.queryStringParameters || {};
    if (q['hub.mode'] === 'subscribe' && VERIFY_TOKEN && q['hub.verify_token'] === VERIFY_TOKEN) {
      return { statusCode: 200, headers: { 'content-type': 'text/plain' }, body: q['hub.challenge'] || '' };
    }
    return answer(403, { error: 'forbidden' });
  }
  if (method !== 'POST') return answer(405, { error: 'method not allowed' });
  const raw = Buffer.from(event.body || '', event.isBase64Encoded ? 'base64' : 'utf8');
  if (!verify(raw, event.headers?.['x-hub-signature-256'])) return answer(401, { error: 'bad signature' });
  let body;
  try {
    body = JSON.parse(raw);
  } catch {
    return answer(400, { error: 'invalid JSON' });
  }
  if (body.object !== 'whatsapp_business_account') return answer(200, { ok: true });
  const messages = [];
  for (const entry of body.entry || []) {
    for (const change of entry.changes || []) {
      const v = change.value || {};
      const meta = { waba_id: entry.id, field: change.field, phone_number_id: v.metadata?.phone_number_id };
      for (const m of v.messages || []) messages.push(JSON.stringify({ ...meta, kind: 'message', message: m, contacts: v.contacts }));
      for (const s of v.statuses || []) messages.push(JSON.stringify({ ...meta, kind: 'status', status: s }));
    }
  }
  try {
    await sendAll(messages);
  } catch (err) {
    console.error(JSON.stringify({ level: 'ERROR', msg: 'enqueue failed', error: String(err) }));
    return answer(500, { error: 'not stored; deliver again' });
  }
  console.log(JSON.stringify({ level: 'INFO', msg: 'webhook taken', bytes: raw.length, stored: messages.length }));
  return answer(200, { ok: true });
}
