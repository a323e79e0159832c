// Wrong project keys surface as the SDK's known errors.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";

import {
  clientApp,
  config,
  PASSWORD,
  rejectsWithCode,
  serverApp,
  signUp,
  uniqueEmail,
} from "../lib/harness.js";

test("a wrong secret server key is INVALID_SECRET_SERVER_KEY", async () => {
  const app = serverApp({ secretServerKey: "ssk_this_key_does_not_exist_0123456789abcdef" });
  const error = await rejectsWithCode(() => app.listUsers(), "INVALID_SECRET_SERVER_KEY", 401);
  assert.match(error.message, /secret server key/i);
  await rejectsWithCode(() => app.getUser(randomUUID()), "INVALID_SECRET_SERVER_KEY", 401);
  await rejectsWithCode(
    () => app.createUser({ primaryEmail: uniqueEmail("nokey"), password: PASSWORD }),
    "INVALID_SECRET_SERVER_KEY",
    401,
  );
  // The right key still works (the failure was the key, not the server).
  assert.ok(Array.isArray(await serverApp().listUsers({ limit: 1 })));
});

test("a wrong publishable client key is INVALID_PUBLISHABLE_CLIENT_KEY", async () => {
  const email = uniqueEmail("carol");
  await signUp(clientApp(), email);

  const app = clientApp({ publishableClientKey: "pck_this_key_does_not_exist_0123456789abcdef" });
  const error = await rejectsWithCode(
    () => app.signInWithCredential({ email, password: PASSWORD, noRedirect: true }),
    "INVALID_PUBLISHABLE_CLIENT_KEY",
    401,
  );
  assert.match(error.message, /publishable/i);
  assert.match(error.message, new RegExp(config.projectId));
  assert.equal(await app.getUser(), null, "no session was created");
});

test("an unknown project is CURRENT_PROJECT_NOT_FOUND", async () => {
  const app = serverApp({ projectId: randomUUID() });
  await rejectsWithCode(() => app.listUsers(), "CURRENT_PROJECT_NOT_FOUND", 400);
});
