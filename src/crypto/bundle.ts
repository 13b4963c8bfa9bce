import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { z } from 'zod';
import { CapsuleError } from '../errors.js';
import type { KeySet } from './key-set.js';
import { checkKeyBytes, describeKey, keyId, type KeyDescription } from './keys.js';

/**
 * An exported key set: the keys encrypted with a passphrase (scrypt, AES-256-GCM), and their
 * fingerprints in clear so the receiver can check them before and after import. The clear
 * part is authenticated too: changing a fingerprint makes the bundle fail to open.
 */
export const BUNDLE_FORMAT = 'capsule-keys/1';
const SCRYPT = { N: 32768, r: 8, p: 1, keyLength: 32 } as const;
const SCRYPT_MAXMEM = 128 * SCRYPT.N * SCRYPT.r * 2;

export interface BundleKeys {
  readonly master: Buffer;
  readonly hmac: Buffer;
  readonly retiredHmac: ReadonlyArray<{ key: Buffer; retiredAt: number }>;
  /** Master keys replaced by rotations (they decrypt backups taken before); absent in older bundles. */
  readonly retiredMaster?: ReadonlyArray<{ key: Buffer; retiredAt: number }>;
}

export interface BundleFingerprints {
  readonly master: KeyDescription;
  readonly hmac: KeyDescription;
  readonly retiredHmac: readonly KeyDescription[];
  /** Present only when the bundle holds retired master keys, so a bundle without any reads as before. */
  readonly retiredMaster?: readonly KeyDescription[];
}

const bundleSchema = z.object({
  format: z.literal(BUNDLE_FORMAT),
  created: z.string(),
  fingerprints: z.object({
    master: z.object({ id: z.string(), sha256: z.string() }),
    hmac: z.object({ id: z.string(), sha256: z.string() }),
    retiredHmac: z.array(z.object({ id: z.string(), sha256: z.string() })),
    retiredMaster: z.array(z.object({ id: z.string(), sha256: z.string() })).optional(),
  }),
  kdf: z.object({ name: z.literal('scrypt'), N: z.number(), r: z.number(), p: z.number(), salt: z.string() }),
  cipher: z.object({ name: z.literal('aes-256-gcm'), nonce: z.string() }),
  data: z.string(),
});

/** A retirement time in milliseconds that a file's modification time can hold (Date's range; a file's mtimeMs has a fraction). */
const retiredAtSchema = z.number().min(0).max(8.64e15);

const payloadSchema = z.object({
  master: z.string(),
  hmac: z.string(),
  retiredHmac: z.array(z.object({ key: z.string(), retiredAt: retiredAtSchema })),
  retiredMaster: z.array(z.object({ key: z.string(), retiredAt: retiredAtSchema })).optional(),
});

const DAY_MS = 86_400_000;

/**
 * Refuses, before anything is written, a retirement time that is not a number of milliseconds
 * between 1970 and a day from now (a day of clock skew between machines).
 */
export function checkRetirementTimes(keys: BundleKeys, now: number): void {
  for (const retired of [...keys.retiredHmac, ...(keys.retiredMaster ?? [])]) {
    if (!Number.isFinite(retired.retiredAt) || retired.retiredAt < 0 || retired.retiredAt > now + DAY_MS) {
      throw new CapsuleError('BUNDLE_INVALID', `the key bundle gives a retired key the retirement time ${String(retired.retiredAt).slice(0, 30)}, which is not a time between 1970 and tomorrow; nothing was written`);
    }
  }
}

function deriveKey(passphrase: string, salt: Buffer, params: { N: number; r: number; p: number }): Buffer {
  return scryptSync(passphrase.normalize('NFC'), salt, SCRYPT.keyLength, { ...params, maxmem: Math.max(SCRYPT_MAXMEM, 256 * params.N * params.r) });
}

function associatedData(header: object): Buffer {
  return Buffer.from(JSON.stringify(header));
}

/** The ids of a key set's current keys, as `keys import` and a member's admin API report them. */
export interface KeyIdPair {
  readonly master: string;
  readonly hmac: string;
}

export function keyIdsOf(keys: Pick<BundleKeys, 'master' | 'hmac'>): KeyIdPair {
  return { master: keyId(keys.master), hmac: keyId(keys.hmac) };
}

export function fingerprintsOf(keys: BundleKeys): BundleFingerprints {
  return {
    master: describeKey(keys.master),
    hmac: describeKey(keys.hmac),
    retiredHmac: keys.retiredHmac.map((retired) => describeKey(retired.key)),
    ...(keys.retiredMaster?.length ? { retiredMaster: keys.retiredMaster.map((retired) => describeKey(retired.key)) } : {}),
  };
}

export function bundleKeysOf(keys: KeySet): BundleKeys {
  return {
    master: keys.master,
    hmac: keys.hmac,
    retiredHmac: keys.retiredHmac.map(({ key, retiredAt }) => ({ key, retiredAt: Math.floor(retiredAt) })),
    retiredMaster: (keys.retiredMaster ?? []).map(({ key, retiredAt }) => ({ key, retiredAt: Math.floor(retiredAt) })),
  };
}

export function createBundle(keys: BundleKeys, passphrase: string, now: number): string {
  const salt = randomBytes(16);
  const nonce = randomBytes(12);
  const header = {
    format: BUNDLE_FORMAT,
    created: new Date(now).toISOString(),
    fingerprints: fingerprintsOf(keys),
    kdf: { name: 'scrypt', N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, salt: salt.toString('base64') },
    cipher: { name: 'aes-256-gcm', nonce: nonce.toString('base64') },
  };
  const payload = JSON.stringify({
    master: keys.master.toString('base64'),
    hmac: keys.hmac.toString('base64'),
    retiredHmac: keys.retiredHmac.map(({ key, retiredAt }) => ({ key: key.toString('base64'), retiredAt })),
    ...(keys.retiredMaster?.length ? { retiredMaster: keys.retiredMaster.map(({ key, retiredAt }) => ({ key: key.toString('base64'), retiredAt })) } : {}),
  });
  const cipher = createCipheriv('aes-256-gcm', deriveKey(passphrase, salt, SCRYPT), nonce);
  cipher.setAAD(associatedData(header));
  const data = Buffer.concat([cipher.update(payload, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `${JSON.stringify({ ...header, data: data.toString('base64') }, null, 2)}\n`;
}

/** The bundle's fingerprints, readable without the passphrase. */
export function readBundleHeader(text: string): z.infer<typeof bundleSchema> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CapsuleError('BUNDLE_INVALID', 'the key bundle is not JSON: it is damaged or not a Capsule key bundle');
  }
  const result = bundleSchema.safeParse(parsed);
  if (!result.success) throw new CapsuleError('BUNDLE_INVALID', `the key bundle is damaged or not a ${BUNDLE_FORMAT} bundle`);
  return result.data;
}

export function openBundle(text: string, passphrase: string): { keys: BundleKeys; fingerprints: BundleFingerprints } {
  const bundle = readBundleHeader(text);
  const { data, ...header } = bundle;
  if (bundle.kdf.N > 1 << 20 || bundle.kdf.r > 32 || bundle.kdf.p > 16) {
    throw new CapsuleError('BUNDLE_INVALID', 'the key bundle asks for unreasonable scrypt parameters');
  }
  const body = Buffer.from(data, 'base64');
  let payload: z.infer<typeof payloadSchema>;
  try {
    const decipher = createDecipheriv('aes-256-gcm', deriveKey(passphrase, Buffer.from(bundle.kdf.salt, 'base64'), bundle.kdf), Buffer.from(bundle.cipher.nonce, 'base64'));
    decipher.setAAD(associatedData(header));
    decipher.setAuthTag(body.subarray(body.length - 16));
    const plain = Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]).toString('utf8');
    payload = payloadSchema.parse(JSON.parse(plain));
  } catch {
    throw new CapsuleError('BUNDLE_INVALID', 'cannot open the key bundle: the passphrase is wrong or the bundle is damaged; nothing was written');
  }
  const keys: BundleKeys = {
    master: checkKeyBytes(Buffer.from(payload.master, 'base64'), 'the bundle\'s master key'),
    hmac: checkKeyBytes(Buffer.from(payload.hmac, 'base64'), 'the bundle\'s hmac key'),
    retiredHmac: payload.retiredHmac.map((retired) => ({
      key: checkKeyBytes(Buffer.from(retired.key, 'base64'), 'a retired hmac key in the bundle'),
      retiredAt: retired.retiredAt,
    })),
    retiredMaster: (payload.retiredMaster ?? []).map((retired) => ({
      key: checkKeyBytes(Buffer.from(retired.key, 'base64'), 'a retired master key in the bundle'),
      retiredAt: retired.retiredAt,
    })),
  };
  const fingerprints = fingerprintsOf(keys);
  if (JSON.stringify(fingerprints) !== JSON.stringify(bundle.fingerprints)) {
    throw new CapsuleError('BUNDLE_INVALID', 'the keys in the bundle do not match its fingerprints; nothing was written');
  }
  return { keys, fingerprints };
}
