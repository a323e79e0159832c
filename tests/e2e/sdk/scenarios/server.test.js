// Server app: create, list with paging, read, update and delete users.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";

import {
  clientApp,
  config,
  HEADER_PREFIX,
  PASSWORD,
  requests,
  requestsSince,
  RUN_TAG,
  serverApp,
  signIn,
  uniqueEmail,
  UUID,
} from "../lib/harness.js";

const COUNT = 7;
const PAGE = 3;

test("createUser, listUsers with paging, getUser, update, delete", async () => {
  const app = serverApp();
  const mark = requests.length;

  const created = [];
  for (let i = 0; i < COUNT; i += 1) {
    const email = uniqueEmail(`bob${i}`);
    const user = await app.createUser({
      primaryEmail: email,
      password: PASSWORD,
      displayName: `Bob ${i} ${RUN_TAG}`,
      primaryEmailAuthEnabled: true,
      clientMetadata: { index: i },
    });
    assert.match(user.id, UUID);
    assert.equal(user.primaryEmail, email);
    assert.equal(user.displayName, `Bob ${i} ${RUN_TAG}`);
    assert.equal(user.hasPassword, true);
    assert.equal(user.emailAuthEnabled, true);
    assert.deepEqual(user.clientMetadata, { index: i });
    assert.deepEqual(user.riskScores, { signUp: { bot: 0, freeTrialAbuse: 0 } });
    created.push(user);
  }

  const createRequest = requestsSince(mark, "POST", "/api/v1/users")[0];
  assert.ok(createRequest, "createUser sent POST /users");
  assert.equal(createRequest.status, 201);
  assert.equal(createRequest.headers[`${HEADER_PREFIX}access-type`], "server");
  assert.equal(createRequest.headers[`${HEADER_PREFIX}secret-server-key`], config.secretServerKey);

  // Page through every user of the project: each one is seen exactly once.
  const seen = new Map();
  let cursor;
  let pages = 0;
  do {
    const page = await app.listUsers({ limit: PAGE, ...(cursor ? { cursor } : {}) });
    pages += 1;
    assert.ok(Array.isArray(page), "listUsers returns an array");
    assert.ok(page.length <= PAGE, `page ${pages} has at most ${PAGE} users`);
    for (const user of page) {
      assert.ok(!seen.has(user.id), `user ${user.id} appeared on two pages`);
      seen.set(user.id, user);
    }
    assert.ok("nextCursor" in page);
    if (page.nextCursor !== null) {
      assert.equal(page.length, PAGE, "a page with a next cursor is full");
    }
    cursor = page.nextCursor;
    assert.ok(pages < 1000, "paging terminates");
  } while (cursor);
  assert.ok(pages >= Math.ceil(COUNT / PAGE), `at least ${Math.ceil(COUNT / PAGE)} pages`);
  for (const user of created) {
    assert.ok(seen.has(user.id), `created user ${user.id} was listed`);
    assert.equal(seen.get(user.id).primaryEmail, user.primaryEmail);
  }
  const listRequests = requestsSince(mark, "GET", "/api/v1/users");
  assert.equal(listRequests.length, pages);

  // Free-text search finds exactly this run's users.
  const found = await app.listUsers({ query: RUN_TAG });
  assert.deepEqual(
    found.map((u) => u.id).sort(),
    created.map((u) => u.id).sort(),
    "listUsers({query}) returns the users whose display name matches",
  );

  // Read one back by id.
  const target = created[2];
  const read = await app.getUser(target.id);
  assert.ok(read, "getUser(id) finds the user");
  assert.equal(read.id, target.id);
  assert.equal(read.primaryEmail, target.primaryEmail);
  assert.equal(read.displayName, target.displayName);
  assert.ok(read.signedUpAt instanceof Date);
  assert.ok(read.lastActiveAt instanceof Date);
  assert.equal(await app.getUser(randomUUID()), null, "an unknown id is null");

  // The password given to createUser works for a client sign-in.
  const client = clientApp();
  await signIn(client, target.primaryEmail);
  assert.equal((await client.getUser()).id, target.id);

  // Update server-side fields, then re-read.
  await read.update({
    displayName: "Robert",
    serverMetadata: { plan: "pro", seats: 3 },
    clientReadOnlyMetadata: { verifiedBy: "admin" },
  });
  const reread = await app.getUser(target.id);
  assert.equal(reread.displayName, "Robert");
  assert.deepEqual(reread.serverMetadata, { plan: "pro", seats: 3 });
  assert.deepEqual(reread.clientReadOnlyMetadata, { verifiedBy: "admin" });
  assert.deepEqual(reread.clientMetadata, { index: 2 }, "fields not sent are unchanged");
  // The signed-in client sees the change too (server metadata stays server-only).
  const clientView = await client.getUser();
  assert.equal(clientView.displayName, "Robert");
  assert.deepEqual(clientView.clientReadOnlyMetadata, { verifiedBy: "admin" });
  assert.equal(clientView.serverMetadata, undefined);

  // Delete: gone for getUser, gone from the list, and its session ends.
  const clientTokens = await clientView.currentSession.getTokens();
  await reread.delete();
  assert.equal(await app.getUser(target.id), null, "getUser(id) is null after delete");
  const after = await app.listUsers({ query: RUN_TAG });
  assert.deepEqual(
    after.map((u) => u.id).sort(),
    created
      .filter((u) => u.id !== target.id)
      .map((u) => u.id)
      .sort(),
  );
  const stale = clientApp({ tokenStore: clientTokens });
  assert.equal(await stale.getUser(), null, "the deleted user's session no longer works");
});
