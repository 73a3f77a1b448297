// The benchmark peer: a webhook receiver for the WhatsApp Cloud API written the way partners usually write
// one (and the way Meta's sample apps do): node:http, the raw body collected, X-Hub-Signature-256 checked with
// createHmac('sha256') and timingSafeEqual, JSON.parse, then 200. It keeps nothing (no dedupe, no storage), so
// it does strictly less work than the project's intake. Single process, single JavaScript thread.
//
//   APP_SECRET=... PORT=0 node server.js   # prints "listening http://127.0.0.1:<port>" once ready
import http from 'node:http';
import crypto from 'node:crypto';

const APP_SECRET = process.env.APP_SECRET;
const VERIFY_TOKEN = process.env.VERIFY_TOKEN || 'dev-verify-token';
const PORT = Number(process.env.PORT || 0);
const MAX_BODY = 4 * 1024 * 1024;

if (!APP_SECRET) {
  console.error('APP_SECRET is required');
  process.exit(1);
}

function verify(raw, header) {
  if (typeof header !== 'string' || !header.startsWith('sha256=')) return false;
  const expected = crypto.createHmac('sha256', APP_SECRET).update(raw).digest();
  const got = Buffer.from(header.slice(7), 'hex');
  return got.length === expected.length && crypto.timingSafeEqual(got, expected);
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (url.pathname !== '/webhooks') {
    res.writeHead(404).end();
    return;
  }
  if (req.method === 'GET') {
    const q = url.searchParams;
    if (q.get('hub.mode') === 'subscribe' && q.get('hub.verify_token') === VERIFY_TOKEN) {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end(q.get('hub.challenge'));
    } else {
      res.writeHead(403).end();
    }
    return;
  }
  if (req.method !== 'POST') {
    res.writeHead(405).end();
    return;
  }
  const chunks = [];
  let size = 0;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size > MAX_BODY) {
      res.writeHead(413).end();
      req.destroy();
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (res.headersSent) return;
    const raw = Buffer.concat(chunks);
    if (!verify(raw, req.headers['x-hub-signature-256'])) {
      res.writeHead(401).end();
      return;
    }
    let body;
    try {
      body = JSON.parse(raw);
    } catch {
      res.writeHead(400).end();
      return;
    }
    if (body.object !== 'whatsapp_business_account') {
      res.writeHead(404).end();
      return;
    }
    // A typical receiver walks the changes to hand messages and statuses to the app; this one only counts.
    let items = 0;
    for (const entry of body.entry || []) {
      for (const change of entry.changes || []) {
        const v = change.value || {};
        items += (v.messages || []).length + (v.statuses || []).length;
      }
    }
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ ok: true, items }));
  });
});

server.listen(PORT, '127.0.0.1', () => {
  console.log(`listening http://127.0.0.1:${server.address().port}`);
});

for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
