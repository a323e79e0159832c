// Email flows through the official SDK: the code is read from the mail the SMTP server received.
//
// Environment (set by tests/e2e/test_sdk_email.py), besides the harness's:
//   AUTHSTACK_MAIL_URL   base URL of the mail sink's JSON API (scripts/mail_sink.py)

import assert from "node:assert/strict";
import { test } from "node:test";

import { clientApp, PASSWORD, signIn, signUp, sleep, uniqueEmail } from "../lib/harness.js";

const MAIL_URL = process.env.AUTHSTACK_MAIL_URL;
if (!MAIL_URL) throw new Error("AUTHSTACK_MAIL_URL is required (run through tests/e2e/test_sdk_email.py)");

/** The messages the sink received for `to`, waiting until there are at least `count`. */
async function mailTo(to, count = 1, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await fetch(`${MAIL_URL}/api/messages?to=${encodeURIComponent(to)}`);
    const { messages } = await response.json();
    if (messages.length >= count) return messages;
    if (Date.now() > deadline) throw new Error(`no mail to ${to} after ${timeoutMs} ms`);
    await sleep(100);
  }
}

function codeIn(message) {
  const match = /[?&]code=([0-9a-z]{45})\b/.exec(message.text);
  assert.ok(match, `no code link in ${JSON.stringify(message.text)}`);
  return match[1];
}

test("sendForgotPasswordEmail → code from the mailbox → resetPassword → sign in with the new one", async () => {
  const email = uniqueEmail("forgot");
  await signUp(clientApp(), email);

  const app = clientApp();
  const sent = await app.sendForgotPasswordEmail(email, {
    callbackUrl: "http://localhost:3000/handler/password-reset",
  });
  assert.equal(sent.status, "ok");
  // The first mail is the sign-up's verification email; the reset link is the second.
  const message = (await mailTo(email, 2)).find((m) => /Reset your password/.test(m.subject));
  assert.ok(message, "a password-reset email arrived");
  const code = codeIn(message);
  assert.ok(message.text.includes(`http://localhost:3000/handler/password-reset?code=${code}`));

  const checked = await app.verifyPasswordResetCode(code);
  assert.equal(checked.status, "ok");
  const newPassword = "a-new-password-from-the-sdk-1";
  const reset = await app.resetPassword({ code, password: newPassword });
  assert.equal(reset.status, "ok", `resetPassword: ${reset.error?.errorCode}`);

  const stale = await clientApp().signInWithCredential({ email, password: PASSWORD, noRedirect: true });
  assert.equal(stale.status, "error");
  assert.equal(stale.error.errorCode, "EMAIL_PASSWORD_MISMATCH");
  const fresh = clientApp();
  await signIn(fresh, email, newPassword);
  const user = await fresh.getUser();
  assert.equal(user.primaryEmail, email);

  // A used code is the SDK's verification-code error, returned as a Result.
  const again = await app.resetPassword({ code, password: "yet-another-password-2" });
  assert.equal(again.status, "error");
  assert.equal(again.error.errorCode, "VERIFICATION_CODE_ALREADY_USED");
});

test("sendMagicLinkEmail → code from the mailbox → signInWithMagicLink", async () => {
  const email = uniqueEmail("magic");
  const app = clientApp();
  const sent = await app.sendMagicLinkEmail(email, {
    callbackUrl: "http://localhost:3000/handler/magic-link-callback",
  });
  assert.equal(sent.status, "ok", `sendMagicLinkEmail: ${sent.error?.errorCode}`);
  assert.equal(sent.data.nonce.length, 39);
  const [message] = await mailTo(email);
  const code = codeIn(message);
  assert.ok(code.endsWith(sent.data.nonce), "the link's code ends with the nonce the API returned");

  const signedIn = await app.signInWithMagicLink(code, { noRedirect: true });
  assert.equal(signedIn.status, "ok", `signInWithMagicLink: ${signedIn.error?.errorCode}`);
  const user = await app.getUser();
  assert.ok(user, "signed in");
  assert.equal(user.primaryEmail, email);
  assert.equal(user.primaryEmailVerified, true);
  assert.equal(user.otpAuthEnabled, true);

  // The OTP shown in the mail works too (lower-cased, plus the nonce), once.
  const second = await clientApp().sendMagicLinkEmail(email, {
    callbackUrl: "http://localhost:3000/handler/magic-link-callback",
  });
  const [, message2] = await mailTo(email, 2);
  const otp = /one-time code is:\s*([0-9A-Z]{6})/.exec(message2.text)[1];
  const other = clientApp();
  const viaOtp = await other.signInWithMagicLink(otp.toLowerCase() + second.data.nonce, { noRedirect: true });
  assert.equal(viaOtp.status, "ok");
  assert.equal((await other.getUser()).id, user.id);
});

test("sign-up with a verification callback → verifyEmail → primaryEmailVerified", async () => {
  const email = uniqueEmail("verify");
  const app = clientApp();
  await signUp(app, email); // the harness passes verificationCallbackUrl
  assert.equal((await app.getUser()).primaryEmailVerified, false);

  const [message] = await mailTo(email);
  assert.match(message.subject, /Verify your email/);
  const result = await app.verifyEmail(codeIn(message));
  assert.equal(result.status, "ok", `verifyEmail: ${result.error?.errorCode}`);
  assert.equal((await app.getUser()).primaryEmailVerified, true);
});

test("updatePassword keeps this session and needs the old password", async () => {
  const email = uniqueEmail("update");
  const app = clientApp();
  await signUp(app, email);
  const user = await app.getUser();
  // This SDK method returns the known error (or undefined), not a Result.
  const wrong = await user.updatePassword({ oldPassword: "not-my-password", newPassword: "another-password-3" });
  assert.equal(wrong?.errorCode, "PASSWORD_CONFIRMATION_MISMATCH");
  const ok = await user.updatePassword({ oldPassword: PASSWORD, newPassword: "another-password-3" });
  assert.equal(ok, undefined);
  assert.ok(await app.getUser(), "still signed in");
  await signIn(clientApp(), email, "another-password-3");
});
