import { X509Certificate } from 'node:crypto';
import { z } from 'zod';
import { defineComponent, property, type ConfigValues, type PropertyDefinition } from '../../config/index.js';
import { CapsuleError } from '../../errors.js';
import { parseGroupMap } from '../group-map.js';

/**
 * One SAML 2.0 identity provider, configured as `capsule.auth.saml~NAME`. Property names follow
 * AEM's `com.adobe.granite.auth.saml` where one means the same thing, so an AEM administrator
 * finds them; the others are Capsule's own (camelCase too, to read as one family).
 */
export const SAML_PID = 'capsule.auth.saml';

export const NAMEID_FORMAT_PERSISTENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';

/** AEM's default tolerance, in seconds. */
export const DEFAULT_CLOCK_TOLERANCE_S = 60;
const MAX_CLOCK_TOLERANCE_S = 600;

const NAME_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The PEM certificates in a text (one or more blocks), each checked to be an X.509 certificate. */
export function certificatesIn(text: string): string[] {
  const blocks = text.match(PEM_CERTIFICATE) ?? [];
  for (const block of blocks) new X509Certificate(block); // throws on a damaged block
  return blocks;
}

function isCertificateList(value: readonly string[]): boolean {
  try {
    return value.every((text) => text.trim() === '' || certificatesIn(text).length > 0);
  } catch {
    return false;
  }
}

/** A string list whose entries must each hold PEM certificates: refused when written, not at the first sign-in. */
function certificateList(common: { title: string; description: string; required?: boolean }): PropertyDefinition {
  const base = property.stringList({ ...common, default: [] });
  const list = z.array(z.string());
  const schema = (common.required ? list.min(1, 'at least one certificate is required') : list).refine(
    isCertificateList,
    'each entry must be a PEM certificate (-----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----)',
  );
  return { ...base, schema, multiline: true };
}

function certificate(common: { title: string; description: string }): PropertyDefinition {
  const base = property.string(common);
  const schema = z.string().refine((text) => text.trim() === '' || isCertificateList([text]), 'must be a PEM certificate (-----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----)');
  return { ...base, schema, multiline: true };
}

export const samlComponent = defineComponent({
  pid: SAML_PID,
  title: 'SAML 2.0 login',
  description:
    'Single sign-on through a SAML 2.0 identity provider (HTTP-Redirect request, HTTP-POST response): the response or the assertion must be signed with a listed certificate, users are created on first login. The service provider key is encrypted with the master key.',
  factory: true,
  properties: {
    idpUrl: property.safeUrl({ title: 'IdP URL', description: "The identity provider's single sign-on URL (HTTP-Redirect binding; https, plain http only to a loopback address).", required: true }),
    idpEntityId: property.string({ title: 'IdP entity id', description: "The identity provider's entity id; responses issued by another are refused.", required: true }),
    idpCert: certificateList({
      title: 'IdP certificates',
      description: "The identity provider's signing certificates (PEM). List the old and the new one while the provider rolls its key over.",
      required: true,
    }),
    idpMetadataUrl: property.safeUrl({
      title: 'IdP metadata URL',
      description:
        "Where the identity provider publishes its SAML metadata (https; plain http only to a loopback address). The health check fetches it and warns when it cannot, or when its signing certificates differ from the IdP certificates above. Empty: no such check.",
    }),
    serviceProviderEntityId: property.string({ title: 'SP entity id', description: "This site's entity id, the audience the assertions must name.", required: true }),
    assertionConsumerServiceURL: property.string({
      title: 'ACS URL',
      description: "The full URL the provider posts responses to, as browsers see it; empty for <site>/system/sling/saml/NAME/acs. Recipient and Destination must equal it.",
    }),
    spPrivateKey: {
      ...property.secret({ title: 'SP private key', description: 'PEM; signs requests and decrypts assertions. Encrypted with the master key when written; never shown.' }),
      multiline: true,
    },
    spCertificate: certificate({ title: 'SP certificate', description: 'PEM certificate of the SP private key, published in the SP metadata.' }),
    title: property.string({ title: 'Title', description: "Shown on the login page as 'Sign in with <title>'; empty for the name." }),
    userIDAttribute: property.string({ title: 'User id attribute', description: 'The attribute whose value becomes the Capsule user id; empty for the NameID.' }),
    groupMembershipAttribute: property.string({ title: 'Group membership attribute', description: 'The attribute that lists the groups; empty for none.', default: 'groupMembership' }),
    addGroupMemberships: property.boolean({
      title: 'Add group memberships',
      description: 'Make the user a member of the mapped groups the group membership attribute lists; off: the default groups only.',
      default: true,
    }),
    groupMap: property.stringList({
      title: 'Group map',
      description: "IdP group = Capsule group, e.g. 'idp-editors=editors'. IdP groups not in the map are ignored.",
      default: [],
    }),
    defaultGroups: property.stringList({ title: 'Default groups', description: 'Groups every user of this provider is a member of.', default: [] }),
    nameIdFormat: property.string({ title: 'NameID format', description: 'The NameID format asked for and required; empty to accept any.', default: NAMEID_FORMAT_PERSISTENT }),
    clockTolerance: property.integer({
      title: 'Clock tolerance (s)',
      description: "How far the provider's clock may be from this one when the assertion's validity window is checked.",
      default: DEFAULT_CLOCK_TOLERANCE_S,
      min: 0,
      max: MAX_CLOCK_TOLERANCE_S,
    }),
    signRequests: property.boolean({ title: 'Sign requests', description: 'Sign authentication requests with the SP private key.', default: false }),
    wantEncryptedAssertions: property.boolean({ title: 'Want encrypted assertions', description: 'Refuse assertions that are not encrypted to the SP key.', default: false }),
    allowIdpInitiated: property.boolean({
      title: 'Allow IdP-initiated login',
      description:
        "Accept responses that answer no request of this site (each assertion once). This allows login CSRF: any web site can post an IdP-initiated response for the attacker's own account, and the visitor's browser is then signed in here as the attacker. Off: only sign-ins started here.",
      default: false,
    }),
    handleLogout: property.boolean({ title: 'Handle logout', description: 'Logging out also logs out at the identity provider (single logout).', default: false }),
    logoutUrl: property.safeUrl({ title: 'Logout URL', description: "The identity provider's single logout URL (HTTP-Redirect binding; https, plain http only to a loopback address)." }),
    provisioningMaxAgeSeconds: property.integer({
      title: 'Provisioning window (s)',
      description:
        'How long after a sign-in the provisioning claim in a token may create the user on an instance that has never seen it (0: never). Past it, such an instance refuses the token and the person signs in again.',
      default: 900,
      min: 0,
    }),
  },
});

export interface SamlSettings {
  readonly name: string;
  readonly pid: string;
  readonly idpUrl: string;
  readonly idpEntityId: string;
  /** Each a PEM certificate; a response signed with any of them is accepted. */
  readonly idpCertificates: readonly string[];
  /** Where the IdP's metadata is fetched from by the check, or null. */
  readonly idpMetadataUrl: string | null;
  readonly spEntityId: string;
  /** Configured ACS URL, or null to derive it from the site's URL. */
  readonly acsUrl: string | null;
  /** As stored: a protected value `{cap1:…}` or a reference, or null. */
  readonly storedSpPrivateKey: string | null;
  readonly spCertificate: string | null;
  readonly title: string;
  /** null: the NameID is the user id. */
  readonly userIdAttribute: string | null;
  readonly groupMembershipAttribute: string | null;
  /** IdP group → Capsule group. */
  readonly groupMap: ReadonlyMap<string, string>;
  readonly defaultGroups: readonly string[];
  /** null: any format accepted. */
  readonly nameIdFormat: string | null;
  readonly clockToleranceSeconds: number;
  readonly signRequests: boolean;
  readonly wantEncryptedAssertions: boolean;
  readonly allowIdpInitiated: boolean;
  readonly handleLogout: boolean;
  readonly logoutUrl: string | null;
  readonly provisioningMaxAgeSeconds: number;
}

export function checkSamlProviderName(name: string): string {
  if (!NAME_PATTERN.test(name)) {
    throw new CapsuleError('INVALID_ARGUMENT', `'${name}' is not a SAML identity provider name: use up to 32 letters, digits, '_' and '-'`);
  }
  return name;
}

export function samlPid(name: string): string {
  return `${SAML_PID}~${checkSamlProviderName(name)}`;
}

/** The NAME of `capsule.auth.saml~NAME`, or null for any other PID. */
export function samlProviderNameOf(pid: string): string | null {
  const prefix = `${SAML_PID}~`;
  return pid.startsWith(prefix) && NAME_PATTERN.test(pid.slice(prefix.length)) ? pid.slice(prefix.length) : null;
}

function text(values: ConfigValues, key: string): string | null {
  const value = values[key];
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
}

function entries(values: ConfigValues, key: string): string[] {
  const value = values[key];
  return Array.isArray(value) ? value.map((item: string) => item.trim()).filter((item: string) => item !== '') : [];
}

function flag(values: ConfigValues, key: string): boolean {
  return values[key] === true;
}

function whole(values: ConfigValues, key: string, fallback: number): number {
  const value = values[key];
  return typeof value === 'number' ? value : fallback;
}

export function samlSettings(name: string, values: ConfigValues): SamlSettings {
  const storedKey = values['spPrivateKey'];
  return {
    name,
    pid: samlPid(name),
    idpUrl: text(values, 'idpUrl') ?? '',
    idpEntityId: text(values, 'idpEntityId') ?? '',
    idpCertificates: entries(values, 'idpCert').flatMap(certificatesIn),
    idpMetadataUrl: text(values, 'idpMetadataUrl'),
    spEntityId: text(values, 'serviceProviderEntityId') ?? '',
    acsUrl: text(values, 'assertionConsumerServiceURL'),
    storedSpPrivateKey: typeof storedKey === 'string' && storedKey !== '' ? storedKey : null,
    spCertificate: text(values, 'spCertificate'),
    title: text(values, 'title') ?? name,
    userIdAttribute: text(values, 'userIDAttribute'),
    // AEM's addGroupMemberships=false reads no group attribute at all, as an empty attribute name does.
    groupMembershipAttribute:
      values['addGroupMemberships'] === false ? null : values['groupMembershipAttribute'] === undefined ? 'groupMembership' : text(values, 'groupMembershipAttribute'),
    groupMap: parseGroupMap(entries(values, 'groupMap')),
    defaultGroups: entries(values, 'defaultGroups'),
    nameIdFormat: values['nameIdFormat'] === undefined ? NAMEID_FORMAT_PERSISTENT : text(values, 'nameIdFormat'),
    clockToleranceSeconds: whole(values, 'clockTolerance', DEFAULT_CLOCK_TOLERANCE_S),
    signRequests: flag(values, 'signRequests'),
    wantEncryptedAssertions: flag(values, 'wantEncryptedAssertions'),
    allowIdpInitiated: flag(values, 'allowIdpInitiated'),
    handleLogout: flag(values, 'handleLogout'),
    logoutUrl: text(values, 'logoutUrl'),
    provisioningMaxAgeSeconds: whole(values, 'provisioningMaxAgeSeconds', 900),
  };
}
