import { randomBytes } from 'node:crypto';
import { SamlLogoutError } from './logout-error.js';
import { readRedirectMessage, type RedirectMessage } from './logout-message.js';
import { checkRedirectMessage, logoutRequestUrl, logoutResponseUrl } from './logout-request.js';
import { openSamlLogoutState, SAML_LOGOUT_LIFETIME_S, sealSamlLogoutState } from './logout-state.js';
import { SAML_PID, samlPid, samlProviderNameOf, samlSettings, type SamlSettings } from './saml-config.js';
import type { SamlLoginDeps } from './saml-login.js';
import { revealSpPrivateKey } from './sp-private-key.js';

/**
 * SAML single logout (`handleLogout`), HTTP-Redirect both ways:
 * - SP-initiated: Capsule's logout has ended the token; `begin` says whether the user came from
 *   a provider that handles logout and seals what the LogoutRequest needs into a cookie;
 *   `requestUrl` builds the request; `complete` checks the IdP's LogoutResponse against it.
 * - IdP-initiated: `receiveRequest` checks the IdP's signed LogoutRequest and names the user it
 *   ends (only one this provider provisioned with that NameID); the caller ends the user's
 *   tokens, then sends the browser back with `respond`.
 */

/** The NameID format sent when the provider accepts any (the sign-in did not record which one came). */
const NAMEID_FORMAT_UNSPECIFIED = 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified';
/** How long after its IssueInstant an IdP's LogoutRequest is taken (without NotOnOrAfter it would be forever); also how long its ID is remembered. */
const MAX_REQUEST_AGE_MS = SAML_LOGOUT_LIFETIME_S * 1000;
/** SAML bindings 3.4.3: RelayState is at most 80 bytes. */
const MAX_RELAY_STATE = 80;

/** What the login needs, the logout needs too: the replay store is the login's (assertion and LogoutRequest IDs do not meet: each is kept under its own key). */
export type SingleLogoutDeps = SamlLoginDeps;

/** This SP's single logout URL for a provider, as the browser sees it (the caller knows the route and the site). */
export type SloUrlOf = (settings: SamlSettings) => string;

export interface BegunSingleLogout {
  readonly provider: string;
  /** The sealed logout state, for the `__Host-capsule-saml-logout` cookie. */
  readonly stateCookie: string;
}

export interface ReceivedLogoutRequest {
  readonly nameId: string;
  /** The users whose tokens end: usually one; none when this provider provisioned no user with that NameID here. */
  readonly userIds: readonly string[];
  /** The IdP's URL with the LogoutResponse (Success when a user was named, else UnknownPrincipal). */
  respond(): Promise<string>;
}

export interface SingleLogout {
  /** After Capsule's logout of `userId`: the logout state when a provider that handles logout provisioned the user, else null. */
  begin(userId: string): Promise<BegunSingleLogout | null>;
  /**
   * The IdP's URL with the LogoutRequest of the browser's logout state, and the state that
   * replaces it (it takes the IdP's response, never starts another request: a page that sends
   * the browser here again starts nothing); null when the browser has no unsent state for this provider.
   */
  requestUrl(name: string, options: { stateCookie: string | undefined; sloUrl: SloUrlOf }): Promise<{ url: string; stateCookie: string } | null>;
  /** Checks the IdP's LogoutResponse. Throws SamlLogoutError. */
  complete(name: string, options: { rawQuery: string; stateCookie: string | undefined; sloUrl: SloUrlOf }): Promise<void>;
  /** Checks the IdP's LogoutRequest; ends nothing itself. Throws SamlLogoutError. */
  receiveRequest(name: string, options: { rawQuery: string; sloUrl: SloUrlOf }): Promise<ReceivedLogoutRequest>;
  /** Whether the query carries a LogoutRequest (else it is taken as a LogoutResponse). */
  isRequest(rawQuery: string): boolean;
}

function requestId(): string {
  return `_${randomBytes(20).toString('hex')}`;
}

/** node-saml's words, mapped to what an administrator fixes. */
function libraryRefusal(error: unknown): SamlLogoutError {
  const message = error instanceof Error ? error.message : String(error);
  if (/query signature/i.test(message)) return new SamlLogoutError('signature-invalid', 'a signature by a configured IdP certificate', 'a signature that does not verify', { cause: error });
  if (/issuer/i.test(message)) return new SamlLogoutError('issuer', null, message, { cause: error });
  if (/expired|not yet valid/i.test(message)) return new SamlLogoutError('expired', 'a logout request within its validity', message, { cause: error });
  if (/status code/i.test(message)) return new SamlLogoutError('idp-status', 'urn:oasis:names:tc:SAML:2.0:status:Success', message.replace(/^Bad status code: /, ''), { cause: error });
  if (/InResponseTo/.test(message)) return new SamlLogoutError('in-response-to', 'the ID of the logout started in this browser', message, { cause: error });
  return new SamlLogoutError('rejected', null, message, { cause: error });
}

export function createSingleLogout(deps: SingleLogoutDeps): SingleLogout {
  const { config, crypto, users, clock } = deps;

  /** The provider's settings when it handles logout; a message for any other is refused. */
  function handling(name: string): SamlSettings {
    const pid = samlPid(name);
    const settings = config.stored(pid) === null ? null : samlSettings(name, config.current(pid));
    if (settings === null || !settings.handleLogout || settings.logoutUrl === null) {
      throw new SamlLogoutError('not-handled', `a SAML identity provider ${name} with handleLogout and a logoutUrl`, settings === null ? 'no such provider' : 'single logout is off');
    }
    return settings;
  }

  const spKeyOf = (settings: SamlSettings): string | null => (settings.storedSpPrivateKey === null ? null : revealSpPrivateKey(settings, crypto));

  function read(rawQuery: string, kind: RedirectMessage['kind']): RedirectMessage {
    const message = readRedirectMessage(rawQuery);
    if (message.kind !== kind) throw new SamlLogoutError('malformed', `a logout ${kind}`, `a logout ${message.kind}`);
    return message;
  }

  function checkAddress(settings: SamlSettings, message: RedirectMessage, sloUrl: string): void {
    // A signed message must name its Issuer and Destination (bindings 3.4.5.2); an unsigned one, where it names them, must name them right.
    if ((message.signed || message.issuer !== null) && message.issuer !== settings.idpEntityId) throw new SamlLogoutError('issuer', settings.idpEntityId, message.issuer);
    if ((message.signed || message.destination !== null) && message.destination !== sloUrl) throw new SamlLogoutError('destination', sloUrl, message.destination);
  }

  /**
   * The users this provider provisioned with this NameID (never a local user, another provider's
   * or another subject's): one index lookup, whether the user id is the NameID or came from an
   * attribute, so a logout costs the same among a million users as among ten.
   */
  async function usersOf(settings: SamlSettings, nameId: string, nameIdFormat: string | null): Promise<readonly string[]> {
    if (settings.nameIdFormat !== null && nameIdFormat !== null && nameIdFormat !== settings.nameIdFormat) return [];
    return users.findExternalUsers(settings.name, nameId);
  }

  return {
    isRequest: (rawQuery) => rawQuery.split('&').some((pair) => pair.startsWith('SAMLRequest=')),

    async begin(userId) {
      const identity = await users.externalIdentityOf(userId);
      // An OpenID Connect user's provider is no SAML PID (the names are one space, see external-provisioning.ts).
      if (identity === null || samlProviderNameOf(`${SAML_PID}~${identity.provider}`) === null) return null;
      const pid = samlPid(identity.provider);
      if (config.stored(pid) === null) return null;
      const settings = samlSettings(identity.provider, config.current(pid));
      if (!settings.handleLogout) return null;
      if (settings.logoutUrl === null) {
        deps.logger.warn({ provider: settings.name, userId }, `SAML identity provider ${settings.name} has handleLogout on but no logoutUrl: the logout ends the session here only; set logoutUrl to the IdP's single logout URL (HTTP-Redirect)`);
        return null;
      }
      const stateCookie = sealSamlLogoutState(
        { provider: settings.name, requestId: requestId(), nameId: identity.subject, nameIdFormat: settings.nameIdFormat ?? NAMEID_FORMAT_UNSPECIFIED, beganAt: clock.now(), sent: false },
        crypto,
      );
      return { provider: settings.name, stateCookie };
    },

    async requestUrl(name, options) {
      const settings = handling(name);
      const state = openSamlLogoutState(options.stateCookie, crypto, clock.now());
      if (state === null || state.provider !== name || state.sent) return null;
      const url = await logoutRequestUrl(settings, state, { sloUrl: options.sloUrl(settings), spKey: spKeyOf(settings) });
      return { url, stateCookie: sealSamlLogoutState({ ...state, sent: true }, crypto) };
    },

    async complete(name, options) {
      const settings = handling(name);
      const message = read(options.rawQuery, 'response');
      const state = openSamlLogoutState(options.stateCookie, crypto, clock.now());
      if (state === null || state.provider !== name || message.inResponseTo !== state.requestId) {
        throw new SamlLogoutError('in-response-to', state === null ? 'a logout started in this browser (no logout state came with the response)' : state.requestId, message.inResponseTo);
      }
      // Unsigned, anyone could answer for the IdP (a stripped signature, or a response made up
      // with the request ID the browser showed); IdPs sign their logout messages (SimpleSAMLphp: sign.logout).
      if (!message.signed) throw new SamlLogoutError('unsigned', 'a Signature and SigAlg in the query', 'no signature');
      const sloUrl = options.sloUrl(settings);
      checkAddress(settings, message, sloUrl);
      try {
        await checkRedirectMessage(settings, message, { sloUrl, spKey: spKeyOf(settings), answers: { id: state.requestId, at: new Date(state.beganAt) } });
      } catch (error) {
        throw error instanceof SamlLogoutError ? error : libraryRefusal(error);
      }
    },

    async receiveRequest(name, options) {
      const settings = handling(name);
      const message = read(options.rawQuery, 'request');
      if (!message.signed) throw new SamlLogoutError('unsigned', 'a Signature and SigAlg in the query', 'no signature');
      const sloUrl = options.sloUrl(settings);
      checkAddress(settings, message, sloUrl);
      const nowMs = clock.now();
      const toleranceMs = settings.clockToleranceSeconds * 1000;
      if (message.issueInstant === null) throw new SamlLogoutError('malformed', 'an IssueInstant', 'none');
      if (message.notOnOrAfter !== null && nowMs - toleranceMs >= message.notOnOrAfter.getTime()) {
        throw new SamlLogoutError('expired', `NotOnOrAfter after ${new Date(nowMs).toISOString()}`, message.notOnOrAfter.toISOString());
      }
      if (message.issueInstant.getTime() + MAX_REQUEST_AGE_MS + toleranceMs <= nowMs || message.issueInstant.getTime() - toleranceMs > nowMs) {
        throw new SamlLogoutError('expired', `IssueInstant within ${MAX_REQUEST_AGE_MS / 1000} s before ${new Date(nowMs).toISOString()}`, message.issueInstant.toISOString());
      }
      const spKey = spKeyOf(settings);
      let subject: { nameId: string; nameIdFormat: string | null } | null;
      try {
        subject = await checkRedirectMessage(settings, message, { sloUrl, spKey });
      } catch (error) {
        throw libraryRefusal(error);
      }
      if (subject === null) throw new SamlLogoutError('malformed', 'a NameID', 'none');
      // Claimed only once the signature verified: a forged request cannot use up the ID of a real one.
      const until = new Date(Math.max(message.issueInstant.getTime() + MAX_REQUEST_AGE_MS, message.notOnOrAfter?.getTime() ?? 0) + toleranceMs);
      if (!(await deps.replay.claim(`slo ${name} ${message.id}`, until))) throw new SamlLogoutError('replayed', 'a LogoutRequest ID not seen before', message.id);
      const userIds = await usersOf(settings, subject.nameId, subject.nameIdFormat);
      const relayState = message.container.RelayState;
      return {
        nameId: subject.nameId,
        userIds,
        respond: () =>
          logoutResponseUrl(
            settings,
            { requestId: message.id, success: userIds.length > 0, relayState: relayState !== undefined && Buffer.byteLength(relayState) <= MAX_RELAY_STATE ? relayState : null },
            { sloUrl, spKey },
          ),
      };
    },
  };
}
