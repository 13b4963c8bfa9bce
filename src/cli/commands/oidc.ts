import type { Command } from 'commander';
import {
  checkProviderName,
  createOidcLogin,
  describeOidcSecret,
  ID_TOKEN_ALGS,
  oidcPid,
  parseGroupMap,
  type OidcCheckResult,
} from '../../auth/oidc/index.js';
import { samlPid } from '../../auth/saml/index.js';
import type { ConfigValue } from '../../config/index.js';
import { CapsuleError } from '../../errors.js';
import { silentLogger } from '../../instance/logger.js';
import { checkId } from '../../users/index.js';
import { checkHttpUrl, readSecretFromStdin, removeFactoryConfig, reportChecks, saveFactoryConfig, secretCell, type FactoryKind } from '../factory-config.js';
import { printJson, printTable, type CliIO } from '../io.js';
import { homeOption, jsonOption, withHome, type HomeOptions, type JsonOption } from '../with-home.js';

type Options = HomeOptions & JsonOption;

const OIDC: FactoryKind = { noun: 'OpenID provider', command: 'oidc' };

export interface OidcAddOptions extends HomeOptions {
  readonly issuer?: string;
  readonly clientId?: string;
  readonly clientSecretStdin?: boolean;
  readonly title?: string;
  readonly scope?: string;
  readonly groupsClaim?: string;
  readonly groupMap?: string[];
  readonly defaultGroup?: string[];
  readonly userIdClaim?: string;
  readonly idTokenAlg?: string;
  readonly externalUrl?: string;
  readonly update?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

function changesOf(options: OidcAddOptions): Record<string, ConfigValue | null> {
  const changes: Record<string, ConfigValue | null> = {};
  if (options.issuer !== undefined) changes.issuer = checkHttpUrl('--issuer', options.issuer);
  if (options.clientId !== undefined) {
    if (options.clientId.trim() === '') throw new CapsuleError('INVALID_ARGUMENT', '--client-id is empty');
    changes['client.id'] = options.clientId;
  }
  if (options.title !== undefined) changes.title = options.title.trim() === '' ? null : options.title;
  if (options.scope !== undefined) changes.scope = options.scope.trim() === '' ? null : options.scope;
  if (options.groupsClaim !== undefined) changes['groups.claim'] = options.groupsClaim;
  if (options.userIdClaim !== undefined) {
    if (options.userIdClaim.trim() === '') throw new CapsuleError('INVALID_ARGUMENT', '--user-id-claim is empty');
    changes['user.id.claim'] = options.userIdClaim;
  }
  if (options.groupMap !== undefined) {
    const map = parseGroupMap(options.groupMap);
    for (const target of map.values()) checkId('group', target);
    changes['group.map'] = [...map].map(([from, to]) => `${from}=${to}`);
  }
  if (options.defaultGroup !== undefined) changes['default.groups'] = options.defaultGroup.map((group) => checkId('group', group));
  if (options.idTokenAlg !== undefined) {
    if (!(ID_TOKEN_ALGS as readonly string[]).includes(options.idTokenAlg)) {
      throw new CapsuleError('INVALID_ARGUMENT', `--id-token-alg '${options.idTokenAlg}' is not one of ${ID_TOKEN_ALGS.join(', ')}`);
    }
    changes['id.token.alg'] = options.idTokenAlg;
  }
  if (options.externalUrl !== undefined) changes['external.url'] = options.externalUrl === '' ? null : checkHttpUrl('--external-url', options.externalUrl);
  return changes;
}

export async function oidcAdd(name: string, options: OidcAddOptions, io: CliIO) {
  checkProviderName(name);
  const changes = changesOf(options);
  if (!options.update) {
    if (options.issuer === undefined) throw new CapsuleError('INVALID_ARGUMENT', 'give the issuer with --issuer URL');
    if (options.clientId === undefined) throw new CapsuleError('INVALID_ARGUMENT', 'give the client id with --client-id ID');
    if (!options.clientSecretStdin) throw new CapsuleError('INVALID_ARGUMENT', 'pass the client secret on standard input with --client-secret-stdin (never as an argument)');
  } else if (Object.keys(changes).length === 0 && !options.clientSecretStdin) {
    throw new CapsuleError('INVALID_ARGUMENT', 'nothing to update: give the options to change, or --client-secret-stdin');
  }
  if (options.clientSecretStdin) changes['client.secret'] = await readSecretFromStdin(io);
  await saveFactoryConfig(OIDC, name, { ...options, secretGiven: options.clientSecretStdin === true }, io, {
    pid: oidcPid(name),
    changes,
    secretKeyId: (s) => describeOidcSecret(createOidcLogin({ ...s, logger: silentLogger() }).settings(name), s.crypto).keyId,
    check: (s) => {
      // One name space for every login provider: the login page and provisioning claims name a provider by it alone.
      if (s.config.stored(samlPid(name)) !== null) throw new CapsuleError('INVALID_ARGUMENT', `${name} is the name of a SAML identity provider; give the OpenID provider another name`);
    },
  });
}

export async function oidcList(options: Options, io: CliIO) {
  const providers = await withHome(options, io, async (s) => {
    const oidc = createOidcLogin({ ...s, logger: silentLogger() });
    return oidc.names().map((name) => {
      const settings = oidc.settings(name);
      return {
        name,
        pid: settings.pid,
        title: settings.title,
        issuer: settings.issuer,
        clientId: settings.clientId,
        scope: settings.scope,
        userIdClaim: settings.userIdClaim,
        groupsClaim: settings.groupsClaim,
        groupMap: Object.fromEntries(settings.groupMap),
        defaultGroups: settings.defaultGroups,
        idTokenAlg: settings.idTokenAlg,
        externalUrl: settings.externalUrl,
        secret: describeOidcSecret(settings, s.crypto),
      };
    });
  });
  if (options.json) return printJson(io, providers);
  if (providers.length === 0) return io.out("no OpenID providers; add one with 'capsule oidc add'");
  printTable(
    io,
    ['NAME', 'TITLE', 'ISSUER', 'CLIENT ID', 'GROUPS', 'SECRET'],
    providers.map((provider) => [
      provider.name,
      provider.title,
      provider.issuer,
      provider.clientId,
      [...Object.entries(provider.groupMap).map(([from, to]) => `${from}=${to}`), ...provider.defaultGroups.map((group) => `+${group}`)].join(',') || '-',
      secretCell(provider.secret),
    ]),
  );
}

export async function oidcCheckCommand(name: string | undefined, options: Options, io: CliIO) {
  const results = await withHome(options, io, async (s): Promise<OidcCheckResult[]> => {
    const oidc = createOidcLogin({ ...s, logger: silentLogger() });
    if (name !== undefined) oidc.settings(checkProviderName(name)); // an unknown name is bad input, not a failed check
    const names = name === undefined ? oidc.names() : [name];
    return Promise.all(names.map((each) => oidc.check(each)));
  });
  reportChecks(OIDC, results, options, io);
}

export async function oidcRemove(name: string, options: HomeOptions, io: CliIO) {
  await removeFactoryConfig(OIDC, name, oidcPid(name), options, io);
  io.out(`removed OpenID provider ${name}; users it created stay (without a password)`);
}

export function registerOidcCommands(program: Command, io: CliIO): void {
  const oidc = program.command('oidc').description('single sign-on with OpenID Connect providers (client secrets encrypted)');
  homeOption(oidc.command('add <name>').description('add an OpenID provider; the client secret is read from standard input and encrypted'))
    .option('--issuer <url>', "the provider's issuer URL (discovery at <issuer>/.well-known/openid-configuration)")
    .option('--client-id <id>', 'the client id')
    .option('--client-secret-stdin', 'read the client secret from standard input')
    .option('--title <title>', "shown on the login page as 'Sign in with <title>'")
    .option('--scope <scope>', "space-separated scopes (default 'openid profile email')")
    .option('--groups-claim <claim>', "the ID token claim listing groups (default 'groups'; '' for none)")
    .option('--group-map <from=to>', 'map a provider group to a Capsule group (repeatable)', collect)
    .option('--default-group <group>', 'a group every user of this provider joins (repeatable)', collect)
    .option('--user-id-claim <claim>', "the claim that becomes the user id (default 'sub')")
    .option('--id-token-alg <alg>', `the ID token signature algorithm: ${ID_TOKEN_ALGS.join(', ')} (default RS256)`)
    .option('--external-url <url>', "this site's base URL as browsers see it, behind a proxy")
    .option('--update', 'change an existing provider: only the options given are changed')
    .action((name: string, options: OidcAddOptions) => oidcAdd(name, options, io));
  jsonOption(homeOption(oidc.command('list').description('every OpenID provider; the secret only as set/not set and its key id'))).action((options: Options) =>
    oidcList(options, io),
  );
  jsonOption(
    homeOption(oidc.command('check [name]').description('discovery reachable, provider keys load, secret decrypts? exit 1 when a check fails')),
  ).action((name: string | undefined, options: Options) => oidcCheckCommand(name, options, io));
  homeOption(oidc.command('remove <name>').description('remove an OpenID provider configuration')).action((name: string, options: HomeOptions) =>
    oidcRemove(name, options, io),
  );
}
