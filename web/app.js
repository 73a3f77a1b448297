// Example partner page: launches WhatsApp Embedded Signup, sends the result to the onboarding API
// (POST /signup) and shows the onboarding's progress live (GET /onboardings/{id}) until it ends.
// Plain JavaScript, no build step, no inline handlers (works under a strict Content-Security-Policy).
// The settings come from config.js (window.WA_ONBOARDING_CONFIG); nothing in this file is secret.
(function () {
  'use strict';

  var cfg = window.WA_ONBOARDING_CONFIG || {};
  var DEFAULT_SDK_URL = 'https://connect.facebook.net/en_US/sdk.js';

  var STEPS = ['exchange_token', 'verify_grant', 'subscribe_webhooks', 'sync_business_app', 'share_credit_line',
    'verify_phone', 'register_phone', 'send_test_message'];
  var STEP_LABELS = {
    exchange_token: 'Exchange the signup code',
    verify_grant: 'Verify the access you granted',
    subscribe_webhooks: 'Subscribe to your account\u2019s events',
    sync_business_app: 'Sync your WhatsApp Business app contacts and chats',
    share_credit_line: 'Share our credit line for billing',
    verify_phone: 'Verify the phone number',
    register_phone: 'Register the phone number',
    send_test_message: 'Test the number with a message'
  };
  var STEP_STATUS_LABELS = { PENDING: 'Waiting', RUNNING: 'In progress', SUCCEEDED: 'Done', SKIPPED: 'Skipped', FAILED: 'Failed' };
  var STATUS_LABELS = {
    RUNNING: 'In progress', AWAITING_PHONE_VERIFICATION: 'Waiting for your verification code',
    AWAITING_TEST_MESSAGE: 'Waiting for your test message', COMPLETED: 'Completed',
    VERIFIED: 'Verified', FAILED: 'Failed', OFFBOARDED: 'Disconnected'
  };
  var TERMINAL = { COMPLETED: true, VERIFIED: true, FAILED: true, OFFBOARDED: true };
  // Embedded Signup v4's finish types (the session event's `event`).
  var FINISH_EVENTS = {
    FINISH: true, FINISH_ONLY_WABA: true, FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING: true,
    FINISH_OBO_MIGRATION: true, FINISH_GRANT_ONLY_API_ACCESS: true
  };
  var VERIFICATION_CODE = /^[0-9]{6}$/;
  var DIGITS = /^[0-9]{1,20}$/;
  var E164 = /^\+[1-9][0-9]{6,14}$/;

  var POLL_MS = 1000;            // status polling while the onboarding runs
  var SLOW_POLL_MS = 5000;       // after SLOW_AFTER_MS (waiting for a test message can take long)
  var SLOW_AFTER_MS = 120000;
  var MAX_BACKOFF_MS = 15000;    // polling backoff ceiling on errors
  var PAIR_WAIT_MS = 20000;      // how long the code waits for the session event, and vice versa (the code lives 30 s)
  var CLOSED_GRACE_MS = 1500;    // after FB.login reports no code, how long a CANCEL or error event may still arrive

  // Advice for the step errors of an onboarding record (error.code), what the customer or the partner does next.
  var STEP_ADVICE = {
    graph_transient: 'Meta had a temporary problem. Click Retry; it resumes from this step.',
    graph_throttled: 'Meta is limiting how fast we can call it. Wait a few minutes, then click Retry.',
    graph_wait_required: 'Meta asked us to wait before trying this again. Wait a few minutes, then click Retry.',
    graph_permanent: 'Meta refused this step. Check the message above (permissions, account or number state), fix the cause, then click Retry. If it persists, contact support with the onboarding id and the fbtrace_id.',
    reauth_required: 'Your authorization is no longer valid. Click Connect WhatsApp to sign up again.',
    register_blocked: 'The number reached Meta\u2019s limit of 10 registration attempts in 72 hours and is blocked until the time shown. Click Retry after that.',
    pin_mismatch: 'The number is protected by a different two-step verification PIN. Turn off two-step verification for the number in WhatsApp Manager (or give us the PIN), then click Retry.',
    credit_line_conflict: 'Another credit line is already attached to this WhatsApp account and cannot be changed. Contact support.',
    subscription_check_failed: 'We could not confirm the webhook subscription. Click Retry.',
    outside_customer_service_window: 'Send a WhatsApp message from your test number to your business number first, then click Retry.',
    test_message_timeout: 'No message from your test number arrived in time. Send a WhatsApp message from your test number to your business number, then click Retry.',
    test_message_failed: 'Our reply to your test number was not delivered. Check that the test number uses WhatsApp, then click Retry.',
    step_timeout: 'The step did not finish in time. Click Retry; it resumes safely.',
    step_crashed: 'The step stopped unexpectedly. Click Retry; it resumes safely.',
    workflow_start_failed: 'The setup could not start. Click Retry.',
    concurrent_update: 'The setup was updated from two places at once. Click Retry.',
    dependency_unavailable: 'One of our services was unavailable. Click Retry in a minute.',
    missing_secret: 'Our server is not fully configured. Contact support with the onboarding id.',
    phone_verification_timeout: 'The phone number was not verified in time. Click Retry, then ask for a new code.',
    phone_not_verified: 'Meta needs the phone number verified before it can be registered. Click Retry, then enter the code Meta sends.',
    phone_number_ambiguous: 'Your WhatsApp account has several phone numbers and the signup did not say which one to set up. Click Connect WhatsApp and pick the number in the signup window.',
    business_app_sync_window_expired: 'The WhatsApp Business app can only be synced within 24 hours of signing up. Disconnect the app from our platform in WhatsApp Business, then sign up again.'
  };
  // Advice for the API's request errors (POST /signup, POST /onboardings/{id}/retry).
  var API_ADVICE = {
    code_exchange_failed: 'The signup code expired or was already used (it is valid for 30 seconds). Click Connect WhatsApp to sign up again.',
    grant_mismatch: 'The access granted in the signup window does not cover this WhatsApp account or number. Sign up again and keep the account and number selected when asked what to share.',
    invalid_field: 'Correct the value and click Connect WhatsApp again.',
    missing_field: 'The signup window did not return everything we need. Click Connect WhatsApp to try again.',
    upstream_unavailable: 'Meta did not answer in time. Wait a moment, then click Connect WhatsApp again.',
    not_retryable: 'This onboarding cannot be retried now.',
    reauth_required: 'Your authorization is no longer valid. Click Connect WhatsApp to sign up again.',
    register_blocked: 'The number is blocked from registering for now (Meta\u2019s limit of 10 attempts in 72 hours). Try again later.',
    onboarding_in_progress: 'Another setup for this number is running; follow it instead.',
    unavailable: 'Our service is busy. Try again in a minute.',
    unauthorized: 'Your session has ended. Sign in again, then click Connect WhatsApp.',
    verification_code_invalid: 'That code is not right or has expired. Check the code, or ask for a new one.',
    verification_rate_limited: 'A code was sent moments ago. Wait until you can ask for another.',
    not_awaiting_phone_verification: 'The number no longer needs a code: the setup has moved on.',
    phone_number_ambiguous: 'Your WhatsApp account has several phone numbers. Click Connect WhatsApp and pick one.',
    internal_error: 'Something went wrong on our side. Try again in a minute; if it persists, contact support.'
  };

  function $(id) { return document.getElementById(id); }
  var els = {
    form: $('signup-form'), connect: $('connect'), sdkStatus: $('sdk-status'), test: $('test-number'),
    testError: $('test-number-error'), notice: $('notice'), noticeTitle: $('notice-title'),
    noticeText: $('notice-text'), noticeAdvice: $('notice-advice'), progress: $('progress'),
    progressTitle: $('progress-title'), overall: $('overall'), onboardingId: $('onboarding-id'),
    wabaId: $('waba-id'), phoneId: $('phone-id'), steps: $('steps'), connection: $('connection'),
    summary: $('summary'), retry: $('retry'), announcer: $('announcer'),
    verify: $('verify'), sendSMS: $('send-sms'), sendVoice: $('send-voice'), resendStatus: $('resend-status'),
    verifyForm: $('verify-form'), verifyCode: $('verify-code'), verifySubmit: $('verify-submit'), verifyError: $('verify-error')
  };

  var sdkReady = false;
  var attempt = null;      // the signup in progress: {code, session, testRecipient, submitted, done, timer}
  var poll = null;         // the onboarding followed: {id, gen, timer, started, failures, last}
  var pollGen = 0;
  var verification = { id: '', cooldownUntil: 0, timer: 0, busy: false }; // the phone verification form

  // ---- helpers ----

  function apiUrl(path) {
    var base = (cfg.apiBaseUrl || '').replace(/\/+$/, '');
    return base + path;
  }

  // withAuth adds Authorization: Bearer <token> to headers when the partner's config has a token provider
  // (config.getAccessToken, an async function returning the signed-in user's access token, or null when
  // there is none): the API checks it when partner authentication is on. Without a provider, or without a
  // token, no Authorization header is sent (the dev default).
  async function withAuth(headers) {
    var out = Object.assign({}, headers || {});
    if (typeof cfg.getAccessToken !== 'function') { return out; }
    var token = await cfg.getAccessToken();
    if (typeof token === 'string' && token) { out.Authorization = 'Bearer ' + token; }
    return out;
  }

  function placeholder(v) { return !v || /^YOUR_/.test(String(v)); }

  function setText(el, text) { el.textContent = text == null ? '' : String(text); }

  function show(el, visible) { el.hidden = !visible; }

  function announce(text) {
    // Re-set so that repeated identical announcements are read again.
    els.announcer.textContent = '';
    window.setTimeout(function () { els.announcer.textContent = text; }, 50);
  }

  function showNotice(kind, title, text, advice) {
    els.notice.setAttribute('data-kind', kind);
    setText(els.noticeTitle, title);
    setText(els.noticeText, text);
    setText(els.noticeAdvice, advice || '');
    show(els.noticeAdvice, !!advice);
    show(els.notice, true);
  }

  function hideNotice() { show(els.notice, false); }

  function setFieldError(text) {
    setText(els.testError, text);
    show(els.testError, !!text);
    if (text) { els.test.setAttribute('aria-invalid', 'true'); } else { els.test.removeAttribute('aria-invalid'); }
  }

  function setBusy(busy) {
    els.connect.disabled = busy || !sdkReady;
    els.connect.setAttribute('aria-busy', busy ? 'true' : 'false');
  }

  function isFacebookOrigin(origin) {
    try {
      var host = new URL(origin).hostname;
      return host === 'facebook.com' || host.slice(-'.facebook.com'.length) === '.facebook.com';
    } catch (e) {
      return false;
    }
  }

  function humanize(constant) {
    return String(constant || '').toLowerCase().replace(/_/g, ' ');
  }

  function formatTime(iso) {
    var d = new Date(iso);
    return isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
  }

  function duration(step) {
    if (!step.started_at || !step.finished_at) { return ''; }
    var ms = new Date(step.finished_at) - new Date(step.started_at);
    if (!(ms >= 0)) { return ''; }
    return ms < 1000 ? ms + ' ms' : (ms / 1000).toFixed(1) + ' s';
  }

  async function readError(res) {
    var body = null;
    try { body = await res.json(); } catch (e) { /* not JSON */ }
    var err = (body && body.error) || {};
    return {
      status: res.status, code: err.code || 'http_' + res.status,
      message: err.message || 'The server answered HTTP ' + res.status + '.', field: err.field || '', body: body || {}
    };
  }

  // ---- the Facebook JavaScript SDK ----

  function loadSDK() {
    if (placeholder(cfg.appId) || placeholder(cfg.configId)) {
      setText(els.sdkStatus, 'This page is not configured yet: set appId and configId in config.js.');
      return;
    }
    window.fbAsyncInit = function () {
      window.FB.init({ appId: cfg.appId, autoLogAppEvents: true, xfbml: false, version: cfg.graphApiVersion || 'v21.0' });
      sdkReady = true;
      setText(els.sdkStatus, '');
      show(els.sdkStatus, false);
      setBusy(false);
    };
    var s = document.createElement('script');
    s.src = cfg.sdkUrl || DEFAULT_SDK_URL;
    s.async = true;
    s.defer = true;
    s.crossOrigin = 'anonymous';
    s.addEventListener('error', function () {
      setText(els.sdkStatus, 'Facebook could not be loaded. Check your connection or content blockers, then reload the page.');
    });
    document.head.appendChild(s);
  }

  // ---- Embedded Signup ----

  function onConnect(event) {
    event.preventDefault();
    if (!sdkReady || !window.FB) { return; }
    var testRecipient = els.test.value.replace(/[\s()-]/g, '');
    if (testRecipient && !E164.test(testRecipient)) {
      setFieldError('Enter the number in international format, starting with + and the country code, e.g. +16505551234.');
      els.test.focus();
      return;
    }
    setFieldError('');
    hideNotice();
    endAttempt();
    var att = { code: null, session: null, testRecipient: testRecipient, submitted: false, done: false, timer: 0 };
    attempt = att;
    setBusy(true);
    // FB.login must run in the click handler (popup blockers), with a plain (non-async) callback.
    window.FB.login(function (response) { onLoginResponse(att, response); }, {
      config_id: cfg.configId,
      response_type: 'code',
      override_default_response_type: true,
      // Embedded Signup v4: the version and the products are in the login configuration; extras stay empty.
      extras: { setup: {} }
    });
  }

  function endAttempt() {
    if (attempt) {
      attempt.done = true;
      attempt.code = null;
      window.clearTimeout(attempt.timer);
    }
    attempt = null;
    setBusy(false);
  }

  function waitForPair(att, what) {
    window.clearTimeout(att.timer);
    att.timer = window.setTimeout(function () {
      if (att !== attempt || att.submitted) { return; }
      endAttempt();
      if (what === 'session') {
        showNotice('error', 'Signup finished without your account details',
          'Facebook returned a sign-in code but not the WhatsApp account and number you chose.',
          'Click Connect WhatsApp to try again. (Partners: check that the login configuration (config_id) is an Embedded Signup v4 configuration.)');
      } else {
        showNotice('error', 'Signup finished without a sign-in code',
          'Facebook reported your WhatsApp account but did not return a sign-in code.', 'Click Connect WhatsApp to try again.');
      }
    }, PAIR_WAIT_MS);
  }

  // FB.login's callback: the code (response_type 'code'), or no authResponse when the window was closed.
  function onLoginResponse(att, response) {
    if (att !== attempt || att.done) { return; }
    var code = response && response.authResponse && response.authResponse.code;
    if (code) {
      att.code = String(code);
      if (!maybeSubmit(att)) { waitForPair(att, 'session'); }
      return;
    }
    // No code: the customer closed the window, or a CANCEL or error event explains why (it may come later).
    window.clearTimeout(att.timer);
    att.timer = window.setTimeout(function () {
      if (att !== attempt || att.done) { return; }
      endAttempt();
      showNotice('info', 'Signup not finished', 'The signup window was closed before the setup was finished.',
        'Click Connect WhatsApp whenever you are ready to start again.');
    }, CLOSED_GRACE_MS);
  }

  // Embedded Signup's session events, posted to this window by Facebook's popup.
  function onMessage(event) {
    if (!isFacebookOrigin(event.origin)) { return; }
    var msg;
    try {
      msg = typeof event.data === 'string' ? JSON.parse(event.data) : event.data;
    } catch (e) {
      return; // Facebook posts other, non-JSON messages too
    }
    if (!msg || typeof msg !== 'object' || msg.type !== 'WA_EMBEDDED_SIGNUP') { return; }
    var data = msg.data && typeof msg.data === 'object' ? msg.data : {};
    var att = attempt;
    if (!att || att.done) { return; }

    if (data.error_message || msg.event === 'ERROR') {
      endAttempt();
      var details = [];
      var errorCode = data.error_code || data.error_id;
      if (errorCode) { details.push('error code ' + errorCode); }
      if (data.session_id) { details.push('session id ' + data.session_id); }
      showNotice('error', 'Embedded Signup reported an error',
        String(data.error_message || 'The signup could not be completed.') + (details.length ? ' (' + details.join(', ') + ')' : ''),
        'Click Connect WhatsApp to try again. If it keeps happening, contact support and give them the session id.');
      return;
    }
    if (msg.event === 'CANCEL') {
      endAttempt();
      var step = data.current_step ? String(data.current_step) : '';
      showNotice('info', 'Signup cancelled',
        step ? 'You left the signup at the step \u201c' + humanize(step) + '\u201d (' + step + ').' : 'You left the signup before it finished.',
        'Nothing was set up. Click Connect WhatsApp whenever you are ready to start again.');
      return;
    }
    if (FINISH_EVENTS[msg.event]) {
      // v4 may leave ids out (a WhatsApp Business app signup often has no phone_number_id; a customer may
      // finish with no number at all): the server finds what is missing from the grant.
      att.session = {
        event: msg.event,
        waba_id: data.waba_id != null ? String(data.waba_id) : '',
        waba_ids: Array.isArray(data.waba_ids) ? data.waba_ids.map(String).filter(function (id) { return DIGITS.test(id); }) : [],
        phone_number_id: data.phone_number_id != null ? String(data.phone_number_id) : '',
        business_id: data.business_id != null ? String(data.business_id) : ''
      };
      if (!maybeSubmit(att)) { waitForPair(att, 'code'); }
    }
  }

  // Posts the signup as soon as both the code and the session event have arrived, in either order.
  function maybeSubmit(att) {
    if (!att.code || !att.session || att.submitted) { return false; }
    att.submitted = true;
    window.clearTimeout(att.timer);
    var s = att.session;
    var body = { code: att.code, event: s.event };
    if (s.waba_id) { body.waba_id = s.waba_id; }
    if (s.waba_ids.length > 1) { body.waba_ids = s.waba_ids; }
    if (s.phone_number_id && s.event !== 'FINISH_ONLY_WABA') { body.phone_number_id = s.phone_number_id; }
    if (s.business_id) { body.business_id = s.business_id; }
    if (att.testRecipient) { body.test_recipient = att.testRecipient; }
    att.code = null; // single use: do not keep it around
    submitSignup(att, body);
    return true;
  }

  async function submitSignup(att, body) {
    showNotice('info', 'Finishing your signup\u2026', 'Confirming your account with Meta.', '');
    var payload = JSON.stringify(body);
    delete body.code; // body keeps the ids for the progress view
    var res;
    try {
      res = await fetch(apiUrl('/signup'), {
        method: 'POST', headers: await withAuth({ 'Content-Type': 'application/json' }), body: payload,
        credentials: 'omit', cache: 'no-store'
      });
    } catch (e) {
      endAttempt();
      showNotice('error', 'Could not reach the onboarding service',
        'The signup could not be sent (' + (e && e.message ? e.message : 'network error') + ').',
        'Check your connection and click Connect WhatsApp again. (Partners: check apiBaseUrl in config.js and that this page\u2019s origin is in the stage\u2019s allowedOrigins.)');
      return;
    }
    if (att === attempt) { endAttempt(); }
    if (res.status === 202) {
      var accepted = await res.json();
      hideNotice();
      var all = Array.isArray(accepted.onboardings) ? accepted.onboardings : [];
      if (all.length > 1) {
        showNotice('info', all.length + ' WhatsApp accounts are being set up',
          'Showing the first; the others: ' + all.slice(1).map(function (o) { return o.waba_id + ' (' + o.id + ')'; }).join(', ') + '.', '');
      }
      var first = all[0] || {};
      follow(accepted.id, { waba_id: first.waba_id || body.waba_id, phone_number_id: first.phone_number_id || body.phone_number_id });
      return;
    }
    var err = await readError(res);
    if (res.status === 409 && err.body.id) {
      showNotice('info', 'Setup already running',
        'A setup for this WhatsApp account and number is already running (' + err.body.id + '); showing its progress.', '');
      follow(err.body.id, body);
      return;
    }
    if (err.field === 'test_recipient') {
      setFieldError(err.message);
      els.test.focus();
    }
    showNotice('error', 'The signup was not accepted',
      err.message + (err.field ? ' (field: ' + err.field + ')' : ''),
      API_ADVICE[err.code] || 'Click Connect WhatsApp to try again; if it keeps failing, contact support.');
  }

  // ---- onboarding progress ----

  function follow(id, ids) {
    stopPolling();
    poll = { id: id, gen: ++pollGen, timer: 0, started: Date.now(), failures: 0, last: {} };
    setText(els.onboardingId, id);
    setText(els.wabaId, ids && ids.waba_id ? ids.waba_id : '\u2014');
    setText(els.phoneId, ids && ids.phone_number_id ? ids.phone_number_id : '\u2014');
    setText(els.summary, '');
    show(els.retry, false);
    buildSteps();
    els.overall.setAttribute('data-status', 'RUNNING');
    setText(els.overall, STATUS_LABELS.RUNNING);
    els.progress.setAttribute('aria-busy', 'true');
    show(els.progress, true);
    announce('Setup started.');
    pollOnce(poll);
  }

  function stopPolling() {
    if (poll) { window.clearTimeout(poll.timer); }
    poll = null;
  }

  function schedule(p, delay) {
    if (p !== poll) { return; }
    window.clearTimeout(p.timer);
    p.timer = window.setTimeout(function () { pollOnce(p); }, delay);
  }

  function backoff(failures) {
    var ceiling = Math.min(MAX_BACKOFF_MS, POLL_MS * Math.pow(2, failures));
    return Math.round(ceiling / 2 + Math.random() * ceiling / 2);
  }

  async function pollOnce(p) {
    if (p !== poll) { return; }
    var res;
    try {
      res = await fetch(apiUrl('/onboardings/' + encodeURIComponent(p.id)), { headers: await withAuth(), credentials: 'omit', cache: 'no-store' });
    } catch (e) {
      return pollFailed(p, 'Connection to the onboarding service lost');
    }
    if (p !== poll) { return; }
    if (res.status === 401) {
      stopPolling();
      els.progress.setAttribute('aria-busy', 'false');
      showNotice('error', 'Signed out', 'The setup status needs you to be signed in.', API_ADVICE.unauthorized);
      return;
    }
    if (res.status === 404) {
      stopPolling();
      els.progress.setAttribute('aria-busy', 'false');
      showNotice('error', 'Setup not found', 'There is no setup with the id ' + p.id + '.', 'Click Connect WhatsApp to start again.');
      return;
    }
    if (!res.ok) { return pollFailed(p, 'The setup status is not available right now (HTTP ' + res.status + ')'); }
    var rec;
    try { rec = await res.json(); } catch (e) { return pollFailed(p, 'The setup status could not be read'); }
    if (p !== poll) { return; }
    p.failures = 0;
    show(els.connection, false);
    render(p, rec);
    if (TERMINAL[rec.status]) {
      stopPolling();
      els.progress.setAttribute('aria-busy', 'false');
      return;
    }
    schedule(p, Date.now() - p.started > SLOW_AFTER_MS ? SLOW_POLL_MS : POLL_MS);
  }

  function pollFailed(p, what) {
    if (p !== poll) { return; }
    p.failures++;
    var delay = backoff(p.failures);
    setText(els.connection, what + '; trying again in ' + Math.ceil(delay / 1000) + ' s.');
    show(els.connection, true);
    schedule(p, delay);
  }

  function buildSteps() {
    els.steps.textContent = '';
    STEPS.forEach(function (name) {
      var li = document.createElement('li');
      li.className = 'step';
      li.setAttribute('data-step', name);
      li.setAttribute('data-status', 'PENDING');
      var head = document.createElement('div');
      head.className = 'step-head';
      var label = document.createElement('span');
      label.className = 'step-name';
      setText(label, STEP_LABELS[name]);
      var badge = document.createElement('span');
      badge.className = 'badge';
      badge.setAttribute('data-status', 'PENDING');
      setText(badge, STEP_STATUS_LABELS.PENDING);
      head.appendChild(label);
      head.appendChild(badge);
      var meta = document.createElement('p');
      meta.className = 'step-meta';
      var note = document.createElement('p');
      note.className = 'step-note';
      note.hidden = true;
      var error = document.createElement('div');
      error.className = 'step-error';
      error.hidden = true;
      ['error-message', 'error-detail', 'advice'].forEach(function (cls) {
        var p = document.createElement('p');
        p.className = cls;
        error.appendChild(p);
      });
      li.appendChild(head);
      li.appendChild(meta);
      li.appendChild(note);
      li.appendChild(error);
      els.steps.appendChild(li);
    });
  }

  function render(p, rec) {
    var changes = [];
    var steps = Array.isArray(rec.steps) ? rec.steps : [];
    var failedStep = null;
    steps.forEach(function (step) {
      var li = els.steps.querySelector('li[data-step="' + step.name + '"]');
      if (!li) { return; }
      var status = step.status || 'PENDING';
      if (status === 'FAILED') { failedStep = step; }
      li.setAttribute('data-status', status);
      var badge = li.querySelector('.badge');
      badge.setAttribute('data-status', status);
      setText(badge, STEP_STATUS_LABELS[status] || status);
      var meta = [];
      if (step.attempts > 0) { meta.push(step.attempts === 1 ? '1 attempt' : step.attempts + ' attempts'); }
      var took = duration(step);
      if (took) { meta.push(took); }
      setText(li.querySelector('.step-meta'), meta.join(' \u00b7 '));
      var note = li.querySelector('.step-note');
      setText(note, step.note || '');
      note.hidden = !step.note;
      var box = li.querySelector('.step-error');
      if (step.error && status === 'FAILED') {
        var e = step.error;
        setText(box.querySelector('.error-message'), e.message || e.code);
        var detail = [e.code];
        if (e.graph_code) { detail.push('Meta error ' + e.graph_code + (e.graph_subcode ? '/' + e.graph_subcode : '')); }
        if (e.fbtrace_id) { detail.push('fbtrace_id ' + e.fbtrace_id); }
        setText(box.querySelector('.error-detail'), detail.join(' \u00b7 '));
        var advice = STEP_ADVICE[e.code] || 'Click Retry; if it fails again, contact support with the onboarding id and the fbtrace_id.';
        if (e.code === 'register_blocked' && rec.register_retry_after) {
          advice += ' Registration can be tried again after ' + formatTime(rec.register_retry_after) + '.';
        }
        setText(box.querySelector('.advice'), 'What to do: ' + advice);
        box.hidden = false;
      } else {
        box.hidden = true;
      }
      if (p.last[step.name] !== status) {
        if (p.last[step.name] !== undefined || status !== 'PENDING') {
          changes.push(STEP_LABELS[step.name] + ': ' + (STEP_STATUS_LABELS[status] || status));
        }
        p.last[step.name] = status;
      }
    });

    els.overall.setAttribute('data-status', rec.status);
    setText(els.overall, STATUS_LABELS[rec.status] || rec.status);
    if (p.last.$status !== rec.status) {
      changes.push('Setup ' + (STATUS_LABELS[rec.status] || rec.status).toLowerCase());
      p.last.$status = rec.status;
    }
    setText(els.summary, summary(rec, failedStep));
    renderVerification(p, rec);
    if (rec.phone_number_id) { setText(els.phoneId, rec.phone_number_id); }
    var retryable = rec.status === 'FAILED' && !rec.reauth_required && !ambiguous(rec);
    show(els.retry, retryable);
    els.retry.disabled = false;
    if (changes.length) { announce(changes.join('. ') + '.'); }
  }

  function summary(rec, failedStep) {
    switch (rec.status) {
      case 'RUNNING':
        return 'We are setting up your number. This page updates by itself.';
      case 'AWAITING_PHONE_VERIFICATION':
        return 'Meta needs to confirm that you own this number: ask for a code by SMS or voice call, then enter it below.';
      case 'AWAITING_TEST_MESSAGE':
        var to = rec.display_phone_number || 'your business number';
        if (rec.test_phrase) {
          return 'Send a WhatsApp message containing ' + rec.test_phrase + ' to ' + to +
            (rec.test_recipient ? ' (or any message from ' + rec.test_recipient + ')' : '') +
            ' now: we reply to it, and the number is verified once our reply is delivered.';
        }
        return 'Send any WhatsApp message from ' + (rec.test_recipient || 'your test number') +
          ' to ' + to + ' now: we reply to it to prove the number works.';
      case 'COMPLETED':
        return 'Your WhatsApp number is ready to use.';
      case 'VERIFIED':
        return 'Your WhatsApp number is ready to use: the test message went through both ways.';
      case 'FAILED':
        if (rec.reauth_required) {
          return 'The setup stopped because your authorization is no longer valid. Click Connect WhatsApp to sign up again.';
        }
        if (ambiguous(rec)) {
          return 'Your WhatsApp account has several phone numbers and the signup did not say which one to set up. Click Connect WhatsApp and pick the number.';
        }
        return 'The setup stopped at \u201c' + (failedStep ? STEP_LABELS[failedStep.name] : 'a step') +
          '\u201d. See what to do above, then click Retry: it continues from that step.';
      case 'OFFBOARDED':
        return 'This WhatsApp account was disconnected from our app. Click Connect WhatsApp to set it up again.';
    }
    return '';
  }

  async function onRetry() {
    var p = poll || (els.onboardingId.textContent ? { id: els.onboardingId.textContent } : null);
    if (!p) { return; }
    var id = p.id;
    els.retry.disabled = true;
    hideNotice();
    var res;
    try {
      res = await fetch(apiUrl('/onboardings/' + encodeURIComponent(id) + '/retry'), { method: 'POST', headers: await withAuth(), credentials: 'omit', cache: 'no-store' });
    } catch (e) {
      els.retry.disabled = false;
      showNotice('error', 'Could not reach the onboarding service', 'The retry was not sent.', 'Check your connection and click Retry again.');
      return;
    }
    if (res.status === 202) {
      var rec = await res.json();
      var ids = { waba_id: rec.waba_id, phone_number_id: rec.phone_number_id };
      var last = poll ? poll.last : {};
      follow(id, ids);
      poll.last = last;
      render(poll, rec);
      show(els.retry, false);
      els.progressTitle.focus();
      return;
    }
    var err = await readError(res);
    els.retry.disabled = false;
    showNotice('error', 'The retry was not accepted', err.message, API_ADVICE[err.code] || 'Try again in a minute.');
  }

  function ambiguous(rec) {
    return (rec.steps || []).some(function (s) { return s.status === 'FAILED' && s.error && s.error.code === 'phone_number_ambiguous'; });
  }

  // ---- phone verification (an unverified number: the onboarding waits for the code) ----

  function setVerifyError(text) {
    setText(els.verifyError, text);
    show(els.verifyError, !!text);
    if (text) { els.verifyCode.setAttribute('aria-invalid', 'true'); } else { els.verifyCode.removeAttribute('aria-invalid'); }
  }

  function renderVerification(p, rec) {
    var waiting = rec.status === 'AWAITING_PHONE_VERIFICATION';
    if (waiting && verification.id !== p.id) {
      window.clearInterval(verification.timer);
      verification = { id: p.id, cooldownUntil: 0, timer: 0, busy: false };
      els.verifyCode.value = '';
      setVerifyError('');
      setText(els.resendStatus, '');
    }
    show(els.verify, waiting);
    updateSendButtons();
  }

  function updateSendButtons() {
    var left = Math.ceil((verification.cooldownUntil - Date.now()) / 1000);
    var cooling = left > 0;
    els.sendSMS.disabled = els.sendVoice.disabled = cooling || verification.busy;
    if (cooling) {
      setText(els.resendStatus, 'You can ask for another code in ' + left + ' s.');
    } else if (verification.cooldownUntil) {
      window.clearInterval(verification.timer);
      verification.cooldownUntil = 0;
      setText(els.resendStatus, 'Did not get it? You can ask for another code now.');
    }
  }

  function coolDown(seconds) {
    verification.cooldownUntil = Date.now() + Math.max(1, seconds || 60) * 1000;
    window.clearInterval(verification.timer);
    verification.timer = window.setInterval(updateSendButtons, 1000);
    updateSendButtons();
  }

  function language() {
    var l = (navigator.language || 'en-US').replace('-', '_');
    return /^[a-z]{2,3}(_[A-Z]{2})?$/.test(l) ? l : 'en_US';
  }

  async function requestCode(method) {
    var id = verification.id;
    if (!id || verification.busy) { return; }
    verification.busy = true;
    updateSendButtons();
    setVerifyError('');
    var res;
    try {
      res = await fetch(apiUrl('/onboardings/' + encodeURIComponent(id) + '/phone-verification/code'), {
        method: 'POST', headers: await withAuth({ 'Content-Type': 'application/json' }),
        body: JSON.stringify({ method: method, language: language() }), credentials: 'omit', cache: 'no-store'
      });
    } catch (e) {
      verification.busy = false;
      updateSendButtons();
      setVerifyError('The request could not be sent. Check your connection and try again.');
      return;
    }
    verification.busy = false;
    if (res.status === 202) {
      var out = await res.json();
      coolDown(out.retry_after);
      announce(method === 'SMS' ? 'Code sent by SMS.' : 'Calling your number with the code.');
      setText(els.resendStatus, (method === 'SMS' ? 'Code sent by SMS. ' : 'You will get a call with the code. ') + els.resendStatus.textContent);
      els.verifyCode.focus();
      return;
    }
    var err = await readError(res);
    if (res.status === 429) { coolDown(err.body.retry_after); }
    updateSendButtons();
    setVerifyError(API_ADVICE[err.code] || err.message);
  }

  async function submitCode(event) {
    event.preventDefault();
    var id = verification.id;
    var code = els.verifyCode.value.replace(/\s/g, '');
    if (!VERIFICATION_CODE.test(code)) {
      setVerifyError('Enter the 6-digit code Meta sent you.');
      els.verifyCode.focus();
      return;
    }
    if (!id || verification.busy) { return; }
    verification.busy = true;
    els.verifySubmit.disabled = true;
    setVerifyError('');
    var res;
    try {
      res = await fetch(apiUrl('/onboardings/' + encodeURIComponent(id) + '/phone-verification'), {
        method: 'POST', headers: await withAuth({ 'Content-Type': 'application/json' }),
        body: JSON.stringify({ code: code }), credentials: 'omit', cache: 'no-store'
      });
    } catch (e) {
      setVerifyError('The code could not be sent. Check your connection and try again.');
      return;
    } finally {
      verification.busy = false;
      els.verifySubmit.disabled = false;
      updateSendButtons();
    }
    if (res.status === 202) {
      els.verifyCode.value = '';
      show(els.verify, false);
      announce('Phone number verified.');
      if (poll && poll.id === id) { schedule(poll, 0); }
      return;
    }
    var err = await readError(res);
    if (res.status === 429) { coolDown(err.body.retry_after); }
    setVerifyError(API_ADVICE[err.code] || err.message);
    els.verifyCode.focus();
  }

  // ---- start ----

  els.progressTitle.setAttribute('tabindex', '-1');
  els.form.addEventListener('submit', onConnect);
  els.retry.addEventListener('click', onRetry);
  els.sendSMS.addEventListener('click', function () { requestCode('SMS'); });
  els.sendVoice.addEventListener('click', function () { requestCode('VOICE'); });
  els.verifyForm.addEventListener('submit', submitCode);
  els.verifyCode.addEventListener('input', function () { if (!els.verifyError.hidden) { setVerifyError(''); } });
  els.test.addEventListener('input', function () { if (!els.testError.hidden) { setFieldError(''); } });
  window.addEventListener('message', onMessage);
  loadSDK();
})();
