// Teams through the official SDK: create, list, invite by email, accept, list members, grant and
// check a permission, leave.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  clientApp,
  PASSWORD,
  requests,
  requestsSince,
  serverApp,
  signedUpUser,
  signIn,
  uniqueEmail,
  UUID,
} from "../lib/harness.js";

const INVITE_CALLBACK = "http://localhost:3000/handler/team-invitation";

/** A user whose email is already verified (invitations by id need a verified address). */
async function verifiedUser(label) {
  const email = uniqueEmail(label);
  await serverApp().createUser({
    primaryEmail: email,
    password: PASSWORD,
    primaryEmailVerified: true,
    primaryEmailAuthEnabled: true,
    displayName: `${label} person`,
  });
  const app = clientApp();
  await signIn(app, email);
  const user = await app.getUser();
  assert.ok(user, `${label} is signed in`);
  return { app, user, email };
}

test("create a team, invite by email, accept, list members, grant and check a permission", async () => {
  const { user: ownerUser } = await signedUpUser("owner");

  const mark = requests.length;
  const team = await ownerUser.createTeam({ displayName: "SDK Team" });
  assert.match(team.id, UUID);
  assert.equal(team.displayName, "SDK Team");
  const create = requestsSince(mark, "POST", "/api/v1/teams")[0];
  assert.equal(create.status, 201);

  // The creator holds team_admin, so every system permission (nested) and the team is listed.
  assert.equal(await ownerUser.hasPermission(team, "team_admin"), true);
  assert.equal(await ownerUser.hasPermission(team, "$update_team"), true);
  assert.equal(await ownerUser.hasPermission(team, "$manage_api_keys"), true);
  const myTeams = await ownerUser.listTeams();
  assert.deepEqual(myTeams.map((t) => t.id), [team.id]);

  // Invite a second user by email; they see the invitation and accept it.
  const invitee = await verifiedUser("invitee");
  await team.inviteUser({ email: invitee.email, callbackUrl: INVITE_CALLBACK });
  const sent = await team.listInvitations();
  assert.equal(sent.length, 1);
  assert.equal(sent[0].recipientEmail, invitee.email);
  assert.ok(sent[0].expiresAt instanceof Date && sent[0].expiresAt.getTime() > Date.now());

  const received = await invitee.user.listTeamInvitations();
  assert.equal(received.length, 1);
  assert.equal(received[0].teamId, team.id);
  assert.equal(received[0].teamDisplayName, "SDK Team");
  await received[0].accept();
  assert.deepEqual((await invitee.user.listTeams()).map((t) => t.id), [team.id]);
  assert.deepEqual(await team.listInvitations(), [], "the accepted invitation is spent");

  // Members, with their team profiles.
  const members = await team.listUsers();
  assert.deepEqual(new Set(members.map((m) => m.id)), new Set([ownerUser.id, invitee.user.id]));
  const inviteeProfile = members.find((m) => m.id === invitee.user.id).teamProfile;
  assert.equal(inviteeProfile.displayName, "invitee person");

  // A plain member lacks $update_team until the server grants it.
  const inviteeTeam = await invitee.user.getTeam(team.id);
  assert.ok(inviteeTeam, "the member can read the team");
  assert.equal(await invitee.user.hasPermission(inviteeTeam, "$update_team"), false);
  assert.equal(await invitee.user.hasPermission(inviteeTeam, "$read_members"), true);
  const serverInvitee = await serverApp().getUser(invitee.user.id);
  await serverInvitee.grantPermission(inviteeTeam, "$update_team");
  assert.equal(await invitee.user.hasPermission(inviteeTeam, "$update_team"), true);
  await inviteeTeam.update({ displayName: "Renamed by member" });
  const serverTeam = await serverApp().getTeam(team.id);
  assert.equal(serverTeam.displayName, "Renamed by member");

  // Leaving removes the membership and its permissions at once.
  await invitee.user.leaveTeam(inviteeTeam);
  assert.deepEqual(await invitee.user.listTeams(), []);
  assert.equal(await serverInvitee.hasPermission(serverTeam, "$update_team"), false);
});

test("the server creates teams, adds members and lists them", async () => {
  const app = serverApp();
  const member = await app.createUser({ primaryEmail: uniqueEmail("member"), primaryEmailAuthEnabled: true });
  const mark = requests.length;
  const team = await app.createTeam({ displayName: "Server Team", creatorUserId: member.id });
  assert.equal(requestsSince(mark, "POST", "/api/v1/teams")[0].status, 201);
  assert.ok(team.createdAt instanceof Date);
  const other = await app.createUser({ primaryEmail: uniqueEmail("other"), primaryEmailAuthEnabled: true });
  await team.addUser(other.id);
  const users = await team.listUsers();
  assert.deepEqual(new Set(users.map((u) => u.id)), new Set([member.id, other.id]));
  assert.ok((await app.listTeams()).some((t) => t.id === team.id));
  await team.update({ serverMetadata: { plan: "pro" } });
  assert.deepEqual((await app.getTeam(team.id)).serverMetadata, { plan: "pro" });
  await team.removeUser(other.id);
  assert.deepEqual((await team.listUsers()).map((u) => u.id), [member.id]);
  await team.delete();
  assert.equal(await app.getTeam(team.id), null);
});
