// Used by tests/dashboard: the official SDK signs a new user up with keys copied from the
// dashboard, then prints {"user_id", "email"} as JSON. Environment as in lib/harness.js, plus
// SIGN_UP_EMAIL.
import assert from "node:assert/strict";

import { clientApp, SDK_VERSION, signUp } from "../lib/harness.js";

const email = process.env.SIGN_UP_EMAIL;
assert.ok(email, "SIGN_UP_EMAIL is required");
const app = clientApp();
await signUp(app, email);
const user = await app.getUser();
assert.ok(user, "getUser() returns the new user");
assert.equal(user.primaryEmail, email);
console.log(JSON.stringify({ user_id: user.id, email: user.primaryEmail, sdk: SDK_VERSION }));
process.exit(0);
