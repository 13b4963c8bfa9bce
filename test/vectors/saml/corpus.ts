/**
 * The shape of the SAML attack corpus: what generate.ts writes into cases.json, and what
 * test/auth/saml/acs-vectors.test.ts reads from it.
 */
import { NAMEID_PERSISTENT } from '../../helpers/saml-idp.js';

/** Everything a case is issued for; the test configures the instance with the same values. */
export const SETTINGS = {
  /** The instance's Clock stands here; every response is issued at it. */
  instant: '2026-01-15T09:00:00.000Z',
  requestId: '_capsule-vector-request-0001',
  spEntityId: 'https://www.example.test/saml/corp',
  acsUrl: 'https://www.example.test/system/sling/saml/corp/acs',
  idpEntityId: 'urn:capsule-test:vector-idp',
  nameIdFormat: NAMEID_PERSISTENT,
  clockToleranceSeconds: 60,
  /** The certificate the provider trusts (this folder's), and its SHA-256 fingerprint. */
  idpCertificateFile: 'idp-cert.pem',
};

/** What the test checks of one case. */
export interface VectorCase {
  readonly name: string;
  /** The XML file posted (base64 of its bytes) as SAMLResponse. */
  readonly file: string;
  readonly attack: string;
  readonly outcome: 'accepted' | 'refused';
  /** accepted: the user signed in. */
  readonly userId?: string;
  /** refused: the reason in the log and the audit trail. */
  readonly reason?: string;
  /** refused: who the forged part names; never created. */
  readonly forgedUser?: string;
  /** What the log's and the audit line's `expected` and `received` hold (each a part of it). */
  readonly logged?: { readonly expected: string; readonly received: string };
  /** Only for the causes of login loops: which one, and the login page's plain words. */
  readonly loop?: { readonly cause: string; readonly loginPage: string };
  /** The provider posted to: 'corp' (with an SP key pair) unless said. */
  readonly provider?: 'corp' | 'nokey';
  /** The SAMLResponse padded with line breaks to this many characters. */
  readonly padTo?: number;
  /** Text that must appear in no log line and not on the page (what an external entity would read). */
  readonly neverRead?: string;
}

export interface Manifest {
  readonly generatedBy: string;
  readonly settings: typeof SETTINGS;
  readonly cases: readonly VectorCase[];
}
