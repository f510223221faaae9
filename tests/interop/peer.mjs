// Node peer for the gatepass interop test (driven by run_interop.sh).
//   node peer.mjs sign   LIB ALG PRIVATE_PEM ISS AUD [KID]   -> prints a token (LIB: jose | jsonwebtoken)
//   node peer.mjs verify ALG PUBLIC_PEM ISS AUD TOKEN         -> exit 0 valid, 1 rejected (jose jwtVerify)
//   node peer.mjs jwks   ALG:KID:PUBLIC_PEM ...               -> prints a JWKS built with jose exportJWK
//   node peer.mjs tamper TOKEN                                -> same header and signature, altered payload
import { readFileSync } from 'node:fs';
import * as jose from 'jose';
import jsonwebtoken from 'jsonwebtoken';

const [cmd, ...args] = process.argv.slice(2);
const read = (f) => readFileSync(f, 'utf8');

async function sign([lib, alg, keyFile, iss, aud, kid]) {
  const pem = read(keyFile);
  const claims = { sub: `node-${lib}`, scope: 'read write' };
  if (lib === 'jose') {
    const key = await jose.importPKCS8(pem, alg);
    const header = { alg, typ: 'JWT' };
    if (kid) header.kid = kid;
    return new jose.SignJWT(claims)
      .setProtectedHeader(header)
      .setIssuer(iss)
      .setAudience(aud)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(key);
  }
  if (lib === 'jsonwebtoken') {
    const opts = { algorithm: alg, issuer: iss, audience: aud, expiresIn: '10m' };
    if (kid) opts.keyid = kid;
    return jsonwebtoken.sign(claims, pem, opts);
  }
  throw new Error(`unknown library ${lib}`);
}

async function verify([alg, keyFile, iss, aud, token]) {
  const key = await jose.importSPKI(read(keyFile), alg);
  const { payload } = await jose.jwtVerify(token, key, { issuer: iss, audience: aud, algorithms: [alg] });
  return JSON.stringify(payload);
}

async function jwks(specs) {
  const keys = [];
  for (const spec of specs) {
    const [alg, kid, file] = spec.split(':');
    const jwk = await jose.exportJWK(await jose.importSPKI(read(file), alg, { extractable: true }));
    keys.push({ ...jwk, kid, alg, use: 'sig' });
  }
  return JSON.stringify({ keys }, null, 2);
}

function tamper([token]) {
  const [h, p, s] = token.split('.');
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  claims.sub = 'attacker';
  claims.scope = 'admin';
  return [h, Buffer.from(JSON.stringify(claims)).toString('base64url'), s].join('.');
}

try {
  const out = { sign, verify, jwks, tamper }[cmd];
  if (!out) throw new Error(`usage: peer.mjs sign|verify|jwks|tamper ...`);
  console.log(await out(args));
} catch (e) {
  console.error(`node: ${e.code ?? e.name}: ${e.message}`);
  process.exit(1);
}
