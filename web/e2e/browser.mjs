// End-to-end tests of the example partner page in headless Chromium, driven by playwright-core. Run by
// web/browser_test.go (`make test`), which starts the local runners and passes their URLs:
//   BASE_URL        a local runner with default settings
//   FAULTS_URL      a local runner with GRAPH_SIM_FAULTS=register:100x1
//   CHROMIUM_PATH   the browser (default /usr/bin/chromium, Debian's chromium package)
//   ARTIFACTS_DIR   where screenshots go (default test-artifacts/browser)
//   SCENARIOS       optional comma-separated subset to run
// Prints one line per scenario: RESULT {"scenario", "ok", "ms", "error", "observed"}; exits 1 if any failed.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

const BASE_URL = process.env.BASE_URL;
const FAULTS_URL = process.env.FAULTS_URL;
const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ARTIFACTS_DIR = resolve(process.env.ARTIFACTS_DIR || 'test-artifacts/browser');
const TESTER = process.env.TESTER || '+16505551234';
const ONLY = (process.env.SCENARIOS || '').split(',').map((s) => s.trim()).filter(Boolean);
const STEP_TIMEOUT = 20000;
const ONBOARDING_TIMEOUT = 45000;

// The flags this machine's Chromium needs (see the README of the machine): headless, no sandbox as root,
// and no background networking (the sandbox's network refuses it). Playwright gives every launch a fresh,
// empty profile directory.
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const STEPS = ['exchange_token', 'verify_grant', 'subscribe_webhooks', 'sync_business_app', 'share_credit_line',
  'verify_phone', 'register_phone', 'send_test_message'];
// Steps a FINISH signup of a new, verified number skips: not a Business app number, already verified.
const SKIPPED_FOR_FINISH = ['sync_business_app', 'verify_phone'];

class Failure extends Error {}
function check(cond, message) { if (!cond) { throw new Failure(message); } }

mkdirSync(ARTIFACTS_DIR, { recursive: true });

async function shot(target, name) {
  await target.screenshot({ path: join(ARTIFACTS_DIR, name + '.png'), fullPage: true });
}

// A fresh browser context with the page loaded, collecting page errors and CSP violations.
async function openPage(browser, baseURL) {
  const context = await browser.newContext({ viewport: { width: 820, height: 900 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('console', (m) => {
    // Chromium logs every non-2xx fetch ("Failed to load resource"): expected for 400 and 409 answers.
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) { problems.push('console error: ' + m.text()); }
  });
  context.on('page', (p) => p.on('pageerror', (e) => problems.push('popup error: ' + e.message)));
  await page.goto(baseURL + '/');
  await page.locator('#connect:not([disabled])').waitFor({ timeout: STEP_TIMEOUT });
  return { context, page, problems };
}

// Clicks Connect WhatsApp and returns the simulated signup popup, loaded.
async function openPopup(page) {
  const [popup] = await Promise.all([page.waitForEvent('popup', { timeout: STEP_TIMEOUT }), page.click('#connect')]);
  await popup.waitForLoadState('domcontentloaded');
  await popup.locator('#phone-id').waitFor();
  return popup;
}

async function waitStatus(page, statuses, timeout = ONBOARDING_TIMEOUT) {
  const sel = statuses.map((s) => `#overall[data-status="${s}"]`).join(', ');
  try {
    await page.locator(sel).waitFor({ timeout });
  } catch (e) {
    const now = await page.locator('#overall').getAttribute('data-status').catch(() => '?');
    const notice = await page.locator('#notice').textContent().catch(() => '');
    throw new Failure(`the onboarding did not reach ${statuses.join(' or ')} within ${timeout} ms (status ${now}; notice: ${notice.trim()})`);
  }
  return page.locator('#overall').getAttribute('data-status');
}

async function stepStatuses(page) {
  return page.$$eval('#steps li', (lis) => Object.fromEntries(lis.map((li) => [li.dataset.step, li.dataset.status])));
}

// Records every status the page shows, to report what was seen live.
async function observe(page) {
  await page.evaluate(() => {
    window.__seen = [];
    const record = () => {
      const overall = document.querySelector('#overall');
      const steps = [...document.querySelectorAll('#steps li')].map((li) => li.dataset.status[0]).join('');
      const entry = (overall ? overall.dataset.status : '') + ' ' + steps;
      if (window.__seen[window.__seen.length - 1] !== entry) { window.__seen.push(entry); }
    };
    new MutationObserver(record).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['data-status'], childList: true });
  });
}

async function noticeText(page) {
  await page.locator('#notice:not([hidden])').waitFor({ timeout: STEP_TIMEOUT });
  return (await page.locator('#notice').textContent()).replace(/\s+/g, ' ').trim();
}

// ---- scenarios ----

const scenarios = {
  // Finish in the popup with the simulated tester as the test number: every step, then VERIFIED.
  async verified(browser) {
    const { context, page, problems } = await openPage(browser, BASE_URL);
    await shot(page, 'verified-0-page');
    await page.fill('#test-number', TESTER);
    await observe(page);
    const popup = await openPopup(page);
    await popup.selectOption('#order', 'code-first'); // the code before the session event
    const phone = await popup.inputValue('#phone-id');
    await shot(popup, 'verified-1-popup');
    await popup.click('#finish');
    await page.locator('#progress:not([hidden])').waitFor({ timeout: STEP_TIMEOUT });
    const status = await waitStatus(page, ['VERIFIED', 'FAILED', 'COMPLETED']);
    await page.mouse.move(0, 0); // no hover state in the screenshot
    await page.waitForTimeout(100); // let the live region settle for the screenshot
    await shot(page, 'verified-2-done');
    const steps = await stepStatuses(page);
    check(status === 'VERIFIED', `expected VERIFIED, got ${status}: ${JSON.stringify(steps)}`);
    check(Object.keys(steps).join() === STEPS.join(), `the page shows steps ${Object.keys(steps)}`);
    for (const s of STEPS) {
      const want = SKIPPED_FOR_FINISH.includes(s) ? 'SKIPPED' : 'SUCCEEDED';
      check(steps[s] === want, `step ${s} is ${steps[s]}, want ${want}`);
    }
    check((await page.textContent('#phone-id')) === phone, 'the page shows the phone number id chosen in the popup');
    check(/test message went through/.test(await page.textContent('#summary')), 'the summary tells the number is verified');
    check((await page.locator('#retry').isHidden()), 'no Retry button for a verified onboarding');
    check(await page.locator('#connect').isEnabled(), 'Connect WhatsApp is enabled again');
    const seen = await page.evaluate(() => window.__seen);
    check(seen.length >= 2, 'the page updated live: ' + JSON.stringify(seen));
    check(problems.length === 0, problems.join('; '));
    await context.close();
    return { observed: seen };
  },

  // Cancel, error, expired code and a closed popup: the page explains each and nothing starts.
  async cancelled(browser) {
    const { context, page, problems } = await openPage(browser, BASE_URL);

    let popup = await openPopup(page);
    await popup.selectOption('#current-step', 'PHONE_NUMBER_VERIFICATION');
    await popup.click('#cancel');
    let text = await noticeText(page);
    check(/Signup cancelled/.test(text) && /PHONE_NUMBER_VERIFICATION/.test(text), 'cancel notice: ' + text);
    check(await page.locator('#progress').isHidden(), 'no onboarding shown after a cancel');
    await page.locator('#connect:not([disabled])').waitFor({ timeout: STEP_TIMEOUT });
    await shot(page, 'cancelled-1-cancel');

    popup = await openPopup(page);
    await popup.click('#error');
    text = await noticeText(page);
    check(/reported an error/.test(text) && /524126/.test(text) && /session id \d+/.test(text), 'error notice: ' + text);
    await page.locator('#connect:not([disabled])').waitFor({ timeout: STEP_TIMEOUT });
    await shot(page, 'cancelled-2-error');

    popup = await openPopup(page);
    await popup.check('#expired');
    await popup.click('#finish');
    await page.locator('#notice[data-kind="error"]:not([hidden])').waitFor({ timeout: STEP_TIMEOUT });
    text = await noticeText(page);
    check(/not accepted/.test(text) && /field: code/.test(text) && /30 seconds/.test(text), 'expired code notice: ' + text);
    await shot(page, 'cancelled-3-expired-code');

    popup = await openPopup(page);
    await popup.close();
    await page.locator('#notice-title', { hasText: 'Signup not finished' }).waitFor({ timeout: STEP_TIMEOUT });

    await page.fill('#test-number', '12345');
    await page.click('#connect');
    check(/international format/.test(await page.textContent('#test-number-error')), 'a malformed test number is refused before the popup');
    check((await page.getAttribute('#test-number', 'aria-invalid')) === 'true', 'the field is marked invalid');
    check(context.pages().length === 1, 'no popup for a malformed test number');
    check(problems.length === 0, problems.join('; '));
    await context.close();
    return {};
  },

  // register fails once (Meta error 100): FAILED with the error and advice; Retry resumes to COMPLETED.
  async retried(browser) {
    const { context, page, problems } = await openPage(browser, FAULTS_URL);
    await observe(page);
    const popup = await openPopup(page);
    await popup.selectOption('#order', 'event-first'); // the session event before the code
    await popup.click('#finish');
    let status = await waitStatus(page, ['FAILED', 'COMPLETED', 'VERIFIED']);
    let steps = await stepStatuses(page);
    check(status === 'FAILED', `expected FAILED, got ${status}: ${JSON.stringify(steps)}`);
    check(steps.register_phone === 'FAILED', `register_phone is ${steps.register_phone}`);
    const failed = page.locator('#steps li[data-step="register_phone"]');
    const detail = await failed.locator('.error-detail').textContent();
    check(/graph_permanent/.test(detail) && /Meta error 100/.test(detail) && /fbtrace_id \S+/.test(detail), 'error detail: ' + detail);
    check((await failed.locator('.error-message').textContent()).trim().length > 0, 'the error message is shown');
    check(/What to do: /.test(await failed.locator('.advice').textContent()), 'advice is shown');
    await page.locator('#retry:not([hidden])').waitFor({ timeout: STEP_TIMEOUT });
    await shot(page, 'retried-1-failed');

    await page.click('#retry');
    status = await waitStatus(page, ['COMPLETED', 'VERIFIED']);
    steps = await stepStatuses(page);
    check(status === 'COMPLETED', `expected COMPLETED after the retry, got ${status}`);
    check(steps.register_phone === 'SUCCEEDED', `register_phone is ${steps.register_phone} after the retry`);
    check(steps.send_test_message === 'SKIPPED', `send_test_message is ${steps.send_test_message} (no test number)`);
    check(await failed.locator('.step-error').isHidden(), 'the error is cleared after the retry');
    check(await page.locator('#retry').isHidden(), 'no Retry button once completed');
    await shot(page, 'retried-2-completed');
    const seen = await page.evaluate(() => window.__seen);
    check(problems.length === 0, problems.join('; '));
    await context.close();
    return { observed: seen };
  },

  // The other finish events: a WABA-only signup and a WhatsApp Business app number (its session event
  // without a phone number id, as Meta often sends it) complete without registering; a customer who finished
  // with no number completes with the phone steps skipped; the OBO migration and grant-only finish types get
  // the steps of FINISH.
  async variants(browser) {
    const { context, page, problems } = await openPage(browser, BASE_URL);
    const seen = [];
    for (const [button, kind] of [['#finish-waba', 'new'], ['#finish-app', '2222'], ['#finish', 'none'], ['#finish-obo', 'new'], ['#finish-grant', 'new']]) {
      const before = await page.textContent('#onboarding-id');
      const popup = await openPopup(page);
      await popup.selectOption('#phone-kind', kind);
      if (button === '#finish-app') { await popup.check('#omit-phone'); }
      if (kind === 'none' || button === '#finish-app') {
        // A WABA of its own: the shared default WABA has the numbers of the other scenarios, and without a
        // phone number id the server would find several (phone_number_ambiguous).
        await popup.fill('#waba-id', '9' + String(Date.now()).slice(-14));
      }
      await popup.click(button);
      await page.waitForFunction((id) => document.querySelector('#onboarding-id').textContent !== id, before, { timeout: STEP_TIMEOUT });
      const status = await waitStatus(page, ['COMPLETED', 'VERIFIED', 'FAILED']);
      const steps = await stepStatuses(page);
      seen.push(`${button}: ${status} ${JSON.stringify(steps)}`);
      check(status === 'COMPLETED', `${button}: expected COMPLETED, got ${status}: ${JSON.stringify(steps)}`);
      const registers = button === '#finish-obo' || button === '#finish-grant';
      check(steps.register_phone === (registers ? 'SUCCEEDED' : 'SKIPPED'), `${button}: register_phone is ${steps.register_phone}`);
      check(steps.sync_business_app === (button === '#finish-app' ? 'SUCCEEDED' : 'SKIPPED'), `${button}: sync_business_app is ${steps.sync_business_app}`);
      const phoneShown = await page.textContent('#phone-id');
      const wantPhone = { '#finish-waba': (p) => p === '\u2014', '#finish': (p) => p === '\u2014', '#finish-app': (p) => /2222$/.test(p) }[button] || ((p) => /^\d+$/.test(p));
      check(wantPhone(phoneShown), `${button}: phone shown ${phoneShown}`);
    }
    await shot(page, 'variants-1-business-app');
    check(problems.length === 0, problems.join('; '));
    await context.close();
    return { observed: seen };
  },

  // A test number that is not the simulator's own tester: the onboarding waits for its message until the
  // local stand-in's panel sends one as that tester (POST /_local/sim/messages); then VERIFIED.
  async tester(browser) {
    const { context, page, problems } = await openPage(browser, BASE_URL);
    const tester = '+15550002222';
    await page.fill('#test-number', tester);
    const popup = await openPopup(page);
    await popup.click('#finish');
    await waitStatus(page, ['AWAITING_TEST_MESSAGE']);
    await page.locator('#wa-local-sim:not([hidden])').waitFor({ timeout: STEP_TIMEOUT });
    check((await page.inputValue('#wa-local-sim-from')) === tester, 'the panel sends as the page\'s test number');
    await shot(page, 'tester-1-panel');
    await page.click('#wa-local-sim-send');
    await page.locator('#wa-local-sim-status', { hasText: 'Sent (wamid.' }).waitFor({ timeout: STEP_TIMEOUT });
    const status = await waitStatus(page, ['VERIFIED', 'FAILED', 'COMPLETED']);
    await shot(page, 'tester-2-verified');
    check(status === 'VERIFIED', `expected VERIFIED after the tester's message, got ${status}`);

    // A malformed sender is refused with the field named.
    await page.fill('#wa-local-sim-from', 'US.x');
    await page.click('#wa-local-sim-send');
    await page.locator('#wa-local-sim-status', { hasText: 'Not sent' }).waitFor({ timeout: STEP_TIMEOUT });
    check(/\(from\)/.test(await page.textContent('#wa-local-sim-status')), 'the refusal names the field');
    check(problems.length === 0, problems.join('; '));
    await context.close();
    return {};
  },

  // An unverified number (id ends 3333): the onboarding waits for the code; the page asks for it by SMS,
  // refuses a malformed code inline, shows Meta's refusal of a wrong one, keeps the resend button cooling
  // down, and the right code (123456 in the simulator) completes the onboarding.
  async unverified(browser) {
    const { context, page, problems } = await openPage(browser, BASE_URL);
    await observe(page);
    const popup = await openPopup(page);
    await popup.selectOption('#phone-kind', '3333');
    await popup.click('#finish');
    await waitStatus(page, ['AWAITING_PHONE_VERIFICATION']);
    await page.locator('#verify:not([hidden])').waitFor({ timeout: STEP_TIMEOUT });
    let steps = await stepStatuses(page);
    check(steps.verify_phone === 'RUNNING', `verify_phone is ${steps.verify_phone} while waiting`);
    check(/code by SMS or voice call/.test(await page.textContent('#summary')), 'the summary asks for the code');
    await shot(page, 'unverified-1-waiting');

    await page.click('#send-sms');
    await page.locator('#resend-status', { hasText: 'another code in' }).waitFor({ timeout: STEP_TIMEOUT });
    check(await page.locator('#send-voice').isDisabled(), 'the resend buttons cool down after a code was sent');

    await page.fill('#verify-code', '12345');
    await page.click('#verify-submit');
    check(/6-digit/.test(await page.textContent('#verify-error')), 'a short code is refused on the page');
    await page.fill('#verify-code', '000000');
    await page.click('#verify-submit');
    await page.locator('#verify-error:not([hidden])', { hasText: 'not right' }).waitFor({ timeout: STEP_TIMEOUT });
    check((await page.getAttribute('#verify-code', 'aria-invalid')) === 'true', 'the code field is marked invalid');
    await shot(page, 'unverified-2-wrong-code');

    await page.fill('#verify-code', '123456');
    await page.click('#verify-submit');
    const status = await waitStatus(page, ['COMPLETED', 'VERIFIED', 'FAILED']);
    steps = await stepStatuses(page);
    check(status === 'COMPLETED', `expected COMPLETED, got ${status}: ${JSON.stringify(steps)}`);
    check(steps.verify_phone === 'SUCCEEDED' && steps.register_phone === 'SUCCEEDED', `steps: ${JSON.stringify(steps)}`);
    check(await page.locator('#verify').isHidden(), 'the code form is gone once verified');
    await shot(page, 'unverified-3-completed');
    const seen = await page.evaluate(() => window.__seen);
    check(problems.length === 0, problems.join('; '));
    await context.close();
    return { observed: seen };
  },

  // A second signup for a number whose onboarding is still running: 409, and the page follows that one.
  async conflict(browser) {
    const { context, page, problems } = await openPage(browser, BASE_URL);
    // An already registered number (…1111) and a test number that never writes: it waits for the message.
    await page.fill('#test-number', '+15550001111');
    let popup = await openPopup(page);
    await popup.selectOption('#phone-kind', '1111');
    const phone = await popup.inputValue('#phone-id');
    await popup.click('#finish');
    await waitStatus(page, ['AWAITING_TEST_MESSAGE']);
    check(/\+15550001111/.test(await page.textContent('#summary')), 'the page asks for the test message');
    const first = await page.textContent('#onboarding-id');

    popup = await openPopup(page);
    await popup.fill('#phone-id', phone);
    await popup.click('#finish');
    await page.locator('#notice-title', { hasText: 'Setup already running' }).waitFor({ timeout: STEP_TIMEOUT });
    check((await page.textContent('#onboarding-id')) === first, 'the page follows the running onboarding');
    await waitStatus(page, ['AWAITING_TEST_MESSAGE']);
    await shot(page, 'conflict-1-following');
    check(problems.length === 0, problems.join('; '));
    await context.close();
    return {};
  }
};

// ---- main ----

let browser;
let failed = 0;
try {
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: FLAGS, timeout: 30000 });
} catch (e) {
  console.log('RESULT ' + JSON.stringify({ scenario: 'launch', ok: false, ms: 0, error: `Chromium did not start from ${CHROMIUM_PATH}: ${e.message}` }));
  process.exit(1);
}
for (const [name, run] of Object.entries(scenarios)) {
  if (ONLY.length && !ONLY.includes(name)) { continue; }
  if (name === 'retried' ? !FAULTS_URL : !BASE_URL) { continue; }
  const started = Date.now();
  let result;
  try {
    const extra = await run(browser);
    result = { scenario: name, ok: true, ms: Date.now() - started, ...extra };
  } catch (e) {
    failed++;
    result = { scenario: name, ok: false, ms: Date.now() - started, error: e instanceof Failure ? e.message : String(e.stack || e) };
  }
  console.log('RESULT ' + JSON.stringify(result));
}
await browser.close();
process.exit(failed ? 1 : 0);
