import { readFile } from 'node:fs/promises';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { Command } from 'commander';
import { oidcPid } from '../../auth/oidc/index.js';
import {
  certificatesIn,
  checkSamlProviderName,
  checkSamlProviderWithMetadata,
  describeSpPrivateKey,
  fetchIdpMetadata,
  generateSpKeyPair,
  parseIdpMetadata,
  revealSpPrivateKey,
  SAML_PID,
  samlAcsUrl,
  samlComponent,
  samlPid,
  samlProviderNameOf,
  samlSettings,
  spMetadataXml,
  type IdpMetadata,
  type SamlCheckResult,
  type SamlSettings,
} from '../../auth/saml/index.js';
import { parseGroupMap } from '../../auth/group-map.js';
import type { ConfigValue, ConfigValues } from '../../config/index.js';
import { CapsuleError } from '../../errors.js';
import type { Services } from '../../instance/services.js';
import { isSafeForCredentials } from '../../support/loopback.js';
import { checkId } from '../../users/index.js';
import { checkHttpUrl, removeFactoryConfig, reportChecks, secretCell, type FactoryKind } from '../factory-config.js';
import { printJson, printTable, type CliIO } from '../io.js';
import { referenceWarningLine, referenceWarnings } from '../reference-warnings.js';
import { homeOption, jsonOption, withHome, type HomeOptions, type JsonOption } from '../with-home.js';

type Options = HomeOptions & JsonOption;

const SAML: FactoryKind = { noun: 'SAML identity provider', command: 'saml' };

export interface SamlAddOptions extends HomeOptions {
  readonly idpMetadata?: string;
  readonly idpMetadataFile?: string;
  readonly idpEntityId?: string;
  readonly idpSsoUrl?: string;
  readonly idpSloUrl?: string;
  readonly idpCertFile?: string;
  readonly title?: string;
  readonly spEntityId?: string;
  readonly acsUrl?: string;
  readonly userIdAttribute?: string;
  readonly groupAttribute?: string;
  readonly groupMap?: string[];
  readonly defaultGroup?: string[];
  readonly signRequests?: boolean;
  readonly wantEncryptedAssertions?: boolean;
  readonly allowIdpInitiated?: boolean;
  readonly logout?: boolean;
  readonly spKeyFile?: string;
  readonly spCertFile?: string;
  readonly update?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/**
 * The CLI opens a home whose component list (instance/components.ts) may not name SAML yet;
 * registering it here lets the configuration be validated and its secret protected either way.
 */
function registerSaml(services: Services): void {
  if (services.config.componentOf(samlPid('x')) === undefined) services.config.register(samlComponent);
}

function settingsIn(services: Services, name: string): SamlSettings {
  const pid = samlPid(name);
  if (services.config.stored(pid) === null) throw new CapsuleError('CONFIG_NOT_FOUND', `no ${SAML.noun} ${name}; add it with 'capsule saml add'`);
  return samlSettings(name, services.config.current(pid));
}

function providerNames(services: Services): string[] {
  return services.config
    .list()
    .map((stored) => samlProviderNameOf(stored.pid))
    .filter((name): name is string => name !== null);
}

async function readText(option: string, file: string): Promise<string> {
  return readFile(file, 'utf8').catch((error: Error) => {
    throw new CapsuleError('INVALID_ARGUMENT', `${option}: cannot read ${file}: ${error.message}`);
  });
}

/** Where the browser is sent with a login request: https, or plain http to this machine only (as the farm commands send passwords). */
function checkIdpUrl(what: string, text: string): string {
  checkHttpUrl(what, text);
  if (!isSafeForCredentials(new URL(text))) throw new CapsuleError('INVALID_ARGUMENT', `${what} '${text}' is plain http: use https (plain http only to a loopback address)`);
  return text;
}

function pemCertificates(option: string, text: string): string[] {
  let certificates: string[];
  try {
    certificates = certificatesIn(text);
  } catch {
    throw new CapsuleError('INVALID_ARGUMENT', `${option} holds a damaged PEM certificate`);
  }
  if (certificates.length === 0) throw new CapsuleError('INVALID_ARGUMENT', `${option} holds no PEM certificate (-----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----)`);
  return certificates;
}

function metadataFrom(option: string, source: string, text: string, entityId: string | undefined): IdpMetadata {
  try {
    return parseIdpMetadata(text, entityId ?? null);
  } catch (error) {
    throw new CapsuleError('INVALID_ARGUMENT', `${option} ${source}: ${(error as Error).message}`);
  }
}

/** The metadata document at `url`; a failure says what happened and offers the file instead. */
async function fetchedMetadata(url: string): Promise<string> {
  checkIdpUrl('--idp-metadata', url);
  try {
    return await fetchIdpMetadata(url);
  } catch (error) {
    const { code, message } = error as CapsuleError;
    throw new CapsuleError(code, `--idp-metadata ${url} ${message}; check the URL, or save the metadata and give it with --idp-metadata-file`);
  }
}

/** The IdP's entity id, SSO URL, SLO URL and certificates: from its metadata (URL or file), or from the options. */
async function idpOf(options: SamlAddOptions): Promise<IdpMetadata> {
  const sources = [options.idpMetadata, options.idpMetadataFile, options.idpSsoUrl ?? options.idpCertFile].filter((given) => given !== undefined);
  if (sources.length > 1) {
    throw new CapsuleError('INVALID_ARGUMENT', 'give one of --idp-metadata URL, --idp-metadata-file FILE, or --idp-sso-url with --idp-cert-file');
  }
  if (options.idpMetadata !== undefined || options.idpMetadataFile !== undefined) {
    const metadata =
      options.idpMetadata !== undefined
        ? metadataFrom('--idp-metadata', options.idpMetadata, await fetchedMetadata(options.idpMetadata), options.idpEntityId)
        : metadataFrom('--idp-metadata-file', options.idpMetadataFile!, await readText('--idp-metadata-file', options.idpMetadataFile!), options.idpEntityId);
    return { ...metadata, sloUrl: options.idpSloUrl ?? metadata.sloUrl };
  }
  if (options.idpSsoUrl === undefined || options.idpCertFile === undefined) {
    throw new CapsuleError('INVALID_ARGUMENT', "give the identity provider's metadata with --idp-metadata URL or --idp-metadata-file FILE, or --idp-sso-url URL with --idp-cert-file PEM");
  }
  if (options.idpEntityId === undefined || options.idpEntityId.trim() === '') {
    throw new CapsuleError('INVALID_ARGUMENT', "give the identity provider's entity id with --idp-entity-id ID (its metadata names it)");
  }
  return {
    entityId: options.idpEntityId,
    ssoUrl: options.idpSsoUrl,
    sloUrl: options.idpSloUrl ?? null,
    signingCertificates: pemCertificates('--idp-cert-file', await readText('--idp-cert-file', options.idpCertFile)),
    nameIdFormats: [],
  };
}

/** The SP key pair given as files: an unencrypted RSA key and the certificate of that key. */
interface GivenSpKey {
  readonly privateKeyPem: string;
  /** null: the stored certificate stays (`--update --sp-key-file` alone re-enters the key it certifies). */
  readonly certificatePem: string | null;
}

/** The SP key pair given as files: an unencrypted RSA key and, unless the stored one stays, the certificate of that key. */
async function givenSpKey(options: SamlAddOptions): Promise<GivenSpKey | null> {
  if (options.spKeyFile === undefined && options.spCertFile === undefined) return null;
  if (options.spKeyFile === undefined || (options.spCertFile === undefined && !options.update)) {
    throw new CapsuleError('INVALID_ARGUMENT', 'give the SP key pair as both --sp-key-file and --sp-cert-file, or neither');
  }
  const privateKeyPem = await readText('--sp-key-file', options.spKeyFile);
  const certificatePem = options.spCertFile === undefined ? null : pemCertificates('--sp-cert-file', await readText('--sp-cert-file', options.spCertFile))[0]!;
  let key;
  try {
    key = createPrivateKey(privateKeyPem);
  } catch {
    // Never the file's text or the parser's words about it: it may be a private key.
    throw new CapsuleError('INVALID_ARGUMENT', `--sp-key-file ${options.spKeyFile} holds no unencrypted PEM private key`);
  }
  if (key.asymmetricKeyType !== 'rsa') throw new CapsuleError('INVALID_ARGUMENT', `--sp-key-file ${options.spKeyFile} holds a ${key.asymmetricKeyType} key: SAML needs an RSA key`);
  if (certificatePem !== null && !new X509Certificate(certificatePem).checkPrivateKey(key)) {
    throw new CapsuleError('INVALID_ARGUMENT', `--sp-cert-file ${options.spCertFile} is not the certificate of the key in --sp-key-file`);
  }
  return { privateKeyPem: key.export({ type: 'pkcs8', format: 'pem' }) as string, certificatePem };
}

/** A key given without its certificate must be the key of the stored one. */
function checkKeyOfStoredCertificate(given: GivenSpKey, stored: ConfigValues | null, keyFile: string | undefined): void {
  if (given.certificatePem !== null) return;
  const certificate = stored?.['spCertificate'];
  if (typeof certificate !== 'string' || !new X509Certificate(certificate).checkPrivateKey(createPrivateKey(given.privateKeyPem))) {
    throw new CapsuleError('INVALID_ARGUMENT', `--sp-key-file ${keyFile} is not the key of the stored SP certificate; give its certificate with --sp-cert-file too`);
  }
}

/** The IdP settings; the metadata URL only when they came from it (the health check compares with what it serves). */
function idpChanges(idp: IdpMetadata, metadataUrl: string | undefined): Record<string, ConfigValue | null> {
  return { idpUrl: checkIdpUrl('the IdP SSO URL', idp.ssoUrl), idpEntityId: idp.entityId, idpCert: [...idp.signingCertificates], idpMetadataUrl: metadataUrl ?? null };
}

/** The flags given; when adding, the ones not given too (off). */
function flagChanges(options: SamlAddOptions): Record<string, ConfigValue | null> {
  const flags = { signRequests: options.signRequests, wantEncryptedAssertions: options.wantEncryptedAssertions, allowIdpInitiated: options.allowIdpInitiated, handleLogout: options.logout };
  return Object.fromEntries(Object.entries(flags).filter(([, on]) => on === true || !options.update).map(([key, on]) => [key, on === true]));
}

/** What the options write, idp settings apart; the SP entity id is required when adding. */
function optionChanges(options: SamlAddOptions): Record<string, ConfigValue | null> {
  const changes: Record<string, ConfigValue | null> = flagChanges(options);
  if (options.spEntityId !== undefined && options.spEntityId.trim() !== '') changes.serviceProviderEntityId = options.spEntityId.trim();
  else if (!options.update) {
    throw new CapsuleError('INVALID_ARGUMENT', "give this site's SP entity id with --sp-entity-id, e.g. https://www.example.com/saml (the ACS URL is derived from its origin)");
  }
  if (options.acsUrl !== undefined) changes.assertionConsumerServiceURL = options.acsUrl === '' ? null : checkHttpUrl('--acs-url', options.acsUrl);
  if (options.title !== undefined) changes.title = options.title.trim() === '' ? null : options.title;
  if (options.userIdAttribute !== undefined) changes.userIDAttribute = options.userIdAttribute;
  if (options.groupAttribute !== undefined) changes.groupMembershipAttribute = options.groupAttribute;
  if (options.groupMap !== undefined) {
    const map = parseGroupMap(options.groupMap.flatMap((entry) => entry.split(',')).filter((entry) => entry.trim() !== ''));
    for (const target of map.values()) checkId('group', target);
    changes.groupMap = [...map].map(([from, to]) => `${from}=${to}`);
  }
  if (options.defaultGroup !== undefined) changes.defaultGroups = options.defaultGroup.map((group) => checkId('group', group));
  return changes;
}

const idpGiven = (options: SamlAddOptions) => options.idpMetadata !== undefined || options.idpMetadataFile !== undefined || options.idpSsoUrl !== undefined || options.idpCertFile !== undefined;

export async function samlAdd(name: string, options: SamlAddOptions, io: CliIO) {
  checkSamlProviderName(name);
  // Everything read and checked before the home is opened: a refused command writes nothing.
  const idp = options.update && !idpGiven(options) ? null : await idpOf(options);
  const changes = { ...(idp === null ? {} : idpChanges(idp, options.idpMetadata)), ...optionChanges(options) };
  const sloUrl = idp?.sloUrl ?? options.idpSloUrl ?? null;
  if (sloUrl !== null && (options.logout || options.idpSloUrl !== undefined)) changes.logoutUrl = checkIdpUrl('the IdP single logout URL', sloUrl);
  const given = await givenSpKey(options);
  if (given !== null) Object.assign(changes, { spPrivateKey: given.privateKeyPem, ...(given.certificatePem === null ? {} : { spCertificate: given.certificatePem }) });
  if (options.update && Object.keys(changes).length === 0) throw new CapsuleError('INVALID_ARGUMENT', 'nothing to update: give the options to change');
  const { keyId, warnings } = await withHome(options, io, async (s) => {
    registerSaml(s);
    const pid = samlPid(name);
    const stored = s.config.stored(pid);
    if (stored !== null && !options.update) throw new CapsuleError('INVALID_ARGUMENT', `${SAML.noun} ${name} exists; change it with --update, or remove it first`);
    if (stored === null && options.update) throw new CapsuleError('CONFIG_NOT_FOUND', `no ${SAML.noun} ${name} to update; add it without --update`);
    // One name space for every login provider: the login page and provisioning claims name a provider by it alone.
    if (s.config.stored(oidcPid(name)) !== null) throw new CapsuleError('INVALID_ARGUMENT', `${name} is the name of an OpenID provider; give the SAML identity provider another name`);
    if (options.logout && changes.logoutUrl === undefined && typeof stored?.['logoutUrl'] !== 'string') {
      throw new CapsuleError('INVALID_ARGUMENT', '--logout: the IdP names no single logout URL (HTTP-Redirect); give it with --idp-slo-url URL');
    }
    if (given !== null) checkKeyOfStoredCertificate(given, stored, options.spKeyFile);
    const made = given === null && stored === null ? generateSpKeyPair(s.clock, { commonName: `Capsule SAML SP ${name}` }) : null;
    await s.config.update(pid, made === null ? changes : { ...changes, spPrivateKey: made.privateKeyPem, spCertificate: made.certificatePem });
    return { keyId: given === null && made === null ? null : describeSpPrivateKey(settingsIn(s, name), s.crypto).keyId, warnings: referenceWarnings(s, pid, io.env) };
  });
  const protectedWith = keyId === null ? '' : ` (SP private key encrypted with master key ${keyId})`;
  const next = options.update
    ? `test it with 'capsule saml check ${name}'${given?.certificatePem == null ? '' : `; give the IdP the new SP metadata from 'capsule saml metadata ${name}'`}`
    : `give the IdP the SP metadata from 'capsule saml metadata ${name}', then test it with 'capsule saml check ${name}'`;
  io.out(`${options.update ? 'updated' : 'added'} ${SAML.noun} ${name}${protectedWith}; ${next}`);
  // What is now trusted to sign logins, for the administrator to compare with the IdP's own display.
  for (const certificate of idp?.signingCertificates.map(certificateDates) ?? []) {
    io.out(`trusting IdP certificate ${certificate.subject}, SHA-256 ${certificate.fingerprint256}, valid until ${certificate.notAfter.slice(0, 10)}`);
  }
  if (warnings.length > 0) io.err(referenceWarningLine(warnings));
}

function certificateDates(pem: string) {
  const certificate = new X509Certificate(pem);
  return { subject: certificate.subject, fingerprint256: certificate.fingerprint256, notAfter: new Date(certificate.validTo).toISOString() };
}

function acsUrlOrNull(settings: SamlSettings): string | null {
  try {
    return samlAcsUrl(settings);
  } catch {
    return null;
  }
}

export async function samlList(options: Options, io: CliIO) {
  const providers = await withHome(options, io, async (s) => {
    registerSaml(s);
    return providerNames(s).map((name) => {
      const settings = settingsIn(s, name);
      return {
        name,
        pid: settings.pid,
        title: settings.title,
        idpEntityId: settings.idpEntityId,
        idpUrl: settings.idpUrl,
        idpMetadataUrl: settings.idpMetadataUrl,
        idpCertificates: settings.idpCertificates.map(certificateDates),
        spEntityId: settings.spEntityId,
        acsUrl: acsUrlOrNull(settings),
        spCertificate: settings.spCertificate === null ? null : certificateDates(settings.spCertificate),
        spPrivateKey: describeSpPrivateKey(settings, s.crypto),
        userIdAttribute: settings.userIdAttribute,
        groupMembershipAttribute: settings.groupMembershipAttribute,
        groupMap: Object.fromEntries(settings.groupMap),
        defaultGroups: settings.defaultGroups,
        signRequests: settings.signRequests,
        wantEncryptedAssertions: settings.wantEncryptedAssertions,
        allowIdpInitiated: settings.allowIdpInitiated,
        handleLogout: settings.handleLogout,
      };
    });
  });
  if (options.json) return printJson(io, providers);
  if (providers.length === 0) return io.out(`no ${SAML.noun}s; add one with 'capsule saml add'`);
  printTable(
    io,
    ['NAME', 'TITLE', 'IDP ENTITY ID', 'SSO URL', 'IDP CERT UNTIL', 'SP KEY'],
    providers.map((provider) => [
      provider.name,
      provider.title,
      provider.idpEntityId,
      provider.idpUrl,
      provider.idpCertificates.map((certificate) => certificate.notAfter.slice(0, 10)).join(',') || '-',
      secretCell(provider.spPrivateKey),
    ]),
  );
}

export async function samlMetadata(name: string, options: HomeOptions, io: CliIO) {
  checkSamlProviderName(name);
  const xml = await withHome(options, io, async (s) => {
    registerSaml(s);
    const settings = settingsIn(s, name);
    return spMetadataXml(settings, revealSpPrivateKey(settings, s.crypto));
  });
  io.out(xml);
}

export async function samlCheckCommand(name: string | undefined, options: Options, io: CliIO) {
  const results = await withHome(options, io, async (s): Promise<SamlCheckResult[]> => {
    registerSaml(s);
    if (name !== undefined) settingsIn(s, checkSamlProviderName(name)); // an unknown name is bad input, not a failed check
    const names = name === undefined ? providerNames(s) : [name];
    return Promise.all(names.map((each) => checkSamlProviderWithMetadata(each, () => settingsIn(s, each), { crypto: s.crypto, clock: s.clock, fetchMetadata: fetchIdpMetadata })));
  });
  reportChecks(SAML, results, options, io);
}

export async function samlRemove(name: string, options: HomeOptions, io: CliIO) {
  await removeFactoryConfig(SAML, name, samlPid(name), options, io);
  io.out(`removed ${SAML.noun} ${name}; users it created stay (without a password)`);
}

export function registerSamlCommands(program: Command, io: CliIO): void {
  const saml = program.command('saml').description(`single sign-on with SAML 2.0 identity providers (${SAML_PID}~NAME; SP private keys encrypted)`);
  homeOption(
    saml
      .command('add <name>')
      .description("add a SAML 2.0 identity provider; Capsule makes the SP key pair (the private key is encrypted with the master key and never shown) unless one is given"),
  )
    .option('--idp-metadata <url>', "fetch the identity provider's SAML metadata from this URL (https; plain http only to loopback); it is kept, and the health check warns when the certificates it lists change")
    .option('--idp-metadata-file <file>', "the identity provider's SAML metadata (entity id, SSO and SLO URLs, signing certificates)")
    .option('--idp-entity-id <id>', "the identity provider's entity id (with --idp-sso-url; or to pick one entity of aggregate metadata)")
    .option('--idp-sso-url <url>', "the identity provider's single sign-on URL, HTTP-Redirect binding (https; plain http only to loopback)")
    .option('--idp-cert-file <pem>', "the identity provider's signing certificate(s), PEM (with --idp-sso-url)")
    .option('--idp-slo-url <url>', "the identity provider's single logout URL, HTTP-Redirect binding (for --logout, when the metadata names none)")
    .option('--title <title>', "shown on the login page as 'Sign in with <title>'")
    .option('--sp-entity-id <id>', "this site's SP entity id, e.g. https://www.example.com/saml; the ACS URL is <its origin>/system/sling/saml/NAME/acs")
    .option('--acs-url <url>', 'the full ACS URL as browsers see it, when it is not <SP entity id origin>/system/sling/saml/NAME/acs')
    .option('--user-id-attribute <attribute>', 'the attribute that becomes the user id (default: the NameID)')
    .option('--group-attribute <attribute>', "the attribute listing the groups (default 'groupMembership'; '' for none)")
    .option('--group-map <idp=capsule,...>', 'map IdP groups to Capsule groups (comma-separated, repeatable); other IdP groups are ignored', collect)
    .option('--default-group <group>', 'a group every user of this provider joins (repeatable)', collect)
    .option('--sign-requests', 'sign authentication requests with the SP key')
    .option('--want-encrypted-assertions', 'refuse assertions not encrypted to the SP key')
    .option('--allow-idp-initiated', "accept sign-ins the IdP starts (each assertion once); this allows login CSRF: any site can post an IdP-initiated response of the attacker's own account and sign the visitor in as the attacker")
    .option('--logout', "logging out also logs out at the IdP (single logout)")
    .option('--sp-key-file <pem>', 'use this RSA private key (unencrypted PEM) as the SP key instead of making one')
    .option('--sp-cert-file <pem>', 'the certificate of --sp-key-file, published in the SP metadata (with --update: leave it out to keep the stored one)')
    .option('--update', "change an existing provider: only the options given are written (flags only turn on; turn one off with 'capsule config set')")
    .action((name: string, options: SamlAddOptions) => samlAdd(name, options, io));
  jsonOption(homeOption(saml.command('list').description('every SAML identity provider with its IdP certificates\' expiry; the SP key only as set/not set and its key id'))).action(
    (options: Options) => samlList(options, io),
  );
  homeOption(saml.command('metadata <name>').description('print the SP metadata (XML) to give the identity provider: entity id, ACS URL, SP certificate')).action(
    (name: string, options: HomeOptions) => samlMetadata(name, options, io),
  );
  jsonOption(
    homeOption(
      saml
        .command('check [name]')
        .description('IdP certificates valid (warning 30 days before expiry), SP key decrypts and matches the SP certificate, IdP metadata URL answers with the configured certificates? exit 1 when a check fails'),
    ),
  ).action((name: string | undefined, options: Options) => samlCheckCommand(name, options, io));
  homeOption(saml.command('remove <name>').description('remove a SAML identity provider configuration')).action((name: string, options: HomeOptions) => samlRemove(name, options, io));
}
