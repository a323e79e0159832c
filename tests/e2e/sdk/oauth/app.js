// A tiny browser app on the official SDK, bundled by esbuild for Chromium (tests/e2e/test_sdk_oauth.py
// builds it once per pinned SDK version, aliasing @stackframe/js to that version's package).
//
// The page that loads it sets window.AUTHSTACK = {baseUrl, projectId, publishableClientKey}.
//   /                         window.startOAuth(provider) runs app.signInWithOAuth(provider)
//   /handler/oauth-callback   app.callOAuthCallback() redeems the code, then goes on to /signed-in
//   /signed-in                app.getUser(); the user lands in <body data-user="{...}">
// Any failure lands in <body data-error="...">.
import { createApp, fail, report, reportUser } from "../lib/browser-app.js";

const app = createApp({
  oauthCallback: "/handler/oauth-callback",
  afterSignIn: "/signed-in",
  afterSignUp: "/signed-in",
  error: "/handler/error",
});

window.startOAuth = (provider) => {
  app.signInWithOAuth(provider).catch(fail);
};

if (location.pathname === "/handler/oauth-callback") {
  app.callOAuthCallback().then((handled) => handled || report("error", "not a callback"), fail);
} else if (location.pathname === "/signed-in") {
  reportUser(app);
}
report("ready", "true");
