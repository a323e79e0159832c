// User API keys through the official SDK: create, list, revoke, and check on the server.

import assert from "node:assert/strict";
import { test } from "node:test";

import { serverApp, signedUpUser } from "../lib/harness.js";

test("create, list and revoke a user API key, and check it server-side", async () => {
  const { user } = await signedUpUser("keys");

  const first = await user.createApiKey({ description: "CI deploys", expiresAt: null });
  assert.equal(typeof first.value, "string");
  assert.match(first.value, /^sk_[0-9a-z]{45}[0-9a-f]{32}user1574ck4u7h[0-9a-f]{8}$/);
  assert.equal(first.description, "CI deploys");
  assert.equal(first.userId, user.id);
  assert.equal(first.isValid(), true);

  const listed = await user.listApiKeys();
  assert.deepEqual(listed.map((k) => k.id), [first.id]);
  assert.deepEqual(listed[0].value, { lastFour: first.value.slice(-4) }, "the full key is shown once");

  // The server resolves the key to its user.
  const server = serverApp();
  const owner = await server.getUser({ apiKey: first.value });
  assert.ok(owner, "a live key resolves to its user");
  assert.equal(owner.id, user.id);

  await listed[0].revoke();
  const after = await user.listApiKeys();
  assert.ok(after[0].manuallyRevokedAt instanceof Date, "the key is marked revoked");
  assert.equal(after[0].isValid(), false);
  assert.equal(after[0].whyInvalid(), "manually-revoked");
  assert.equal(await serverApp().getUser({ apiKey: first.value }), null, "a revoked key resolves to nobody");
  assert.equal(await serverApp().getUser({ apiKey: "sk_not_a_key" }), null);
});

test("a team admin creates a team API key the server resolves to the team", async () => {
  const { user } = await signedUpUser("team-keys");
  const team = await user.createTeam({ displayName: "Keyed Team" });
  const key = await team.createApiKey({ description: "team bot", expiresAt: null });
  assert.match(key.value, /team1574ck4u7h[0-9a-f]{8}$/);
  assert.deepEqual((await team.listApiKeys()).map((k) => k.id), [key.id]);
  const resolved = await serverApp().getTeam({ apiKey: key.value });
  assert.ok(resolved, "a live team key resolves to its team");
  assert.equal(resolved.id, team.id);
  assert.equal(await serverApp().getUser({ apiKey: key.value }), null, "a team key is not a user key");
});
