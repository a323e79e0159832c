// TOTP multi-factor sign-in, the SDK's way. For a user with TOTP, signInWithCredential gets
// MULTI_FACTOR_AUTHENTICATION_REQUIRED: the SDK stores details.attempt_code in the page's
// sessionStorage and redirects to the "mfa" handler page, whose form calls
// signInWithMfa(totp, attemptCode). Node has no page, so this scenario gives the SDK a minimal
// one: a window with sessionStorage and a location, and a navigate hook recording the redirect.

import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { test } from "node:test";

import {
  clientApp,
  decodeJwt,
  PASSWORD,
  requests,
  requestsSince,
  serverApp,
  signedUpUser,
  tokensOf,
} from "../lib/harness.js";

const MFA_PATH = "/api/v1/auth/mfa/sign-in";
const STEP_SECONDS = 30;

/** RFC 6238 TOTP (HMAC-SHA1, 6 digits, 30 s steps), as an authenticator app computes it. */
function totp(secret, stepOffset = 0, now = Date.now()) {
  const counter = Math.floor(now / 1000 / STEP_SECONDS) + stepOffset;
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const digest = createHmac("sha1", Buffer.from(secret)).update(message).digest();
  const offset = digest[digest.length - 1] & 0x0f;
  const value = digest.readUInt32BE(offset) & 0x7fffffff;
  return String(value % 1_000_000).padStart(6, "0");
}

/** Wait out the last seconds of a step, so the server computes the step we did. */
async function awayFromStepEdge() {
  const into = (Date.now() / 1000) % STEP_SECONDS;
  if (into > STEP_SECONDS - 4) {
    await new Promise((resolve) => setTimeout(resolve, (STEP_SECONDS - into + 0.2) * 1000));
  }
}

/** Run `fn` with a minimal browser page in place; returns what the SDK stored and navigated to. */
async function inPage(fn) {
  const storage = new Map();
  const navigated = [];
  globalThis.window = {
    location: { href: "http://localhost:3000/handler/sign-in" },
    sessionStorage: {
      getItem: (key) => storage.get(key) ?? null,
      setItem: (key, value) => storage.set(key, String(value)),
      removeItem: (key) => storage.delete(key),
    },
  };
  try {
    const outcome = await fn((url) => navigated.push(url));
    return { outcome, storage, navigated };
  } finally {
    delete globalThis.window;
  }
}

async function userWithTotp(label) {
  const { email, user } = await signedUpUser(label);
  assert.equal(user.isMultiFactorRequired, false);
  const secret = new Uint8Array(randomBytes(20));
  await user.update({ totpMultiFactorSecret: secret });
  const onServer = await serverApp().getUser(user.id);
  assert.equal(onServer.isMultiFactorRequired, true, "the secret was stored through the SDK");
  return { email, id: user.id, secret };
}

test("password sign-in of a TOTP user goes through the MFA page to a session", async () => {
  const { email, id, secret } = await userWithTotp("mfa");

  // First factor: the SDK stores the attempt code and heads for the MFA page, issuing no tokens.
  let app;
  const { outcome, storage, navigated } = await inPage(async (navigate) => {
    app = clientApp({ redirectMethod: { navigate } });
    try {
      await app.signInWithCredential({ email, password: PASSWORD, noRedirect: true });
      return null;
    } catch (error) {
      return error;
    }
  });
  // The SDK throws once the redirect it started does not unload the page (there is none here).
  assert.ok(outcome, "signInWithCredential did not return normally for an MFA user");
  assert.match(String(outcome.message), /redirect/i);
  const keys = [...storage.keys()].filter((key) => key.endsWith("_mfa_attempt_code"));
  assert.equal(keys.length, 1, `stored keys: ${[...storage.keys()]}`);
  const attemptCode = storage.get(keys[0]);
  assert.match(attemptCode, /^[0-9a-z]{45}$/);
  assert.equal(navigated.length, 1);
  assert.match(new URL(navigated[0], "http://localhost:3000").pathname, /\/handler\/mfa$/);
  assert.equal(await app.getUser(), null, "no session before the second factor");

  // Second factor, as the MFA page submits it: a wrong TOTP is a Result error, a right one signs in.
  await awayFromStepEdge();
  const good = totp(secret);
  const bad = String((Number(good) + 1) % 1_000_000).padStart(6, "0");
  const refused = await app.signInWithMfa(bad, attemptCode, { noRedirect: true });
  assert.equal(refused.status, "error");
  assert.equal(refused.error.errorCode, "INVALID_TOTP_CODE");
  assert.equal(await app.getUser(), null);

  const mark = requests.length;
  const done = await app.signInWithMfa(good, attemptCode, { noRedirect: true });
  assert.equal(done.status, "ok", `MFA sign-in failed: ${done.error?.errorCode} ${done.error?.message}`);
  const [sent] = requestsSince(mark, "POST", MFA_PATH);
  assert.ok(sent, "the SDK called /auth/mfa/sign-in");
  assert.equal(sent.status, 200);

  const user = await app.getUser();
  assert.ok(user, "getUser() works after the second factor");
  assert.equal(user.id, id);
  assert.equal(user.primaryEmail, email);
  assert.equal(user.isMultiFactorRequired, true);
  const { accessToken } = await tokensOf(app);
  assert.equal(decodeJwt(accessToken).requires_totp_mfa, true);

  // The attempt code was single-use.
  const reused = await clientApp().signInWithMfa(totp(secret, +1), attemptCode, { noRedirect: true });
  assert.equal(reused.status, "error");
  assert.equal(reused.error.errorCode, "VERIFICATION_CODE_ALREADY_USED");
});

test("turning TOTP off through the SDK makes password sign-in plain again", async () => {
  const { email, id } = await userWithTotp("mfa-off");
  const server = serverApp();
  const user = await server.getUser(id);
  await user.update({ totpMultiFactorSecret: null });
  assert.equal((await server.getUser(id)).isMultiFactorRequired, false);

  const app = clientApp();
  const result = await app.signInWithCredential({ email, password: PASSWORD, noRedirect: true });
  assert.equal(result.status, "ok", `sign-in failed: ${result.error?.errorCode}`);
  assert.equal((await app.getUser()).id, id);
});
