import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import type { Clock } from '../../clock.js';

/**
 * The SP's key pair and its self-signed certificate (published in the SP metadata; IdPs pin it,
 * no CA is involved). Node has no X.509 writer, so this is a small DER encoder of the few types
 * a certificate needs: RSA key, SHA-256 signature, a common name, any validity window.
 */

export interface CertificateOptions {
  readonly commonName: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

export interface SpKeyPair {
  /** PKCS#8 PEM. */
  readonly privateKeyPem: string;
  readonly certificatePem: string;
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
  const digits = date.toISOString().replace(/[-:T]/g, '').slice(0, 14); // YYYYMMDDHHMMSS
  // RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
  return date.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${digits.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${digits}Z`));
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

/** A self-signed X.509 v3 certificate for an RSA key (PEM or KeyObject). */
export function selfSignedCertificate(privateKey: string | KeyObject, options: CertificateOptions): string {
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  const subject = name(options.commonName);
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const tbs = sequence(tlv(0xa0, tlv(0x02, Buffer.from([2]))), serial(), SHA256_WITH_RSA, subject, sequence(time(options.notBefore), time(options.notAfter)), subject, spki);
  const certificate = pem('CERTIFICATE', sequence(tbs, SHA256_WITH_RSA, tlv(0x03, Buffer.from([0]), sign('sha256', tbs, key))));
  new X509Certificate(certificate); // an encoder fault fails here, not at the IdP
  return certificate;
}

/** A new RSA key pair for the SP, its certificate valid from an hour ago (clock skew at the IdP) for `validityDays`. */
export function generateSpKeyPair(clock: Clock, options: { commonName: string; validityDays?: number; modulusLength?: number }): SpKeyPair {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: options.modulusLength ?? 3072 });
  const now = clock.now();
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    certificatePem: selfSignedCertificate(privateKey, {
      commonName: options.commonName,
      notBefore: new Date(now - 60 * 60 * 1000),
      notAfter: new Date(now + (options.validityDays ?? 3650) * 24 * 60 * 60 * 1000),
    }),
  };
}
