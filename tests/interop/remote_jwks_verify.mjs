// Node peer for issuer_interop.sh: a relying party that knows only the issuer URL.
//   node remote_jwks_verify.mjs flow ISSUER AUD CLIENT_ID CLIENT_SECRET SCOPE
//       discovery document -> token_endpoint (client_secret_basic) -> jwks_uri with jose
//       createRemoteJWKSet + jwtVerify; prints the verified payload as JSON
//   node remote_jwks_verify.mjs verify ISSUER AUD TOKEN
//       verifies TOKEN (e.g. from `gatepass token issue`) through the discovery document's jwks_uri
//   node remote_jwks_verify.mjs tampered ISSUER AUD TOKEN
//       exit 0 when the same token with an altered payload is REJECTED
// Exit 0 on success, 1 otherwise (message on stderr).
import * as jose from 'jose';

const [cmd, ...args] = process.argv.slice(2);

// RFC 8414 §3 / OIDC Discovery §4: <issuer>/.well-known/openid-configuration; an issuer
// ending with '/' does not get a second one.
async function discover(issuer) {
  const url = issuer.replace(/\/$/, '') + '/.well-known/openid-configuration';
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  const doc = await res.json();
  if (doc.issuer !== issuer) throw new Error(`discovery issuer ${JSON.stringify(doc.issuer)} is not ${JSON.stringify(issuer)}`);
  if (!doc.jwks_uri) throw new Error('discovery document has no jwks_uri');
  return doc;
}

async function verifyRemote(doc, aud, token) {
  const JWKS = jose.createRemoteJWKSet(new URL(doc.jwks_uri));
  const { payload, protectedHeader } = await jose.jwtVerify(token, JWKS, {
    issuer: doc.issuer,
    audience: aud,
    typ: 'at+jwt',
  });
  return { header: protectedHeader, payload };
}

async function flow([issuer, aud, clientId, secret, scope]) {
  const doc = await discover(issuer);
  if (!doc.token_endpoint) throw new Error('discovery document has no token_endpoint');
  if (!(doc.grant_types_supported ?? []).includes('client_credentials'))
    throw new Error('client_credentials is not in grant_types_supported');
  const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64');
  const res = await fetch(doc.token_endpoint, {
    method: 'POST',
    headers: { Authorization: `Basic ${basic}`, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope }).toString(),
  });
  const body = await res.json();
  if (!res.ok) throw new Error(`POST ${doc.token_endpoint}: HTTP ${res.status} ${JSON.stringify(body)}`);
  if (body.token_type !== 'Bearer') throw new Error(`token_type ${body.token_type}`);
  const { header, payload } = await verifyRemote(doc, aud, body.access_token);
  if (payload.client_id !== clientId) throw new Error(`client_id ${payload.client_id}`);
  if (payload.scope !== scope) throw new Error(`scope ${payload.scope}, asked for ${scope}`);
  return JSON.stringify({ kid: header.kid, alg: header.alg, ...payload });
}

async function verify([issuer, aud, token]) {
  const { header, payload } = await verifyRemote(await discover(issuer), aud, token);
  return JSON.stringify({ kid: header.kid, alg: header.alg, ...payload });
}

async function tampered([issuer, aud, token]) {
  const [h, p, s] = token.split('.');
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  claims.scope = 'ADMIN ROOT';
  const forged = [h, Buffer.from(JSON.stringify(claims)).toString('base64url'), s].join('.');
  try {
    await verifyRemote(await discover(issuer), aud, forged);
  } catch (e) {
    return `rejected: ${e.code ?? e.name}`;
  }
  throw new Error('a tampered token was accepted');
}

try {
  const fn = { flow, verify, tampered }[cmd];
  if (!fn) throw new Error('usage: remote_jwks_verify.mjs flow|verify|tampered ...');
  console.log(await fn(args));
} catch (e) {
  console.error(`node: ${e.code ?? e.name}: ${e.message}`);
  process.exit(1);
}
