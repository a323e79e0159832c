// Shared by the browser apps (oauth/app.js, dashboard/impersonation-app.js): the SDK app made from
// the config the page sets (window.AUTHSTACK = {baseUrl, projectId, publishableClientKey}), and
// what the app tells the test driving it: attributes of <body>, which Playwright waits for.
//   data-ready     the app's script ran
//   data-user      the signed-in user, {id, primaryEmail} (null fields when none)
//   data-error     any failure: "<known error code> <message>"

import { StackClientApp } from "@stackframe/js";

export function createApp(urls) {
  const config = window.AUTHSTACK;
  return new StackClientApp({
    baseUrl: config.baseUrl,
    projectId: config.projectId,
    publishableClientKey: config.publishableClientKey,
    tokenStore: "cookie",
    urls,
  });
}

export function report(key, value) {
  document.body.dataset[key] = typeof value === "string" ? value : JSON.stringify(value);
}

export function fail(error) {
  report("error", `${error?.errorCode ?? ""} ${error?.message ?? error}`);
}

export function reportUser(app) {
  app
    .getUser()
    .then((user) => report("user", { id: user?.id ?? null, primaryEmail: user?.primaryEmail ?? null }))
    .catch(fail);
}
