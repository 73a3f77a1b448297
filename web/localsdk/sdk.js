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
    if (!extras.sessionInfoVersion) { problems.push('extras.sessionInfoVersion is not set: no WA_EMBEDDED_SIGNUP session events will be sent'); }
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
      popup: popup, cb: cb, sessionInfo: !!extras.sessionInfoVersion,
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
    var sendCode = function () { finish(l, typeof m.code === 'string' && m.code ? m.code : null); };
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
