import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { selfSignedCertificate } from '../../src/auth/saml/sp-certificate.js';

/** A key pair with a self-signed certificate for any validity window (expired and not-yet-valid ones are one call). */
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

export function selfSigned(options: SelfSignedOptions = {}): SelfSigned {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: options.modulusLength ?? 2048 });
  return {
    privateKey,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    certificatePem: selfSignedCertificate(privateKey, {
      commonName: options.commonName ?? 'capsule-test',
      notBefore: options.notBefore ?? new Date(Date.now() - 60 * 60 * 1000),
      notAfter: options.notAfter ?? new Date(Date.now() + 365 * 24 * 60 * 60 * 1000),
    }),
  };
}
