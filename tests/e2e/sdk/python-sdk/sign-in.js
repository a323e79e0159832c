// Signs a password user in with the official JS SDK and prints what a browser app would send to
// its own backend: the access token, the refresh token and the SDK's `getAuthHeaders()`.
// Run by tests/sdk/test_frameworks.py (the Python SDK's framework examples):
//   SDK_PACKAGE=@stackframe/js AUTHSTACK_API_URL=... AUTHSTACK_PROJECT_ID=...
//   AUTHSTACK_PUBLISHABLE_CLIENT_KEY=... SIGN_IN_EMAIL=... SIGN_IN_PASSWORD=... node sign-in.js

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is required`);
  return value;
}

const { StackClientApp } = await import(process.env.SDK_PACKAGE || "@stackframe/js");
const app = new StackClientApp({
  baseUrl: required("AUTHSTACK_API_URL"),
  projectId: required("AUTHSTACK_PROJECT_ID"),
  publishableClientKey: required("AUTHSTACK_PUBLISHABLE_CLIENT_KEY"),
  tokenStore: "memory",
  redirectMethod: "none",
});
const result = await app.signInWithCredential({
  email: required("SIGN_IN_EMAIL"),
  password: required("SIGN_IN_PASSWORD"),
  noRedirect: true,
});
if (result.status !== "ok") {
  throw new Error(`sign-in failed: ${result.error?.errorCode} ${result.error?.message}`);
}
const user = await app.getUser({ or: "throw" });
const auth = await user.getAuthJson();
process.stdout.write(
  JSON.stringify({
    userId: user.id,
    accessToken: auth.accessToken,
    refreshToken: auth.refreshToken,
    authHeaders: await user.getAuthHeaders(),
  }) + "\n",
);
// The SDK keeps sockets alive; nothing else is pending.
process.exit(0);
