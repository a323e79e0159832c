// Client app: password sign-up / sign-in, the current user, update, sign-out.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  config,
  clientApp,
  decodeJwt,
  HEADER_PREFIX,
  PASSWORD,
  requests,
  requestsSince,
  serverApp,
  signedUpUser,
  signIn,
  signUp,
  TOKEN_PATH,
  tokensOf,
  uniqueEmail,
  UUID,
  VERIFICATION_CALLBACK_URL,
} from "../lib/harness.js";

test("sign up, read and update the user, sign out, sign in again", async () => {
  const app = clientApp();
  const email = uniqueEmail("alice");
  const mark = requests.length;

  await signUp(app, email);

  // The SDK spoke the header dialect of its version, as a client.
  const signUpRequest = requestsSince(mark, "POST", "/api/v1/auth/password/sign-up")[0];
  assert.ok(signUpRequest, "sign-up request was sent");
  assert.equal(signUpRequest.headers[`${HEADER_PREFIX}project-id`], config.projectId);
  assert.equal(signUpRequest.headers[`${HEADER_PREFIX}access-type`], "client");
  assert.equal(signUpRequest.headers[`${HEADER_PREFIX}publishable-client-key`], config.publishableClientKey);

  const user = await app.getUser();
  assert.ok(user, "getUser() returns the new user after sign-up");
  assert.match(user.id, UUID);
  assert.equal(user.primaryEmail, email);
  assert.equal(user.primaryEmailVerified, false);
  assert.equal(user.displayName, null);
  assert.equal(user.hasPassword, true);
  assert.equal(user.isAnonymous, false);
  assert.ok(user.signedUpAt instanceof Date && !Number.isNaN(user.signedUpAt.getTime()));
  assert.ok(Math.abs(Date.now() - user.signedUpAt.getTime()) < 5 * 60_000, "signedUpAt is now");

  // The session's access token carries what the SDK validates.
  const { accessToken, refreshToken } = await user.currentSession.getTokens();
  assert.ok(refreshToken, "a refresh token was issued");
  const claims = decodeJwt(accessToken);
  assert.equal(claims.sub, user.id);
  assert.equal(claims.project_id, config.projectId);
  assert.equal(claims.aud, config.projectId);
  assert.equal(claims.email, email);
  assert.equal(claims.role, "authenticated");
  assert.equal(claims.branch_id, "main");
  assert.ok(claims.exp > Date.now() / 1000, "the access token is not expired");

  // A second sign-up with the same email is the known error the SDK returns as a Result.
  const duplicate = await clientApp().signUpWithCredential({
    email,
    password: PASSWORD,
    verificationCallbackUrl: VERIFICATION_CALLBACK_URL,
    noRedirect: true,
  });
  assert.equal(duplicate.status, "error");
  assert.equal(duplicate.error.errorCode, "USER_EMAIL_ALREADY_EXISTS");

  // Update, then re-read through the SDK and through the server app (not only the SDK's cache).
  const metadata = { theme: "dark", flags: [1, 2, 3], nested: { ok: true } };
  await user.update({ displayName: "Alice Liddell", clientMetadata: metadata });
  const updated = await app.getUser();
  assert.equal(updated.id, user.id);
  assert.equal(updated.displayName, "Alice Liddell");
  assert.deepEqual(updated.clientMetadata, metadata);
  const onServer = await serverApp().getUser(user.id);
  assert.ok(onServer, "the server app sees the user");
  assert.equal(onServer.displayName, "Alice Liddell");
  assert.deepEqual(onServer.clientMetadata, metadata);
  assert.equal(onServer.primaryEmail, email);

  // Sign out: no user any more, and the refresh token is revoked on the server.
  await app.signOut();
  assert.equal(await app.getUser(), null, "getUser() is null after signOut()");
  const stale = clientApp({ tokenStore: { accessToken: null, refreshToken } });
  assert.equal(await stale.getUser(), null, "the signed-out refresh token no longer works");

  // Wrong password is EMAIL_PASSWORD_MISMATCH.
  const wrong = await app.signInWithCredential({ email, password: "not-the-password-1", noRedirect: true });
  assert.equal(wrong.status, "error");
  assert.equal(wrong.error.errorCode, "EMAIL_PASSWORD_MISMATCH");
  assert.equal(await app.getUser(), null);

  // Sign in again: same user, the update persisted, a new session.
  await signIn(app, email);
  const again = await app.getUser();
  assert.ok(again, "getUser() returns the user after signing in again");
  assert.equal(again.id, user.id);
  assert.equal(again.primaryEmail, email);
  assert.equal(again.displayName, "Alice Liddell");
  assert.deepEqual(again.clientMetadata, metadata);
  const newTokens = await again.currentSession.getTokens();
  assert.notEqual(newTokens.refreshToken, refreshToken, "sign-in starts a new session");
  assert.equal(decodeJwt(newTokens.accessToken).name, "Alice Liddell");

  // The tokens work in another app instance (as when handed to a backend).
  const restored = clientApp({ tokenStore: newTokens });
  const restoredUser = await restored.getUser();
  assert.ok(restoredUser);
  assert.equal(restoredUser.id, user.id);
});

test("an access token the server rejects is refreshed and the request retried", async () => {
  const { app, email, user } = await signedUpUser("tampered");
  const { accessToken, refreshToken } = await tokensOf(app);

  // Same payload (so the SDK considers it valid and unexpired), broken signature: the server
  // answers a known INVALID_ACCESS_TOKEN error, the SDK refreshes via the token endpoint and
  // resends the request.
  const [header, payload, signature] = accessToken.split(".");
  const flipped = signature[5] === "A" ? "B" : "A";
  const tampered = `${header}.${payload}.${signature.slice(0, 5)}${flipped}${signature.slice(6)}`;
  const app2 = clientApp({ tokenStore: { accessToken: tampered, refreshToken } });
  const mark = requests.length;

  const seen = await app2.getUser();
  assert.ok(seen, "getUser() still returns the user");
  assert.equal(seen.id, user.id);
  assert.equal(seen.primaryEmail, email);

  const rejected = requestsSince(mark, "GET", "/api/v1/users/me").filter(
    (r) => r.headers[`${HEADER_PREFIX}access-token`] === tampered,
  );
  assert.ok(rejected.length >= 1, "the tampered token was sent");
  const refreshes = requestsSince(mark, "POST", TOKEN_PATH);
  assert.ok(refreshes.length >= 1, "the SDK refreshed through the token endpoint");
  assert.ok(refreshes.every((r) => r.status === 200), "the token endpoint answered 200");

  const fresh = await tokensOf(app2);
  assert.notEqual(fresh.accessToken, tampered);
  assert.equal(fresh.refreshToken, refreshToken, "refresh tokens are not rotated");
  assert.equal(decodeJwt(fresh.accessToken).sub, user.id);
});

test("a common password is PASSWORD_REQUIREMENTS_NOT_MET, returned as the SDK's Result", async () => {
  // authstack refuses passwords from its common-password list under the family code itself: the
  // SDK knows it (an unknown code would be thrown as "please update your SDK" instead).
  const refused = await clientApp().signUpWithCredential({
    email: uniqueEmail("common"),
    password: "password",
    verificationCallbackUrl: VERIFICATION_CALLBACK_URL,
    noRedirect: true,
  });
  assert.equal(refused.status, "error");
  assert.equal(refused.error.errorCode, "PASSWORD_REQUIREMENTS_NOT_MET");
  assert.equal(refused.error.name, "KnownError<PASSWORD_REQUIREMENTS_NOT_MET>");
  assert.equal(refused.error.statusCode, 400);
  assert.equal(refused.error.details.reason, "PASSWORD_TOO_COMMON");
  assert.match(refused.error.message, /too common/);

  // The same through a signed-in user's password change.
  const { user } = await signedUpUser("changer");
  // updatePassword returns the caught KnownError itself (undefined on success), not a Result.
  const change = await user.updatePassword({ oldPassword: PASSWORD, newPassword: "12345678" });
  assert.equal(change?.errorCode, "PASSWORD_REQUIREMENTS_NOT_MET");
  assert.equal(change.details.reason, "PASSWORD_TOO_COMMON");
  const fine = await user.updatePassword({ oldPassword: PASSWORD, newPassword: `${PASSWORD}-new` });
  assert.equal(fine, undefined);
});
