// Slow: an access token that really expires is refreshed transparently.
//
// Needs an API started with a short STACK_ACCESS_TOKEN_EXPIRATION_TIME (the wrapper uses 30s; the
// SDK refuses fresh tokens living less than 20 s). Waits once until the token has expired.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  clientApp,
  config,
  decodeJwt,
  requests,
  requestsSince,
  serverApp,
  signedUpUser,
  sleep,
  TOKEN_PATH,
  tokensOf,
} from "../lib/harness.js";

const MAX_LIFETIME_S = 60;

test("an expired access token is refreshed transparently", async () => {
  const { app, email, user } = await signedUpUser("expiry");
  const first = await tokensOf(app);
  const claims = decodeJwt(first.accessToken);
  const lifetime = claims.exp - claims.iat;
  assert.ok(
    lifetime >= 20 && lifetime <= MAX_LIFETIME_S,
    `this scenario needs the API to issue short-lived access tokens (20-${MAX_LIFETIME_S} s); ` +
      `got ${lifetime} s: set STACK_ACCESS_TOKEN_EXPIRATION_TIME=30s`,
  );

  // Wait (once) until the access token is past its expiry.
  const waitMs = claims.exp * 1000 - Date.now() + 1500;
  await sleep(Math.max(0, waitMs));
  assert.ok(Date.now() / 1000 > claims.exp, "the first access token has expired");

  // The server itself rejects the old token now, with the details the SDK needs.
  const direct = await fetch(`${config.baseUrl}/api/v1/users/me`, {
    headers: {
      "x-stack-access-type": "client",
      "x-stack-project-id": config.projectId,
      "x-stack-publishable-client-key": config.publishableClientKey,
      "x-stack-access-token": first.accessToken,
    },
  });
  assert.equal(direct.status, 401);
  assert.equal(direct.headers.get("x-stack-known-error"), "ACCESS_TOKEN_EXPIRED");
  const body = await direct.json();
  assert.equal(body.code, "ACCESS_TOKEN_EXPIRED");
  assert.equal(typeof body.details?.expired_at_millis, "number");
  assert.equal(body.details.expired_at_millis, claims.exp * 1000);

  // getUser() still works: the SDK refreshes through the token endpoint.
  let mark = requests.length;
  const again = await app.getUser();
  assert.ok(again, "getUser() still returns the user after the access token expired");
  assert.equal(again.id, user.id);
  assert.equal(again.primaryEmail, email);
  const refreshes = requestsSince(mark, "POST", TOKEN_PATH);
  assert.ok(refreshes.length >= 1, "the SDK called the token endpoint");
  assert.ok(refreshes.every((r) => r.status === 200));
  const second = await tokensOf(app);
  assert.notEqual(second.accessToken, first.accessToken, "a new access token was issued");
  assert.equal(second.refreshToken, first.refreshToken, "refresh tokens are not rotated");
  const newClaims = decodeJwt(second.accessToken);
  assert.equal(newClaims.sub, user.id);
  assert.equal(newClaims.refresh_token_id, claims.refresh_token_id);
  assert.ok(newClaims.exp > Date.now() / 1000 + 5, "the new access token is live");

  // An update works as well, and reaches the database.
  mark = requests.length;
  await again.update({ displayName: "Refreshed Rita", clientMetadata: { refreshed: true } });
  const patch = requestsSince(mark, "PATCH", "/api/v1/users/me");
  assert.ok(patch.length >= 1 && patch.at(-1).status === 200, "PATCH /users/me succeeded");
  const updated = await app.getUser();
  assert.equal(updated.displayName, "Refreshed Rita");
  assert.deepEqual(updated.clientMetadata, { refreshed: true });
  const onServer = await serverApp().getUser(user.id);
  assert.equal(onServer.displayName, "Refreshed Rita");

  // An app restored from the expired access token plus the refresh token also recovers.
  mark = requests.length;
  const restored = clientApp({ tokenStore: first });
  const restoredUser = await restored.getUser();
  assert.ok(restoredUser, "a session restored with an expired access token still works");
  assert.equal(restoredUser.id, user.id);
  assert.equal(restoredUser.displayName, "Refreshed Rita");
  assert.ok(requestsSince(mark, "POST", TOKEN_PATH).length >= 1, "it refreshed first");
});
