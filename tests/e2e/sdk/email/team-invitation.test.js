// Team invitation by email through the official SDK: invite → mail → code → details → accept.
//
// Environment (set by tests/e2e/test_sdk_email.py), besides the harness's:
//   AUTHSTACK_MAIL_URL   base URL of the mail sink's JSON API (scripts/mail_sink.py)

import assert from "node:assert/strict";
import { test } from "node:test";

import { clientApp, serverApp, signedUpUser, signUp, sleep, uniqueEmail } from "../lib/harness.js";

const MAIL_URL = process.env.AUTHSTACK_MAIL_URL;
if (!MAIL_URL) throw new Error("AUTHSTACK_MAIL_URL is required (run through tests/e2e/test_sdk_email.py)");
const CALLBACK = "http://localhost:3000/handler/team-invitation";

async function invitationMailTo(to, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await fetch(`${MAIL_URL}/api/messages?to=${encodeURIComponent(to)}`);
    const { messages } = await response.json();
    const found = messages.find((m) => m.text.includes(`${CALLBACK}?code=`));
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no invitation mail to ${to} after ${timeoutMs} ms`);
    await sleep(100);
  }
}

test("inviteUser → the link's code from the mailbox → details → acceptTeamInvitation", async () => {
  const { user: ownerUser } = await signedUpUser("inviter");
  await serverApp().createTeam({ displayName: "Mailed Team", creatorUserId: ownerUser.id });
  const [team] = await ownerUser.listTeams();
  assert.ok(team, "the owner is in the team");

  const inviteeEmail = uniqueEmail("invitee");
  await team.inviteUser({ email: inviteeEmail, callbackUrl: CALLBACK });
  const message = await invitationMailTo(inviteeEmail);
  assert.match(message.subject, /Mailed Team/);
  const code = /[?&]code=([0-9a-z]{45})\b/.exec(message.text)[1];

  // The invitee signs up with another address: a code link works for whoever holds it.
  const invitee = clientApp();
  await signUp(invitee, uniqueEmail("joiner"));
  const details = await invitee.getTeamInvitationDetails(code);
  assert.equal(details.status, "ok", `details: ${details.error?.errorCode}`);
  assert.deepEqual(details.data, { teamDisplayName: "Mailed Team" });
  assert.equal((await invitee.verifyTeamInvitationCode(code)).status, "ok");

  const accepted = await invitee.acceptTeamInvitation(code);
  assert.equal(accepted.status, "ok", `accept: ${accepted.error?.errorCode}`);
  const inviteeUser = await invitee.getUser();
  assert.deepEqual((await inviteeUser.listTeams()).map((t) => t.id), [team.id]);

  const again = await invitee.acceptTeamInvitation(code);
  assert.equal(again.status, "error");
  assert.equal(again.error.errorCode, "VERIFICATION_CODE_ALREADY_USED");
  assert.deepEqual(await team.listInvitations(), [], "the accepted invitation is spent");
});
