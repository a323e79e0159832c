// Shared set-up for the SDK scenarios: which SDK to load, where the API is, app factories,
// and a fetch spy that records what the SDK actually sent.
//
// Environment (set by tests/e2e/test_sdk.py):
//   SDK_PACKAGE            "@stackframe/js" (2.8.108) or "stackframe-js-2-8-102" (npm alias)
//   SDK_EXPECTED_VERSION   optional; the installed version of SDK_PACKAGE must equal it
//   AUTHSTACK_API_URL      base URL of the running API, e.g. http://127.0.0.1:41234
//   AUTHSTACK_PROJECT_ID   project to use
//   AUTHSTACK_PUBLISHABLE_CLIENT_KEY, AUTHSTACK_SECRET_SERVER_KEY   that project's keys

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";

function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`environment variable ${name} is required (run through tests/e2e/test_sdk.py)`);
  }
  return value;
}

export const SDK_PACKAGE = process.env.SDK_PACKAGE || "@stackframe/js";
export const SDK_VERSION = JSON.parse(
  readFileSync(new URL(`../node_modules/${SDK_PACKAGE}/package.json`, import.meta.url), "utf8"),
).version;
if (process.env.SDK_EXPECTED_VERSION) {
  assert.equal(SDK_VERSION, process.env.SDK_EXPECTED_VERSION, `installed ${SDK_PACKAGE} version`);
}
// 2.8.108 renamed every request header from x-stack-* to x-hexclave-*.
export const HEADER_PREFIX = SDK_VERSION === "2.8.102" ? "x-stack-" : "x-hexclave-";

export const config = {
  baseUrl: required("AUTHSTACK_API_URL"),
  projectId: required("AUTHSTACK_PROJECT_ID"),
  publishableClientKey: required("AUTHSTACK_PUBLISHABLE_CLIENT_KEY"),
  secretServerKey: required("AUTHSTACK_SECRET_SERVER_KEY"),
};

export const PASSWORD = "correct-horse-battery-staple-1";
export const VERIFICATION_CALLBACK_URL = "http://localhost:3000/handler/email-verification";

// ---------------------------------------------------------------------------------------------
// Fetch spy. Installed before the SDK is imported so that every request it makes (including the
// token endpoint, sent by the bundled oauth4webapi) is recorded.

/** @type {{method: string, path: string, headers: Record<string, string>, status: number}[]} */
export const requests = [];
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init = {}) => {
  const request = new Request(input, init);
  const headers = Object.fromEntries([...request.headers].map(([k, v]) => [k.toLowerCase(), v]));
  const entry = { method: request.method, path: new URL(request.url).pathname, headers, status: 0 };
  requests.push(entry);
  const response = await realFetch(input, init);
  entry.status = response.status;
  return response;
};

/** Requests recorded since `mark` (a previous `requests.length`) matching method and path. */
export function requestsSince(mark, method, path) {
  return requests.slice(mark).filter((r) => r.method === method && r.path === path);
}

export const TOKEN_PATH = "/api/v1/auth/oauth/token";

const sdk = await import(SDK_PACKAGE);
export const { StackClientApp, StackServerApp } = sdk;

// ---------------------------------------------------------------------------------------------

export function clientApp(overrides = {}) {
  return new StackClientApp({
    baseUrl: config.baseUrl,
    projectId: config.projectId,
    publishableClientKey: config.publishableClientKey,
    tokenStore: "memory",
    redirectMethod: "none",
    ...overrides,
  });
}

export function serverApp(overrides = {}) {
  return new StackServerApp({
    baseUrl: config.baseUrl,
    projectId: config.projectId,
    publishableClientKey: config.publishableClientKey,
    secretServerKey: config.secretServerKey,
    tokenStore: "memory",
    redirectMethod: "none",
    ...overrides,
  });
}

const RUN = `${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
let counter = 0;

/** A unique tag for this process, to find what it created (e.g. with listUsers({query})). */
export const RUN_TAG = `sdk${SDK_VERSION.replaceAll(".", "")}-${RUN}`;

export function uniqueEmail(label) {
  counter += 1;
  return `${label}-${RUN_TAG}-${counter}@example.com`;
}

export async function signUp(app, email, password = PASSWORD) {
  const result = await app.signUpWithCredential({
    email,
    password,
    verificationCallbackUrl: VERIFICATION_CALLBACK_URL,
    noRedirect: true,
  });
  assert.equal(result.status, "ok", `sign-up failed: ${result.error?.errorCode} ${result.error?.message}`);
  return result;
}

/** A new client app whose new password user (`label`'s unique address) is signed in. */
export async function signedUpUser(label) {
  const app = clientApp();
  const email = uniqueEmail(label);
  await signUp(app, email);
  const user = await app.getUser();
  assert.ok(user, `${label} is signed in after sign-up`);
  return { app, email, user };
}

export async function signIn(app, email, password = PASSWORD) {
  const result = await app.signInWithCredential({ email, password, noRedirect: true });
  assert.equal(result.status, "ok", `sign-in failed: ${result.error?.errorCode} ${result.error?.message}`);
  return result;
}

/** The payload of a JWT, not verified (the SDK does not verify it either). */
export function decodeJwt(token) {
  assert.equal(typeof token, "string", "expected a JWT string");
  const parts = token.split(".");
  assert.equal(parts.length, 3, "a JWT has three parts");
  return JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
}

export async function tokensOf(app) {
  const user = await app.getUser();
  assert.ok(user, "expected a signed-in user");
  return user.currentSession.getTokens();
}

/**
 * Run `fn`, expecting it to reject with a Stack known error of the given code; returns the error.
 * The SDK throws KnownError instances carrying `errorCode` and the HTTP `statusCode`.
 */
export async function rejectsWithCode(fn, code, statusCode) {
  let caught;
  try {
    await fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught, `expected a ${code} error, but the call succeeded`);
  assert.equal(caught.errorCode, code, `unexpected error: ${caught.stack ?? caught}`);
  assert.match(String(caught.message), /\S/);
  if (statusCode !== undefined) {
    assert.equal(caught.statusCode, statusCode);
  }
  return caught;
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
