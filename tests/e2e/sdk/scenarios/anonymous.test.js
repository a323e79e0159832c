// Anonymous sign-in through the official SDK, then an upgrade by password sign-up.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  clientApp,
  config,
  decodeJwt,
  requests,
  requestsSince,
  serverApp,
  signUp,
  uniqueEmail,
} from "../lib/harness.js";

test("anonymous sign-in, then the same user upgrades by signing up with a password", async () => {
  const app = clientApp();
  assert.equal(await app.getUser(), null, "nobody is signed in yet");

  const mark = requests.length;
  const anonymous = await app.getUser({ or: "anonymous" });
  assert.ok(anonymous, "or: 'anonymous' signs an anonymous user in");
  assert.equal(requestsSince(mark, "POST", "/api/v1/auth/anonymous/sign-up").length, 1);
  assert.equal(anonymous.isAnonymous, true);
  assert.equal(anonymous.primaryEmail, null);
  const anonClaims = decodeJwt((await anonymous.currentSession.getTokens()).accessToken);
  assert.equal(anonClaims.aud, `${config.projectId}:anon`);
  assert.equal(anonClaims.is_anonymous, true);
  assert.deepEqual(anonClaims.restricted_reason, { type: "anonymous" });
  // Without or: "anonymous", an anonymous session reads as signed out.
  assert.equal(await app.getUser(), null);

  await anonymous.update({ clientMetadata: { cart: ["book"] } });

  const email = uniqueEmail("upgraded");
  await signUp(app, email);
  const upgraded = await app.getUser();
  assert.ok(upgraded, "the upgraded user is signed in");
  assert.equal(upgraded.id, anonymous.id, "the anonymous user was upgraded in place");
  assert.equal(upgraded.isAnonymous, false);
  assert.equal(upgraded.primaryEmail, email);
  assert.deepEqual(upgraded.clientMetadata, { cart: ["book"] });
  const claims = decodeJwt((await upgraded.currentSession.getTokens()).accessToken);
  assert.equal(claims.aud, config.projectId);
  assert.equal(claims.is_anonymous, false);

  const listed = await serverApp().listUsers({ query: email });
  assert.deepEqual(listed.map((u) => u.id), [anonymous.id]);
});
