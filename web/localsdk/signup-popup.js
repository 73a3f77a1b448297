// The simulated Embedded Signup popup of the local runner (see sdk.js): a person picks the outcome, and the
// result goes back to the window that opened it; the SDK stand-in there delivers it as Meta would.
(function () {
  'use strict';

  var RESULT_KIND = 'wa-local-signup-result';
  var DEFAULT_WABA = '102290129340398';     // the example ids of Meta's documents
  var DEFAULT_BUSINESS = '100000000000002';
  var ID = /^[0-9]{1,20}$/;

  function $(id) { return document.getElementById(id); }
  var params = new URLSearchParams(window.location.search);

  function randomDigits(n) {
    var a = new Uint8Array(n);
    window.crypto.getRandomValues(a);
    var s = '';
    for (var i = 0; i < n; i++) { s += String(a[i] % 10); }
    return s;
  }

  // A fresh 15-digit phone number id; its last four digits follow the chosen kind ('' for no number).
  function phoneId(kind) {
    if (kind === 'none') { return ''; }
    var id = '1065' + randomDigits(11);
    if (kind === '1111' || kind === '2222' || kind === '3333') { return id.slice(0, -4) + kind; }
    while (/(1111|2222|3333)$/.test(id)) { id = '1065' + randomDigits(11); }
    return id;
  }

  function setStatus(text) { $('status').textContent = text; }

  function setDisabled(disabled) {
    Array.prototype.forEach.call(document.querySelectorAll('button'), function (b) { b.disabled = disabled; });
  }

  function send(result) {
    if (!window.opener) {
      $('no-opener').hidden = false;
      setDisabled(false);
      return;
    }
    result.kind = RESULT_KIND;
    result.order = $('order').value;
    window.opener.postMessage(result, window.location.origin);
    setStatus('Done: returning to the page\u2026');
    window.setTimeout(function () { window.close(); }, 100);
  }

  async function finish(event) {
    var waba = $('waba-id').value.trim();
    var phone = event === 'FINISH_ONLY_WABA' ? '' : $('phone-id').value.trim();
    var business = $('business-id').value.trim();
    if (!ID.test(waba) || (phone && !ID.test(phone)) || (business && !ID.test(business))) {
      setStatus('Ids are 1 to 20 digits.');
      return;
    }
    setDisabled(true);
    setStatus('Issuing a code\u2026');
    var code;
    try {
      var res = await fetch('/_local/codes', {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, cache: 'no-store',
        body: JSON.stringify({ waba_id: waba, phone_number_id: phone, expired: $('expired').checked })
      });
      var body = await res.json();
      if (!res.ok) { throw new Error(body && body.error ? body.error.message : 'HTTP ' + res.status); }
      code = body.code;
    } catch (e) {
      setStatus('Could not issue a code: ' + e.message);
      setDisabled(false);
      return;
    }
    var data = { waba_id: waba };
    if (phone && !$('omit-phone').checked) { data.phone_number_id = phone; }
    if (business) { data.business_id = business; }
    send({ code: code, session: { data: data, type: 'WA_EMBEDDED_SIGNUP', event: event } });
  }

  function cancel() {
    setDisabled(true);
    send({ code: null, session: { data: { current_step: $('current-step').value }, type: 'WA_EMBEDDED_SIGNUP', event: 'CANCEL' } });
  }

  function error() {
    setDisabled(true);
    send({
      code: null,
      session: {
        data: {
          error_message: $('error-message').value, error_code: $('error-code').value,
          session_id: randomDigits(16), timestamp: String(Math.floor(Date.now() / 1000))
        },
        type: 'WA_EMBEDDED_SIGNUP', event: 'CANCEL'
      }
    });
  }

  var context = ['app ' + (params.get('app_id') || '?'), 'configuration ' + (params.get('config_id') || '?')];
  if (params.get('session_info_version')) { context.push('session info v' + params.get('session_info_version')); }
  $('context').textContent = 'Signing up for ' + context.join(', ') + '.';
  if (params.get('problems')) {
    $('problems').textContent = 'FB.login options: ' + params.get('problems');
    $('problems').hidden = false;
  }
  if (!window.opener) { $('no-opener').hidden = false; }

  $('waba-id').value = DEFAULT_WABA;
  $('business-id').value = DEFAULT_BUSINESS;
  $('phone-id').value = phoneId('new');
  $('phone-kind').addEventListener('change', function () {
    $('phone-id').value = phoneId($('phone-kind').value);
    $('phone-id').required = $('phone-kind').value !== 'none';
  });
  $('new-phone').addEventListener('click', function () { $('phone-id').value = phoneId($('phone-kind').value); });
  Array.prototype.forEach.call(document.querySelectorAll('button[data-event]'), function (b) {
    b.addEventListener('click', function () { finish(b.getAttribute('data-event')); });
  });
  $('cancel').addEventListener('click', cancel);
  $('error').addEventListener('click', error);
})();
