// A tiny browser app on the official SDK for its passkey calls, bundled by esbuild for Chromium
// (tests/e2e/test_sdk_passkey.py builds it once per pinned SDK version, aliasing @stackframe/js to
// that version's package). The browser's authenticator is a CDP virtual one.
//
// The page that loads it sets window.AUTHSTACK = {baseUrl, projectId, publishableClientKey}.
//   /            window.signUp(email, password), window.registerPasskey() and window.currentUser()
//                answer {status: "ok"|"error"|"thrown", ...}; window.startSignOut() signs out and
//                goes on to / (afterSignOut);
//                window.startPasskeySignIn() runs app.signInWithPasskey(), which goes on to
//                /signed-in when it succeeds; when it does not, its outcome lands in
//                <body data-passkey-sign-in="{...}">.
//   /signed-in   app.getUser(); the user lands in <body data-user="{...}">
// Any failure on /signed-in lands in <body data-error="...">.
import { StackClientApp } from "@stackframe/js";

const config = window.AUTHSTACK;
const app = new StackClientApp({
  baseUrl: config.baseUrl,
  projectId: config.projectId,
  publishableClientKey: config.publishableClientKey,
  tokenStore: "cookie",
  urls: {
    afterSignIn: "/signed-in",
    afterSignUp: "/signed-in",
    afterSignOut: "/",
    emailVerification: "/handler/email-verification",
    error: "/handler/error",
  },
});

function report(key, value) {
  document.body.dataset[key] = typeof value === "string" ? value : JSON.stringify(value);
}

function errorOf(error) {
  return { code: error?.errorCode ?? null, name: error?.name ?? null, message: String(error?.message ?? error) };
}

function userOf(user) {
  return user && { id: user.id, primaryEmail: user.primaryEmail, passkeyAuthEnabled: user.passkeyAuthEnabled };
}

// A Result of the SDK as plain data; an exception as status "thrown".
async function outcome(call) {
  try {
    const result = await call();
    return result.status === "ok" ? { status: "ok" } : { status: "error", error: errorOf(result.error) };
  } catch (error) {
    return { status: "thrown", error: errorOf(error) };
  }
}

window.signUp = async (email, password) => {
  const signedUp = await outcome(() => app.signUpWithCredential({ email, password, noRedirect: true }));
  return { ...signedUp, user: userOf(await app.getUser()) };
};

window.registerPasskey = async () => {
  const user = await app.getUser({ or: "throw" });
  const registered = await outcome(() => user.registerPasskey());
  return { ...registered, user: userOf(await app.getUser()) };
};

// Signing out goes on to afterSignOut ("/").
window.startSignOut = () => {
  app.signOut().catch((error) => report("error", `${error?.errorCode ?? ""} ${error?.message ?? error}`));
};

window.currentUser = async () => ({ status: "ok", user: userOf(await app.getUser()) });

window.startPasskeySignIn = () => {
  outcome(() => app.signInWithPasskey()).then(async (result) => {
    report("passkeySignIn", { ...result, user: userOf(await app.getUser()) });
  });
};

if (location.pathname === "/signed-in") {
  app
    .getUser()
    .then((user) => report("user", userOf(user)))
    .catch((error) => report("error", `${error?.errorCode ?? ""} ${error?.message ?? error}`));
}
report("ready", "true");
