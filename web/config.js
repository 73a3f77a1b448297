// Settings of the example partner page. Edit these four values for your app; nothing here is secret (the app
// id and the Embedded Signup configuration id are visible to every visitor of a page that launches
// Embedded Signup). Never put the app secret, a system user token or any other credential in this file.
window.WA_ONBOARDING_CONFIG = Object.freeze({
  // Your Meta app id (App Dashboard > App settings > Basic).
  appId: 'YOUR_META_APP_ID',
  // The Facebook Login for Business configuration id of Embedded Signup
  // (App Dashboard > Facebook Login for Business > Configurations).
  configId: 'YOUR_EMBEDDED_SIGNUP_CONFIGURATION_ID',
  // The onboarding API of your stage: the stack's ApiUrl output, e.g.
  // 'https://abc123.execute-api.eu-west-1.amazonaws.com'. Empty means this page's own origin. The page's
  // origin must be in the stage's allowedOrigins (cdk.json) for the browser to call the API.
  apiBaseUrl: 'https://YOUR_API_ID.execute-api.YOUR_REGION.amazonaws.com',
  // The Graph API version FB.init is given.
  graphApiVersion: 'v21.0',
  // Meta's JavaScript SDK.
  sdkUrl: 'https://connect.facebook.net/en_US/sdk.js'
  // Partner authentication (optional): when your stage checks bearer tokens (stages.<stage>.auth in
  // cdk.json, or AUTH_ISSUER and AUTH_AUDIENCE for make run), add a token provider here, for example
  //   , getAccessToken: async function () { return (await yourAuthClient.getToken()) || null; }
  // and the page sends Authorization: Bearer <token> with every API call. Without it none is sent.
});
