// A tiny browser app on the official SDK (cookie token store) that receives impersonation sessions
// from the dashboard; tests/dashboard/test_browser_impersonation.py bundles it with esbuild once per
// pinned SDK version (aliasing @stackframe/js) and serves it on http://localhost:<port>.
//
// The page that loads it sets window.AUTHSTACK = {baseUrl, projectId, publishableClientKey}.
//   /             window.signIn(email, password) signs in with a password (<body data-signed-in>)
//   /impersonate  the handler the dashboard links to: takes the refresh token from the fragment
//                 (#stack_impersonation_refresh_token=...), stores it where the SDK reads it, then
//                 goes on to /signed-in without the fragment (the README shows the same handler)
//   /signed-in    app.getUser(); the user lands in <body data-user="{...}">
// Any failure lands in <body data-error="...">.
import { createApp, fail, report, reportUser } from "../lib/browser-app.js";

const app = createApp({ afterSignIn: "/signed-in", afterSignUp: "/signed-in" });

function useImpersonationFragment(projectId) {
  const token = new URLSearchParams(location.hash.slice(1)).get("stack_impersonation_refresh_token");
  if (!token) return false;
  const secure = location.protocol === "https:";
  const tail = `; path=/; max-age=3600; samesite=lax${secure ? "; secure" : ""}`;
  const value = encodeURIComponent(JSON.stringify({ refresh_token: token, updated_at_millis: Date.now() }));
  document.cookie = `${secure ? "__Host-" : ""}hexclave-refresh-${projectId}--default=${value}${tail}`;
  document.cookie = `stack-refresh-${projectId}=${encodeURIComponent(token)}${tail}`;
  return true;
}

window.signIn = (email, password) => {
  app
    .signInWithCredential({ email, password, noRedirect: true })
    .then((result) => (result.status === "ok" ? report("signedIn", "true") : fail(result.error)), fail);
};

if (location.pathname === "/impersonate") {
  if (useImpersonationFragment(window.AUTHSTACK.projectId)) location.replace("/signed-in");
  else report("error", "no impersonation token in the fragment");
} else if (location.pathname === "/signed-in") {
  reportUser(app);
}
report("ready", "true");
