// The server's per-account failure gate (5 free wrong passwords, then a hold of 1 s, 2 s, ...)
// answers 429 with Retry-After. The SDK waits that long and retries by itself, so the app sees
// the real answer of each attempt, and nothing hangs.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  clientApp,
  PASSWORD,
  requests,
  requestsSince,
  signIn,
  signUp,
  uniqueEmail,
} from "../lib/harness.js";

const SIGN_IN = "/api/v1/auth/password/sign-in";

test("repeated wrong passwords: the SDK waits out the 429s and reports each mismatch", async () => {
  const email = uniqueEmail("typo");
  await signUp(clientApp(), email);
  const app = clientApp();
  const mark = requests.length;
  const started = Date.now();
  for (let i = 0; i < 7; i += 1) {
    const wrong = await app.signInWithCredential({
      email,
      password: "not-the-password-1",
      noRedirect: true,
    });
    assert.equal(wrong.status, "error");
    assert.equal(wrong.error.errorCode, "EMAIL_PASSWORD_MISMATCH");
  }
  // The seventh attempt met the hold the sixth started: it was sent again after the wait.
  const sent = requestsSince(mark, "POST", SIGN_IN);
  assert.ok(sent.length > 7, `expected a retried sign-in, saw ${sent.length} requests`);
  // The right password right away meets the next hold, which the SDK waits out too.
  await signIn(app, email, PASSWORD);
  assert.ok(await app.getUser(), "signed in after the holds");
  assert.ok(Date.now() - started < 30_000, "the holds are seconds, not a lock-out");
});
