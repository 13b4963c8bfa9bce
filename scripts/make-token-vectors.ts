/**
 * Writes test/vectors/encapsulated-tokens.json: known-answer vectors for the encapsulated token
 * codec (src/auth/encapsulated-tokens.ts), run by test/auth/token-vectors.test.ts.
 *
 *   npx tsx scripts/make-token-vectors.ts
 *
 * The tokens are built here with node:crypto alone, apart from the codec they check, and the
 * reasons are written by hand: regenerating must never copy the verifier's current opinion into
 * the expectations. The output is deterministic (fixed keys, times and jtis), so running this
 * again gives the same file; a changed file in a diff means the vectors themselves changed.
 * The keys are test keys derived from public labels: never use them anywhere else.
 */
import { createHash, createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const OUT = fileURLToPath(new URL('../test/vectors/encapsulated-tokens.json', import.meta.url));

/** Mirrors src/crypto/keys.ts on purpose (the test checks both agree): first 16 hex of SHA-256. */
const kidOf = (key: Buffer) => createHash('sha256').update(key).digest('hex').slice(0, 16);
const testKey = (label: string) => createHash('sha256').update(`capsule token vectors: ${label}`).digest();

const CURRENT = testKey('current HMAC key');
const RETIRED = testKey('retired HMAC key');
/** Held by no instance: what an attacker without the farm's key signs with. */
const FOREIGN = testKey('a key no instance holds');

/** 2026-01-01T00:00:00Z, in ms; every vector's `nowMs` is this unless it says otherwise. */
const NOW_MS = 1_767_225_600_000;
const NOW = NOW_MS / 1000;
const SKEW = 60;
const IAT = NOW - 600;
const EXP = IAT + 43_200;

type Json = Record<string, unknown>;

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
const json = (value: unknown) => b64(JSON.stringify(value));
const hs256 = (key: Buffer, input: string) => createHmac('sha256', key).update(input).digest('base64url');

/** Header exactly as Capsule writes it: alg, typ, kid in this order. */
const header = (kid: string, extra: Json = {}): Json => ({ alg: 'HS256', typ: 'JWT', kid, ...extra });
/** Claims exactly as Capsule writes them: sub, iat, exp, jti, gen (then sid, when the token has a session) in this order. */
const claims = (extra: Json = {}): Json => ({ sub: 'alice', iat: IAT, exp: EXP, jti: 'vector-jti-0001', gen: 0, ...extra });

/** A compact JWS over already encoded parts, signed with `key` (HS256). */
function signParts(headerPart: string, payloadPart: string, key: Buffer): string {
  const input = `${headerPart}.${payloadPart}`;
  return `${input}.${hs256(key, input)}`;
}
const sign = (h: Json, c: Json | unknown, key: Buffer = CURRENT) => signParts(json(h), json(c), key);

const currentKid = kidOf(CURRENT);
const retiredKid = kidOf(RETIRED);
const foreignKid = kidOf(FOREIGN);

interface Valid {
  readonly name: string;
  readonly token: string;
  readonly nowMs: number;
  readonly kid: string;
  readonly claims: Json;
  /** Capsule's own issuer writes exactly this token for these claims and key. */
  readonly issuedByCapsule?: boolean;
}
interface Invalid {
  readonly name: string;
  readonly token: string;
  readonly nowMs: number;
  readonly reason: string;
}
interface SessionVector {
  readonly name: string;
  readonly token: string;
  readonly nowMs: number;
  /** The codec accepts every one of these; the token handler decides with the user record. */
  readonly accepted: boolean;
  readonly why: string;
}

const valid: Valid[] = [];
const invalid: Invalid[] = [];
const session: SessionVector[] = [];

function addValid(name: string, h: Json, c: Json, options: { key?: Buffer; nowMs?: number; issuedByCapsule?: boolean } = {}) {
  const key = options.key ?? CURRENT;
  valid.push({ name, token: sign(h, c, key), nowMs: options.nowMs ?? NOW_MS, kid: kidOf(key), claims: c, ...(options.issuedByCapsule ? { issuedByCapsule: true } : {}) });
}
function addInvalid(name: string, token: string, reason: string, nowMs = NOW_MS) {
  invalid.push({ name, token, nowMs, reason });
}

// ---- Valid: the codec accepts these with exactly these claims and kid.
addValid('as Capsule issues it, current key', header(currentKid), claims(), { issuedByCapsule: true });
addValid('as Capsule issues it, later generation and another user', header(currentKid), claims({ sub: 'bob', jti: 'vector-jti-0002', gen: 7 }), { issuedByCapsule: true });
addValid('signed by a retired key that still verifies', header(retiredKid), claims({ jti: 'vector-jti-0003' }), { key: RETIRED });
addValid('user id outside ASCII (UTF-8 in the payload)', header(currentKid), claims({ sub: 'zoë', jti: 'vector-jti-0004' }));
addValid('header without typ (typ is optional)', { alg: 'HS256', kid: currentKid }, claims({ jti: 'vector-jti-0005' }));
addValid('header members in another order', { kid: currentKid, typ: 'JWT', alg: 'HS256' }, claims({ jti: 'vector-jti-0006' }));
addValid('claims in another order', header(currentKid), { gen: 0, jti: 'vector-jti-0007', exp: EXP, iat: IAT, sub: 'alice' });
addValid('iat exactly at the 60 s skew allowance', header(currentKid), claims({ iat: NOW + SKEW, exp: NOW + SKEW + 43_200, jti: 'vector-jti-0008' }));
addValid('one second before exp', header(currentKid), claims({ exp: NOW + 1, jti: 'vector-jti-0009' }));
addValid('one millisecond before exp', header(currentKid), claims({ exp: NOW + 1, jti: 'vector-jti-0010' }), { nowMs: NOW_MS + 999 });
addValid('nbf in the past', header(currentKid), claims({ nbf: IAT, jti: 'vector-jti-0011' }));
addValid('nbf now', header(currentKid), claims({ nbf: NOW, jti: 'vector-jti-0012' }));
addValid('nbf in the future within the 60 s skew allowance', header(currentKid), claims({ nbf: NOW + SKEW, jti: 'vector-jti-0013' }));
addValid('empty jti (only its type is checked)', header(currentKid), claims({ jti: '' }));
/** A session id as sessions/ makes it: 16 bytes, base64url (22 characters); these bytes give both '-' and '_'. */
const SID = Buffer.from('fb ef ff 00 11 22 33 44 55 66 77 88 99 aa bb fe'.replace(/ /g, ''), 'hex').toString('base64url');
if (!/^[A-Za-z0-9_-]{22}$/.test(SID) || !SID.includes('-') || !SID.includes('_')) throw new Error(`the vectors' session id ${SID} is not 22 base64url characters with - and _`);
addValid('as Capsule issues it, with a session id', header(currentKid), claims({ jti: 'vector-jti-0014', sid: SID }), { issuedByCapsule: true });

// ---- Invalid: framing.
const good = sign(header(currentKid), claims({ jti: 'vector-jti-0100' }));
const [goodHeader, goodPayload, goodSignature] = good.split('.') as [string, string, string];
addInvalid('empty string', '', 'not a JWS compact token');
addInvalid('one segment', goodHeader, 'not a JWS compact token');
addInvalid('truncated to header and payload', `${goodHeader}.${goodPayload}`, 'not a JWS compact token');
addInvalid('extra segment (four parts)', `${good}.${goodSignature}`, 'not a JWS compact token');
addInvalid('five parts, shaped like a JWE', `${goodHeader}.${goodPayload}.${goodPayload}.${goodPayload}.${goodSignature}`, 'not a JWS compact token');
addInvalid('empty header segment', `.${goodPayload}.${goodSignature}`, 'not a JWS compact token');
addInvalid('JSON serialisation instead of compact', JSON.stringify({ protected: goodHeader, payload: goodPayload, signature: goodSignature }), 'not a JWS compact token');
{
  const longJti = 'x'.repeat(2_048);
  addInvalid('longer than 2048 characters (refused before any work)', sign(header(currentKid), claims({ jti: longJti })), 'token too long');
}

// ---- Invalid: header.
const headerReason = 'header is not HS256 with a kid';
addInvalid('alg none, no signature', `${json({ alg: 'none', typ: 'JWT', kid: currentKid })}.${goodPayload}.`, headerReason);
addInvalid('alg none, with an HS256 signature', sign({ alg: 'none', typ: 'JWT', kid: currentKid }, claims()), headerReason);
addInvalid('alg None (capitalised)', sign({ alg: 'None', typ: 'JWT', kid: currentKid }, claims()), headerReason);
addInvalid('alg hs256 (lower case)', sign({ alg: 'hs256', typ: 'JWT', kid: currentKid }, claims()), headerReason);
{
  const h = json({ alg: 'HS512', typ: 'JWT', kid: currentKid });
  const input = `${h}.${goodPayload}`;
  addInvalid('wrong alg HS512, signed with HMAC-SHA512 and the right key', `${input}.${createHmac('sha512', CURRENT).update(input).digest('base64url')}`, headerReason);
}
addInvalid('wrong alg HS384 with an HS256 signature', sign({ alg: 'HS384', typ: 'JWT', kid: currentKid }, claims()), headerReason);
addInvalid('wrong alg RS256 (key confusion)', sign({ alg: 'RS256', typ: 'JWT', kid: currentKid }, claims()), headerReason);
addInvalid('no alg', sign({ typ: 'JWT', kid: currentKid }, claims()), headerReason);
addInvalid('no kid', sign({ alg: 'HS256', typ: 'JWT' }, claims()), headerReason);
addInvalid('kid is a number', sign({ alg: 'HS256', typ: 'JWT', kid: 1 }, claims()), headerReason);
addInvalid('typ other than JWT', sign(header(currentKid, { typ: 'at+jwt' }), claims()), headerReason);
addInvalid('typ jwt in lower case', sign(header(currentKid, { typ: 'jwt' }), claims()), headerReason);
addInvalid('crit header', sign(header(currentKid, { crit: ['exp'] }), claims()), headerReason);
addInvalid('non-JSON header', signParts(b64('not json'), goodPayload, CURRENT), headerReason);
addInvalid('header is a JSON array', signParts(b64('["HS256"]'), goodPayload, CURRENT), headerReason);
addInvalid('header is a JSON string', signParts(b64('"HS256"'), goodPayload, CURRENT), headerReason);
addInvalid('header is JSON null', signParts(b64('null'), goodPayload, CURRENT), headerReason);
addInvalid('header in base64 with padding', signParts(`${Buffer.from(JSON.stringify(header(currentKid))).toString('base64url')}=`, goodPayload, CURRENT), headerReason);
{
  // A header whose standard base64 has '+' or '/': the same bytes in the wrong alphabet.
  const h = header(currentKid, { x: '>>>???' });
  const standard = Buffer.from(JSON.stringify(h)).toString('base64').replace(/=+$/, '');
  if (!/[+/]/.test(standard)) throw new Error('the header chosen for bad base64url has no + or /');
  addInvalid('header in standard base64 (+ and /), not base64url', signParts(standard, goodPayload, CURRENT), headerReason);
}
addInvalid('header with a space in its base64url', signParts(`${goodHeader.slice(0, 10)} ${goodHeader.slice(10)}`, goodPayload, CURRENT), headerReason);

// ---- Invalid: key id.
addInvalid('unknown kid, signed with that unknown key', sign(header(foreignKid), claims()), `unknown key id ${foreignKid}`);
addInvalid('empty kid', sign(header(''), claims()), 'unknown key id ');
addInvalid('kid that is the current kid in upper case', sign(header(currentKid.toUpperCase()), claims()), `unknown key id ${currentKid.toUpperCase()}`);

// ---- Invalid: signature.
addInvalid('signature truncated by one character', good.slice(0, -1), 'malformed signature');
addInvalid('signature one character too long', `${good}A`, 'malformed signature');
addInvalid('signature with base64 padding', `${good}=`, 'malformed signature');
addInvalid('empty signature', `${goodHeader}.${goodPayload}.`, 'malformed signature');
addInvalid('naming the current kid, signed with a key no instance holds', sign(header(currentKid), claims(), FOREIGN), 'bad signature');
addInvalid('payload changed after signing (sub alice → admin)', `${goodHeader}.${json(claims({ sub: 'admin', jti: 'vector-jti-0100' }))}.${goodSignature}`, 'bad signature');
addInvalid('kid switched to the retired key, signature by the current one', `${json(header(retiredKid))}.${goodPayload}.${goodSignature}`, 'bad signature');
addInvalid('signature of another token', `${goodHeader}.${goodPayload}.${sign(header(currentKid), claims({ jti: 'vector-jti-0101' })).split('.')[2]}`, 'bad signature');
{
  const flipped = goodSignature[0] === 'A' ? 'B' : 'A';
  addInvalid('first signature character changed', `${goodHeader}.${goodPayload}.${flipped}${goodSignature.slice(1)}`, 'bad signature');
}
{
  // A signature containing '-' or '_', so that its standard base64 spelling differs.
  let n = 200;
  let token = '';
  for (; n < 400; n++) {
    token = sign(header(currentKid), claims({ jti: `vector-jti-0${n}` }));
    if (/[-_]/.test(token.split('.')[2]!)) break;
  }
  const [h, p, s] = token.split('.') as [string, string, string];
  addInvalid('signature in standard base64 (+ and /) instead of base64url', `${h}.${p}.${s.replace(/-/g, '+').replace(/_/g, '/')}`, 'bad signature');
}
addInvalid('signed by the retired key but naming the current kid', sign(header(currentKid), claims(), RETIRED), 'bad signature');

// ---- Invalid: claims (all correctly signed: only a key holder could make these).
const claimsReason = 'malformed claims';
const withoutClaim = (name: string) => {
  const c: Json = claims();
  delete c[name];
  return c;
};
addInvalid('non-JSON payload', signParts(goodHeader, b64('not json'), CURRENT), claimsReason);
addInvalid('empty payload', signParts(goodHeader, '', CURRENT), claimsReason);
addInvalid('payload is a JSON array', sign(header(currentKid), [claims()]), claimsReason);
addInvalid('payload is JSON null', sign(header(currentKid), null), claimsReason);
for (const name of ['sub', 'iat', 'exp', 'jti', 'gen']) addInvalid(`no ${name}`, sign(header(currentKid), withoutClaim(name)), claimsReason);
addInvalid('empty sub', sign(header(currentKid), claims({ sub: '' })), claimsReason);
addInvalid('sub is a number', sign(header(currentKid), claims({ sub: 42 })), claimsReason);
addInvalid('iat is a string', sign(header(currentKid), claims({ iat: String(IAT) })), claimsReason);
addInvalid('iat is not an integer', sign(header(currentKid), claims({ iat: IAT + 0.5 })), claimsReason);
addInvalid('exp is a string', sign(header(currentKid), claims({ exp: String(EXP) })), claimsReason);
addInvalid('exp beyond a safe integer', sign(header(currentKid), claims({ exp: 2 ** 53 })), claimsReason);
addInvalid('jti is a number', sign(header(currentKid), claims({ jti: 1 })), claimsReason);
addInvalid('gen is negative', sign(header(currentKid), claims({ gen: -1 })), claimsReason);
addInvalid('gen is not an integer', sign(header(currentKid), claims({ gen: 1.5 })), claimsReason);
addInvalid('gen is a string', sign(header(currentKid), claims({ gen: '0' })), claimsReason);
addInvalid('nbf is a string', sign(header(currentKid), claims({ nbf: String(NOW) })), claimsReason);
addInvalid('nbf is not an integer', sign(header(currentKid), claims({ nbf: NOW + 0.5 })), claimsReason);
addInvalid('sid of 21 characters', sign(header(currentKid), claims({ sid: SID.slice(1) })), claimsReason);
addInvalid('sid of 23 characters', sign(header(currentKid), claims({ sid: `${SID}A` })), claimsReason);
addInvalid('sid in standard base64 (+ and /)', sign(header(currentKid), claims({ sid: SID.replace(/-/g, '+').replace(/_/g, '/') })), claimsReason);
addInvalid('sid with base64 padding', sign(header(currentKid), claims({ sid: `${SID.slice(2)}==` })), claimsReason);
addInvalid('empty sid', sign(header(currentKid), claims({ sid: '' })), claimsReason);
addInvalid('sid is a number', sign(header(currentKid), claims({ sid: 12345 })), claimsReason);
addInvalid('sid is null', sign(header(currentKid), claims({ sid: null })), claimsReason);
addInvalid('sid is a list of ids', sign(header(currentKid), claims({ sid: [SID] })), claimsReason);
addInvalid('claim outside the allowlist (role)', sign(header(currentKid), claims({ role: 'admin' })), claimsReason);
addInvalid('claim outside the allowlist (aud)', sign(header(currentKid), claims({ aud: 'capsule' })), claimsReason);
addInvalid('claim outside the allowlist (groups)', sign(header(currentKid), claims({ groups: ['administrators'] })), claimsReason);

// ---- Invalid: time (nowMs is the verifier's clock).
addInvalid('expired long ago', sign(header(currentKid), claims({ iat: NOW - 86_400, exp: NOW - 43_200 })), 'expired');
addInvalid('expired one second ago (no leeway on exp)', sign(header(currentKid), claims({ exp: NOW - 1 })), 'expired');
addInvalid('exp equal to now', sign(header(currentKid), claims({ exp: NOW })), 'expired');
addInvalid('exp reached exactly, at a later now', sign(header(currentKid), claims({ exp: NOW + 1 })), 'expired', NOW_MS + 1_000);
addInvalid('iat 61 s in the future, beyond the 60 s skew', sign(header(currentKid), claims({ iat: NOW + SKEW + 1, exp: NOW + SKEW + 1 + 43_200 })), 'issued in the future');
addInvalid('iat a day in the future', sign(header(currentKid), claims({ iat: NOW + 86_400, exp: NOW + 2 * 86_400 })), 'issued in the future');
addInvalid('iat 60.5 s in the future (fractional now)', sign(header(currentKid), claims({ iat: NOW + SKEW + 1 })), 'issued in the future', NOW_MS + 500);
addInvalid('nbf 61 s in the future, beyond the 60 s skew', sign(header(currentKid), claims({ nbf: NOW + SKEW + 1 })), 'not yet valid');
addInvalid('nbf a day in the future', sign(header(currentKid), claims({ nbf: NOW + 86_400 })), 'not yet valid');
addInvalid('signed by a retired key and expired', sign(header(retiredKid), claims({ exp: NOW - 1 }), RETIRED), 'expired');

// ---- Session: the codec accepts these; the token handler checks the user record (see `users`).
function addSession(name: string, c: Json, accepted: boolean, why: string) {
  session.push({ name, token: sign(header(currentKid), c), nowMs: NOW_MS, accepted, why });
}
addSession('generation equal to the user\'s', claims({ sub: 'alice', gen: 3, jti: 'vector-jti-0300' }), true, 'alice has generation 3');
addSession('stale generation (the user logged out everywhere since)', claims({ sub: 'alice', gen: 2, jti: 'vector-jti-0301' }), false, 'alice has generation 3');
addSession('generation 0 after three log-outs everywhere', claims({ sub: 'alice', gen: 0, jti: 'vector-jti-0302' }), false, 'alice has generation 3');
addSession('generation ahead of the user\'s', claims({ sub: 'alice', gen: 4, jti: 'vector-jti-0303' }), false, 'generations must be equal, not merely newer');
addSession('user that does not exist here', claims({ sub: 'mallory', gen: 0, jti: 'vector-jti-0304' }), false, 'no user mallory on this instance');
addSession('disabled user', claims({ sub: 'dora', gen: 0, jti: 'vector-jti-0305' }), false, 'dora is disabled');
addSession('enabled user at generation 0', claims({ sub: 'erin', gen: 0, jti: 'vector-jti-0306' }), true, 'erin has generation 0');

const names = [...valid, ...invalid, ...session].map((vector) => vector.name);
const duplicate = names.find((name, index) => names.indexOf(name) !== index);
if (duplicate) throw new Error(`two vectors named '${duplicate}'`);

const file = {
  description:
    'Known-answer vectors for Capsule encapsulated tokens (JWS compact, HS256, kid = first 16 hex of SHA-256 of the key). ' +
    'valid: the verifier accepts the token at nowMs with exactly these claims and kid. invalid: it refuses with this reason. ' +
    'session: the verifier accepts the token, the token handler accepts or refuses it by the user record in users. ' +
    'Test keys only, derived from public labels. Generated by scripts/make-token-vectors.ts; the tokens are data: a codec change that alters them must fail the test.',
  skewSeconds: SKEW,
  maxTokenLength: 2_048,
  keys: [
    { kid: currentKid, role: 'current', key: CURRENT.toString('base64url') },
    { kid: retiredKid, role: 'retired', key: RETIRED.toString('base64url') },
  ],
  /** Signs the forgeries; held by no verifier. */
  foreignKey: { kid: foreignKid, key: FOREIGN.toString('base64url') },
  users: [
    { id: 'alice', generation: 3, disabled: false },
    { id: 'dora', generation: 0, disabled: true },
    { id: 'erin', generation: 0, disabled: false },
  ],
  valid,
  invalid,
  session,
};

writeFileSync(OUT, `${JSON.stringify(file, null, 2)}\n`);
console.log(`wrote ${valid.length} valid, ${invalid.length} invalid and ${session.length} session vectors to ${OUT}`);
