// Node peer for issuer_interop.sh: the classic tutorial setup, verifying with jsonwebtoken and
// the PEM public key of `openssl genrsa`'s key (no JWKS, no kid lookup).
//   node classic_jsonwebtoken_verify.mjs PUBLIC_PEM ISSUER AUD TOKEN
// Prints the verified payload; exit 1 when jsonwebtoken rejects the token.
import { readFileSync } from 'node:fs';
import jsonwebtoken from 'jsonwebtoken';

const [pemFile, issuer, audience, token] = process.argv.slice(2);
try {
  const publicPem = readFileSync(pemFile, 'utf8');
  const payload = jsonwebtoken.verify(token, publicPem, { algorithms: ['RS256'], audience, issuer });
  console.log(JSON.stringify(payload));
} catch (e) {
  console.error(`node jsonwebtoken: ${e.name}: ${e.message}`);
  process.exit(1);
}
