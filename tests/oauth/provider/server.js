// A real OpenID provider (node-oidc-provider, a certified implementation) on loopback for the
// OAuth tests; tests/oauth/conftest.py starts it. Its development interactions are on: the login
// form accepts any login (the account's `sub`), and a consent form follows.
//
// Clients:
//   - one per built-in provider id, as Stack Auth's MOCK convention expects: client id = the
//     provider id, secret MOCK-SERVER-SECRET, redirect URI <API_URL>/api/v1/auth/oauth/callback/<id>;
//   - "generic-oidc" (secret GENERIC_SECRET) for the generic OpenID Connect provider, with one
//     redirect URI per config id in GENERIC_CONFIG_IDS.
//
// Accounts: any login is a `sub`. The claims say email = sub, verified, except for a login
// "unverified:<address>", whose email is <address> with email_verified false.
//
// Environment: PORT (required), API_URL (required), GENERIC_SECRET, GENERIC_CONFIG_IDS.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const PROVIDER_IDS = [
  'github', 'google', 'microsoft', 'discord', 'gitlab', 'bitbucket',
  'linkedin', 'spotify', 'twitch', 'x', 'facebook', 'apple',
];
const MOCK_SECRET = 'MOCK-SERVER-SECRET';

const port = Number(process.env.PORT);
const apiUrl = process.env.API_URL;
if (!port || !apiUrl) {
  throw new Error('PORT and API_URL are required');
}
const genericSecret = process.env.GENERIC_SECRET ?? 'generic-oidc-secret';
const genericIds = (process.env.GENERIC_CONFIG_IDS ?? 'acme-sso').split(',').filter(Boolean);
const issuer = `http://127.0.0.1:${port}`;
const callback = (id) => `${apiUrl}/api/v1/auth/oauth/callback/${id}`;

const clients = [
  ...PROVIDER_IDS.map((id) => ({
    client_id: id,
    client_secret: MOCK_SECRET,
    redirect_uris: [callback(id)],
    grant_types: ['authorization_code', 'refresh_token'],
  })),
  {
    client_id: 'generic-oidc',
    client_secret: genericSecret,
    redirect_uris: genericIds.map(callback),
    grant_types: ['authorization_code', 'refresh_token'],
  },
];

const UNVERIFIED = 'unverified:';

function claimsOf(sub) {
  if (sub.startsWith(UNVERIFIED)) {
    return { sub, email: sub.slice(UNVERIFIED.length), email_verified: false };
  }
  return { sub, email: sub, email_verified: true, name: `Name of ${sub}` };
}

const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });

const provider = new Provider(issuer, {
  clients,
  jwks: { keys: [{ ...signingKey, kid: 'test-signing-key', use: 'sig', alg: 'RS256' }] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  // Every client must send PKCE, so the tests prove the API does towards the provider.
  pkce: { required: () => true },
  // Revocation (RFC 7009): the connected-account tests withdraw a grant as a user would.
  features: { devInteractions: { enabled: true }, revocation: { enabled: true } },
  findAccount: async (ctx, sub) => ({
    accountId: sub,
    async claims() {
      return claimsOf(sub);
    },
  }),
});

// RFC 7009 revocation takes the whole grant with any of its tokens (oidc-provider's way); this
// test-only route ends one access token alone, as a provider that expires or revokes a single
// token would (GitHub does), so that the refresh token can still get a new one.
async function revokeAccessTokenOnly(req, res) {
  let body = '';
  for await (const chunk of req) body += chunk;
  const found = await provider.AccessToken.find(new URLSearchParams(body).get('token') ?? '');
  if (found) await found.destroy();
  res.writeHead(found ? 200 : 404).end();
}

const handle = provider.callback();
createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/test/revoke-access-token') {
    revokeAccessTokenOnly(req, res).catch(() => res.writeHead(500).end());
    return;
  }
  handle(req, res);
}).listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening ${issuer}\n`);
});
