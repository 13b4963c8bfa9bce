import { generateServiceProviderMetadata } from '@node-saml/node-saml';
import type { Clock } from '../../clock.js';
import type { ConfigAdmin } from '../../config/index.js';
import type { CryptoSupport } from '../../crypto/index.js';
import { CapsuleError } from '../../errors.js';
import type { Log } from '../../log.js';
import type { User, UserManager } from '../../users/index.js';
import { MAX_PROVISIONING_CLAIM_BYTES, provisioningClaimOf, signInExternalUser } from '../external-provisioning.js';
import type { ProvisioningClaim } from '../types.js';
import { validateSamlResponse } from './acs.js';
import type { AssertionReplayStore } from './assertion-replay.js';
import { beginSamlRequest } from './authn-request.js';
import { openSamlLoginState, SAML_STATE_LIFETIME_S, sealSamlLoginState } from './login-state.js';
import { samlPid, samlProviderNameOf, samlSettings, SAML_PID, type SamlSettings } from './saml-config.js';
import { samlIdentity } from './saml-identity.js';
import { SamlLoginError } from './saml-login-error.js';
import { withRedirectLogoutBinding } from './sp-metadata.js';
import { revealSpPrivateKey } from './sp-private-key.js';

export interface SamlLoginDeps {
  readonly config: ConfigAdmin;
  readonly crypto: CryptoSupport;
  readonly users: UserManager;
  readonly clock: Clock;
  readonly logger: Log;
  /** Where accepted assertions are recorded (per instance until a farm-wide store exists, issue 26). */
  readonly replay: AssertionReplayStore;
}

/** The ACS URL of a provider, given its settings: the configured one, else the site's own (the caller knows the route). */
export type AcsUrlOf = (settings: SamlSettings) => string;

export interface BegunSamlLogin {
  /** The IdP's SSO URL with the AuthnRequest (HTTP-Redirect). */
  readonly url: string;
  /** The sealed login state, for the `__Host-capsule-saml-state` cookie. */
  readonly stateCookie: string;
}

export interface CompletedSamlLogin {
  readonly user: User;
  readonly provisioning: ProvisioningClaim;
  /** From the login state; null for an IdP-initiated sign-in (RelayState is never trusted). */
  readonly resource: string | null;
}

export interface SamlLogin {
  /** Names of every configured provider, sorted. */
  names(): string[];
  /** For the login page: name and title of each provider. */
  providers(): Array<{ name: string; title: string }>;
  settings(name: string): SamlSettings;
  /** Starts an SP-initiated sign-in. */
  begin(name: string, options: { acsUrl: AcsUrlOf; resource: string | null }): Promise<BegunSamlLogin>;
  /** Validates the posted response against the browser's login state and signs the person in. Throws SamlLoginError for every refusal. */
  complete(name: string, options: { acsUrl: AcsUrlOf; samlResponse: string; stateCookie: string | undefined }): Promise<CompletedSamlLogin>;
  /** The SP metadata an IdP administrator imports. */
  metadata(name: string, options: { acsUrl: AcsUrlOf; sloUrl?: AcsUrlOf }): string;
}

export function createSamlLogin(deps: SamlLoginDeps): SamlLogin {
  const { config, crypto, users, clock, logger } = deps;

  function settingsOf(name: string): SamlSettings {
    const pid = samlPid(name);
    if (config.stored(pid) === null) throw new CapsuleError('CONFIG_NOT_FOUND', `no SAML identity provider ${name}`);
    return samlSettings(name, config.current(pid));
  }

  const spKeyOf = (settings: SamlSettings): string | null => (settings.storedSpPrivateKey === null ? null : revealSpPrivateKey(settings, crypto));

  async function signIn(settings: SamlSettings, userId: string, subject: string, groups: readonly string[]): Promise<{ user: User; provisioning: ProvisioningClaim }> {
    const provisioning = provisioningClaimOf(settings.name, subject, groups, clock);
    if (provisioning === null) {
      throw new SamlLoginError('too-many-groups', `a NameID and groups within ${MAX_PROVISIONING_CLAIM_BYTES} bytes (narrow the group map)`, `a ${subject.length}-character NameID and ${groups.length} groups`);
    }
    const signedIn = await signInExternalUser(users, userId, { provider: settings.name, subject, groups });
    if ('refused' in signedIn) {
      const { kind, detail } = signedIn.refused;
      throw kind === 'disabled'
        ? new SamlLoginError('disabled', `an enabled user ${userId}`, 'a disabled user')
        : new SamlLoginError('account-elsewhere', `${userId} unknown here or signed in before by ${settings.name} as ${subject}`, detail);
    }
    return { user: signedIn.user, provisioning };
  }

  const service: SamlLogin = {
    names: () =>
      config
        .list()
        .filter(({ pid }) => pid.startsWith(`${SAML_PID}~`))
        .map(({ pid }) => samlProviderNameOf(pid))
        .filter((name): name is string => name !== null)
        .sort(),

    providers: () => service.names().map((name) => ({ name, title: settingsOf(name).title })),

    settings: settingsOf,

    async begin(name, options) {
      const settings = settingsOf(name);
      const begun = await beginSamlRequest(settings, { acsUrl: options.acsUrl(settings), signingKey: settings.signRequests ? spKeyOf(settings) : null });
      return { url: begun.url, stateCookie: sealSamlLoginState({ provider: name, request: begun.request, resource: options.resource }, crypto) };
    },

    async complete(name, options) {
      const settings = settingsOf(name);
      const state = openSamlLoginState(options.stateCookie, crypto, clock.now());
      // A state of another provider answers no request of this one.
      const request = state !== null && state.provider === name ? state.request : null;
      const assertion = await validateSamlResponse(
        settings,
        { samlResponse: options.samlResponse, acsUrl: options.acsUrl(settings), request },
        { decryptionKey: spKeyOf(settings), requestLifetimeMs: SAML_STATE_LIFETIME_S * 1000, replay: deps.replay, clock },
      );
      const identity = samlIdentity(settings, assertion, logger);
      const { user, provisioning } = await signIn(settings, identity.userId, assertion.nameId, identity.groups);
      logger.info({ provider: name, userId: user.id, groups: provisioning.g, idpInitiated: request === null }, 'signed in with SAML');
      return { user, provisioning, resource: request === null ? null : state!.resource };
    },

    metadata(name, options) {
      const settings = settingsOf(name);
      const spKey = spKeyOf(settings);
      const certificate = settings.spCertificate;
      const xml = generateServiceProviderMetadata({
        issuer: settings.spEntityId,
        callbackUrl: options.acsUrl(settings),
        identifierFormat: settings.nameIdFormat,
        wantAssertionsSigned: true,
        ...(settings.handleLogout && options.sloUrl ? { logoutCallbackUrl: options.sloUrl(settings) } : {}),
        // Each key descriptor only where this SP uses it: encryption when it holds a key and its certificate, signing when it signs requests.
        ...(spKey && certificate ? { decryptionPvk: spKey, decryptionCert: certificate } : {}),
        ...(spKey && certificate && settings.signRequests ? { privateKey: spKey, publicCerts: certificate } : {}),
      });
      return settings.handleLogout && options.sloUrl ? withRedirectLogoutBinding(xml) : xml;
    },
  };
  return service;
}
