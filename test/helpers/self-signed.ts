import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';

/**
 * Self-signed RSA certificates written with node:crypto alone (node has no X.509 writer, and
 * `openssl req` cannot backdate): a small DER encoder of the few types a certificate needs.
 * Any validity window can be asked for, so expired and not-yet-valid certificates are one call.
 */
export interface SelfSigned {
  /** PKCS#8 PEM. */
  readonly privateKeyPem: string;
  readonly certificatePem: string;
  readonly privateKey: KeyObject;
}

export interface SelfSignedOptions {
  readonly commonName?: string;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  readonly modulusLength?: number;
}

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let rest = n; rest > 0; rest >>= 8) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

const sequence = (...content: Buffer[]) => tlv(0x30, ...content);
const oid = (hex: string) => tlv(0x06, Buffer.from(hex, 'hex'));
const SHA256_WITH_RSA = sequence(oid('2a864886f70d01010b'), Buffer.from([0x05, 0x00]));
const COMMON_NAME = oid('550403');

function time(date: Date): Buffer {
  const iso = date.toISOString().replace(/[-:T]/g, '').slice(0, 14); // YYYYMMDDHHMMSS
  const year = date.getUTCFullYear();
  // RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
  return year < 2050 ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${iso}Z`));
}

function name(commonName: string): Buffer {
  return sequence(tlv(0x31, sequence(COMMON_NAME, tlv(0x0c, Buffer.from(commonName, 'utf8')))));
}

function serial(): Buffer {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01; // positive, and no leading zero byte
  return tlv(0x02, bytes);
}

function pem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** A certificate for an existing RSA key (PEM or KeyObject). */
export function certificateFor(privateKeyPem: string | KeyObject, options: SelfSignedOptions = {}): string {
  const privateKey = typeof privateKeyPem === 'string' ? createPrivateKey(privateKeyPem) : privateKeyPem;
  const subject = name(options.commonName ?? 'capsule-test');
  const notBefore = options.notBefore ?? new Date(Date.now() - 60 * 60 * 1000);
  const notAfter = options.notAfter ?? new Date(Date.now() + 365 * 24 * 60 * 60 * 1000);
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const tbs = sequence(tlv(0xa0, tlv(0x02, Buffer.from([2]))), serial(), SHA256_WITH_RSA, subject, sequence(time(notBefore), time(notAfter)), subject, spki);
  const signature = sign('sha256', tbs, privateKey);
  const certificate = pem('CERTIFICATE', sequence(tbs, SHA256_WITH_RSA, tlv(0x03, Buffer.from([0]), signature)));
  new X509Certificate(certificate); // fails here, not in the test, if the encoder is wrong
  return certificate;
}

export function selfSigned(options: SelfSignedOptions = {}): SelfSigned {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: options.modulusLength ?? 2048 });
  return {
    privateKey,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    certificatePem: certificateFor(privateKey, options),
  };
}
