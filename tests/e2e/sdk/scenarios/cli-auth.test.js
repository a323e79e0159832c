// CLI sign-in through the official SDK's promptCliLogin: the CLI starts and polls, a signed-in
// "browser" completes the login code it was prompted with (over REST, as the SDK's confirm page
// does), and the refresh token promptCliLogin resolves to signs the CLI in.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  clientApp,
  requests,
  requestsSince,
  signedUpUser,
  signUp,
  sleep,
  uniqueEmail,
} from "../lib/harness.js";

const APP_URL = "http://localhost:3000";

// The SDK's own internals, as its CLI confirm page reaches them (sendRequest, signInWithTokens).
const INTERNALS = Symbol.for("StackAuth--DO-NOT-USE-OR-YOU-WILL-BE-FIRED--StackAppInternals");

/** POST /auth/cli/complete as the SDK's confirm page sends it: with `browser`'s session. */
async function completeRequest(browser, body) {
  const response = await browser[INTERNALS].sendRequest("/auth/cli/complete", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.text() };
}

/** Run promptCliLogin; `browser(loginCode)` runs once the CLI has polled "waiting" a time. */
async function cliLogin(cli, browser, options = {}) {
  const prompted = [];
  let browserDone;
  const mark = requests.length;
  const result = await cli.promptCliLogin({
    appUrl: APP_URL,
    waitTimeMillis: 100,
    maxAttempts: 200,
    ...options,
    promptLink: (url, loginCode) => {
      prompted.push({ url, loginCode });
      browserDone = (async () => {
        while (requestsSince(mark, "POST", "/api/v1/auth/cli/poll").length === 0) {
          await sleep(20);
        }
        await browser(loginCode);
      })();
    },
  });
  await browserDone;
  assert.equal(prompted.length, 1, "promptLink is called once");
  const link = new URL(prompted[0].url);
  assert.equal(link.origin, APP_URL);
  assert.equal(link.searchParams.get("login_code"), prompted[0].loginCode);
  const polls = requestsSince(mark, "POST", "/api/v1/auth/cli/poll");
  assert.ok(polls.length >= 2, "the CLI polled while it waited, then once more");
  assert.deepEqual(polls.slice(0, -1).map((r) => r.status), polls.slice(0, -1).map(() => 200));
  return { result, polls };
}

/** The user a CLI with only `refreshToken` is signed in as, read through the SDK. */
async function userOfRefreshToken(refreshToken, options) {
  const app = clientApp({ tokenStore: { accessToken: null, refreshToken } });
  return await app.getUser(options);
}

test("promptCliLogin resolves to a working refresh token once a signed-in browser completes", async () => {
  const { app: browser, user } = await signedUpUser("cli-browser");
  const browserTokens = await user.currentSession.getTokens();

  const { result, polls } = await cliLogin(clientApp(), async (loginCode) => {
    const done = await completeRequest(browser, {
      login_code: loginCode,
      refresh_token: browserTokens.refreshToken,
    });
    assert.deepEqual(done, { status: 200, body: JSON.stringify({ success: true }) });
  });

  assert.equal(result.status, "ok", `promptCliLogin failed: ${result.error?.message}`);
  assert.equal(polls.at(-1).status, 201, "the SDK takes the token from the 201");
  const refreshToken = result.data;
  assert.equal(typeof refreshToken, "string");
  assert.notEqual(refreshToken, browserTokens.refreshToken, "the CLI has a session of its own");
  const cliUser = await userOfRefreshToken(refreshToken);
  assert.ok(cliUser, "the CLI's refresh token signs it in");
  assert.equal(cliUser.id, user.id);
  assert.equal(cliUser.primaryEmail, user.primaryEmail);
});

test("promptCliLogin with the CLI's anonymous session: the browser claims it, signs up, completes", async () => {
  const cli = clientApp();
  const anonymous = await cli.getUser({ or: "anonymous" });
  const anonTokens = await anonymous.currentSession.getTokens();

  const { result } = await cliLogin(
    cli,
    async (loginCode) => {
      // A browser with nobody signed in, as the confirm page finds it.
      const browser = clientApp();
      const check = await completeRequest(browser, { login_code: loginCode, mode: "check" });
      assert.deepEqual(JSON.parse(check.body), { cli_session_state: "anonymous" });
      const claim = await completeRequest(browser, {
        login_code: loginCode,
        mode: "claim-anon-session",
      });
      assert.equal(claim.status, 200, claim.body);
      const claimed = JSON.parse(claim.body);
      // The page signs in with the claimed tokens, then that anonymous user signs up.
      await browser[INTERNALS].signInWithTokens({
        accessToken: claimed.access_token,
        refreshToken: claimed.refresh_token,
      });
      await signUp(browser, uniqueEmail("cli-upgraded"));
      const upgraded = await browser.getUser();
      assert.equal(upgraded.id, anonymous.id, "the browser signed the CLI's anonymous user up");
      const tokens = await upgraded.currentSession.getTokens();
      const done = await completeRequest(browser, {
        login_code: loginCode,
        refresh_token: tokens.refreshToken,
      });
      assert.equal(done.status, 200, done.body);
    },
    { anonRefreshToken: anonTokens.refreshToken },
  );

  assert.equal(result.status, "ok", `promptCliLogin failed: ${result.error?.message}`);
  const cliUser = await userOfRefreshToken(result.data);
  assert.equal(cliUser.id, anonymous.id);
  assert.equal(cliUser.isAnonymous, false);
});

test("promptCliLogin reports an expired attempt as CLI_AUTH_EXPIRED_ERROR", async () => {
  const result = await clientApp().promptCliLogin({
    appUrl: APP_URL,
    expiresInMillis: 300,
    waitTimeMillis: 200,
    maxAttempts: 20,
    promptLink: () => {},
  });
  assert.equal(result.status, "error");
  assert.equal(result.error.errorCode, "CLI_AUTH_EXPIRED_ERROR");
});
