// Local stand-in for Meta's JavaScript SDK, served by the local runner (`make run`) at /_local/sdk.js in place
// of https://connect.facebook.net/en_US/sdk.js. It is NOT part of the example page: partners load Meta's SDK.
//
// It provides the parts of window.FB that Embedded Signup uses (init, login, getLoginStatus,
// getAuthResponse, logout) with the shapes of Meta's SDK. FB.login opens a simulated signup popup
// (/_local/signup-popup.html) where a person picks the outcome; the popup reports it back here, and this
// stand-in then delivers it to the page as Meta would:
//   - the WA_EMBEDDED_SIGNUP session event as a `message` event on window, JSON-encoded, from the origin
//     https://www.facebook.com (a MessageEvent dispatched on this window: a real cross-origin postMessage
//     from facebook.com is impossible locally), preceded by a non-JSON message as Meta's SDK also posts;
//   - the code (issued by the Graph simulator, valid 30 seconds, once) to FB.login's callback as
//     response.authResponse.code, or no authResponse when the signup was cancelled, failed or the popup
//     was closed.
(function () {
  'use strict';
  if (window.FB && window.FB.__localStandIn) { return; }

  var FACEBOOK_ORIGIN = 'https://www.facebook.com';
  var POPUP_PATH = '/_local/signup-popup.html';
  var RESULT_KIND = 'wa-local-signup-result';
  var GAP_MS = 250; // between the session event and the code, in the order the popup chose

  var state = { appId: '', version: '', initialized: false, authResponse: null, login: null };

  function later(fn, ms) { window.setTimeout(fn, ms || 0); }

  function init(opts) {
    if (!opts || !opts.appId) { throw new Error('FB.init: appId is required'); }
    state.appId = String(opts.appId);
    state.version = opts.version ? String(opts.version) : '';
    state.initialized = true;
  }

  function loginStatus() {
    return { status: state.authResponse ? 'connected' : 'unknown', authResponse: state.authResponse };
  }

  function getLoginStatus(cb) {
    if (typeof cb === 'function') { later(function () { cb(loginStatus()); }); }
  }

  function getAuthResponse() { return state.authResponse; }

  function logout(cb) {
    state.authResponse = null;
    if (typeof cb === 'function') { later(function () { cb(loginStatus()); }); }
  }

  // FB.login(callback, options): Embedded Signup with response_type 'code'.
  function login(cb, opts) {
    opts = opts || {};
    if (typeof cb !== 'function') { throw new Error('FB.login: a callback is required'); }
    if (!state.initialized) {
      console.error('FB.login() called before FB.init().');
      return;
    }
    if (state.login && !state.login.popup.closed) {
      state.login.popup.focus();
      return;
    }
    var extras = opts.extras || {};
    var problems = [];
    if (!opts.config_id) { problems.push('config_id is missing'); }
    if (opts.response_type !== 'code') { problems.push('response_type must be \'code\' (Embedded Signup returns a code for your server)'); }
    if (opts.override_default_response_type !== true) { problems.push('override_default_response_type must be true'); }
    // Embedded Signup v4 sends the WA_EMBEDDED_SIGNUP session event for every flow (v2 needed
    // extras.sessionInfoVersion '3'); its extras are empty ({setup: {}}), the configuration holds the rest.
    problems.forEach(function (p) { console.warn('FB.login (local stand-in): ' + p); });

    var params = new URLSearchParams({
      app_id: state.appId, config_id: String(opts.config_id || ''), version: state.version,
      session_info_version: String(extras.sessionInfoVersion || ''), feature_type: String(extras.featureType || ''),
      problems: problems.join('\n')
    });
    var width = 560, height = 760;
    var left = Math.max(0, Math.round(window.screenX + (window.outerWidth - width) / 2));
    var top = Math.max(0, Math.round(window.screenY + (window.outerHeight - height) / 2));
    var popup = window.open(POPUP_PATH + '?' + params.toString(), 'wa_embedded_signup_' + Date.now(),
      'popup=yes,width=' + width + ',height=' + height + ',left=' + left + ',top=' + top);
    if (!popup) {
      console.error('FB.login (local stand-in): the popup was blocked; call FB.login from a click handler.');
      later(function () { cb(loginStatus()); });
      return;
    }
    var l = {
      popup: popup, cb: cb, sessionInfo: true,
      codeFlow: opts.response_type === 'code', reported: false, finished: false, watch: 0
    };
    state.login = l;
    // Closing the popup without an outcome ends the login without a code, as Meta's SDK does.
    l.watch = window.setInterval(function () {
      if (popup.closed && !l.reported) { finish(l, null); }
    }, 300);
  }

  function onPopupMessage(e) {
    var l = state.login;
    if (!l || e.origin !== window.location.origin || e.source !== l.popup) { return; }
    var m = e.data;
    if (!m || typeof m !== 'object' || m.kind !== RESULT_KIND || l.reported) { return; }
    l.reported = true;
    if (state.login === l) { state.login = null; } // the outcome is known: a new FB.login may start
    var sendEvent = function () {
      if (!m.session || !l.sessionInfo) { return; }
      // Meta's SDK posts other messages too (not JSON): pages must ignore them.
      window.dispatchEvent(new MessageEvent('message', { data: 'cb=f' + Math.random().toString(16).slice(2, 10) + '&type=resize', origin: FACEBOOK_ORIGIN }));
      window.dispatchEvent(new MessageEvent('message', { data: JSON.stringify(m.session), origin: FACEBOOK_ORIGIN }));
    };
    var sendCode = function () {
      finish(l, typeof m.code === 'string' && m.code ? m.code : null);
      var data = m.session && m.session.data;
      if (m.code && data && data.phone_number_id && /^FINISH/.test(m.session.event || '')) { simPanel(String(data.phone_number_id)); }
    };
    if (m.order === 'code-first') {
      sendCode();
      later(sendEvent, GAP_MS);
    } else {
      sendEvent();
      later(sendCode, GAP_MS);
    }
  }

  function finish(l, code) {
    if (l.finished) { return; }
    l.finished = true;
    window.clearInterval(l.watch);
    if (state.login === l) { state.login = null; }
    var auth = null;
    if (code) {
      var base = { userID: '', expiresIn: 0, signedRequest: '', graphDomain: 'facebook', data_access_expiration_time: 0 };
      state.authResponse = base; // the code is handed to the callback only, never kept by the SDK
      auth = Object.assign({}, base);
      if (l.codeFlow) { auth.code = code; } else { auth.accessToken = 'local-stand-in-access-token'; }
    }
    var cb = l.cb;
    later(function () { cb({ authResponse: auth, status: auth ? 'connected' : 'unknown' }); });
  }

  // ---- the simulated tester ----
  // After a signup with a phone number, a small panel (local only, outside the page's own markup) lets a
  // person play the customer's tester: POST /_local/sim/messages makes a simulated WhatsApp user message the
  // new number, and the Graph simulator sends the signed inbound webhook Meta would send.
  var SIM_PATH = '/_local/sim/messages';
  var E164 = /^\+[1-9][0-9]{6,14}$/;
  var BSUID = /^[A-Z]{2}\.[0-9]{1,32}$/;
  var panel = null;

  function el(tag, props, children) {
    var e = document.createElement(tag);
    Object.keys(props || {}).forEach(function (k) {
      if (k === 'text') { e.textContent = props[k]; } else { e.setAttribute(k, props[k]); }
    });
    (children || []).forEach(function (c) { e.appendChild(c); });
    return e;
  }

  function simPanel(phoneNumberId) {
    if (!panel) {
      document.head.appendChild(el('link', { rel: 'stylesheet', href: '/_local/sim-panel.css' }));
      var from = el('input', { id: 'wa-local-sim-from', name: 'from', autocomplete: 'off', placeholder: '+15550001111 or US.13491208655302741918' });
      var username = el('input', { id: 'wa-local-sim-username', name: 'username', autocomplete: 'off', placeholder: 'optional, with a user id' });
      var text = el('input', { id: 'wa-local-sim-text', name: 'text', autocomplete: 'off' });
      var send = el('button', { id: 'wa-local-sim-send', type: 'submit', text: 'Message the new number as the tester' });
      var status = el('p', { id: 'wa-local-sim-status', role: 'status' });
      var target = el('p', { id: 'wa-local-sim-target', 'class': 'wa-local-sim-muted' });
      var form = el('form', { id: 'wa-local-sim', 'class': 'wa-local-sim', 'aria-label': 'Simulated tester (local runner)', novalidate: '' }, [
        el('p', { 'class': 'wa-local-sim-title', text: 'Simulated tester (local runner only)' }), target,
        el('label', { 'for': 'wa-local-sim-from', text: 'From: phone (E.164) or business-scoped user id' }), from,
        el('label', { 'for': 'wa-local-sim-username', text: 'Username' }), username,
        el('label', { 'for': 'wa-local-sim-text', text: 'Text' }), text, send, status
      ]);
      var hide = el('button', { id: 'wa-local-sim-hide', type: 'button', 'class': 'wa-local-sim-hide', 'aria-label': 'Hide the simulated tester', text: 'Hide' });
      hide.addEventListener('click', function () { form.hidden = true; });
      form.insertBefore(hide, form.firstChild);
      form.addEventListener('submit', function (e) { e.preventDefault(); simSend(); });
      document.body.appendChild(form);
      panel = { form: form, from: from, username: username, text: text, send: send, status: status, target: target, phone: '' };
    }
    panel.phone = phoneNumberId;
    panel.target.textContent = 'To business number ' + phoneNumberId + '.';
    var testNumber = document.getElementById('test-number');
    var tester = testNumber ? testNumber.value.replace(/[\s()-]/g, '') : '';
    panel.from.value = E164.test(tester) ? tester : '+15550001111';
    panel.text.value = 'Hello from the tester';
    panel.status.textContent = '';
    panel.form.hidden = false;
  }

  async function simSend() {
    var p = panel;
    var sender = p.from.value.trim();
    var body = { phone_number_id: p.phone, text: p.text.value };
    if (BSUID.test(sender)) { body.from_user_id = sender; } else { body.from = sender; }
    if (p.username.value.trim()) { body.username = p.username.value.trim(); }
    p.send.disabled = true;
    p.status.textContent = 'Sending\u2026';
    try {
      var res = await fetch(SIM_PATH, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, cache: 'no-store', body: JSON.stringify(body)
      });
      var answer = await res.json();
      if (res.status === 202) {
        p.status.textContent = 'Sent (' + answer.message_id + '): the webhook is on its way to /webhooks.';
      } else {
        var err = answer && answer.error ? answer.error : {};
        p.status.textContent = 'Not sent: ' + (err.message || 'HTTP ' + res.status) + (err.field ? ' (' + err.field + ')' : '');
      }
    } catch (e) {
      p.status.textContent = 'Not sent: ' + e.message;
    }
    p.send.disabled = false;
  }

  window.addEventListener('message', onPopupMessage);

  window.FB = {
    __localStandIn: true,
    init: init,
    login: login,
    getLoginStatus: getLoginStatus,
    getAuthResponse: getAuthResponse,
    logout: logout,
    AppEvents: { logPageView: function () {}, logEvent: function () {} },
    XFBML: { parse: function () {} },
    Event: { subscribe: function () {}, unsubscribe: function () {} }
  };
  // Meta's SDK calls window.fbAsyncInit once it has loaded.
  if (typeof window.fbAsyncInit === 'function') { later(window.fbAsyncInit); }
})();
