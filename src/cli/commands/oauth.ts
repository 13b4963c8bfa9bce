import type { Command } from 'commander';
import type { ConfigValue } from '../../config/index.js';
import { CapsuleError } from '../../errors.js';
import {
  AUTH_METHODS,
  checkClientName,
  createOAuthClients,
  describeClientSecret,
  oauthClientPid,
  type OAuthCheckResult,
} from '../../oauth/index.js';
import { checkHttpUrl, readSecretFromStdin, removeFactoryConfig, reportChecks, saveFactoryConfig, secretCell, type FactoryKind } from '../factory-config.js';
import { printJson, printTable, type CliIO } from '../io.js';
import { homeOption, jsonOption, withHome, type HomeOptions, type JsonOption } from '../with-home.js';

type Options = HomeOptions & JsonOption;

const OAUTH: FactoryKind = { noun: 'OAuth client', command: 'oauth' };

export interface OAuthAddOptions extends HomeOptions {
  readonly tokenEndpoint?: string;
  readonly clientId?: string;
  readonly clientSecretStdin?: boolean;
  readonly scope?: string;
  readonly audience?: string;
  readonly authMethod?: string;
  readonly update?: boolean;
}

function checkAuthMethod(text: string): string {
  if (!(AUTH_METHODS as readonly string[]).includes(text)) {
    throw new CapsuleError('INVALID_ARGUMENT', `--auth-method '${text}' is neither ${AUTH_METHODS.join(' nor ')}`);
  }
  return text;
}

/** Property changes from the options given; an empty --scope or --audience removes the value. */
function changesOf(options: OAuthAddOptions): Record<string, ConfigValue | null> {
  const changes: Record<string, ConfigValue | null> = {};
  if (options.tokenEndpoint !== undefined) changes['token.endpoint'] = checkHttpUrl('--token-endpoint', options.tokenEndpoint);
  if (options.clientId !== undefined) {
    if (options.clientId.trim() === '') throw new CapsuleError('INVALID_ARGUMENT', '--client-id is empty');
    changes['client.id'] = options.clientId;
  }
  if (options.scope !== undefined) changes.scope = options.scope.trim() === '' ? null : options.scope;
  if (options.audience !== undefined) changes.audience = options.audience.trim() === '' ? null : options.audience;
  if (options.authMethod !== undefined) changes['auth.method'] = checkAuthMethod(options.authMethod);
  return changes;
}

export async function oauthAdd(name: string, options: OAuthAddOptions, io: CliIO) {
  checkClientName(name);
  const changes = changesOf(options);
  if (!options.update) {
    if (options.tokenEndpoint === undefined) throw new CapsuleError('INVALID_ARGUMENT', 'give the token endpoint with --token-endpoint URL');
    if (options.clientId === undefined) throw new CapsuleError('INVALID_ARGUMENT', 'give the client id with --client-id ID');
    if (!options.clientSecretStdin) {
      throw new CapsuleError('INVALID_ARGUMENT', 'pass the client secret on standard input with --client-secret-stdin (never as an argument)');
    }
  } else if (Object.keys(changes).length === 0 && !options.clientSecretStdin) {
    throw new CapsuleError('INVALID_ARGUMENT', 'nothing to update: give the options to change, or --client-secret-stdin');
  }
  if (options.clientSecretStdin) changes['client.secret'] = await readSecretFromStdin(io);
  await saveFactoryConfig(OAUTH, name, { ...options, secretGiven: options.clientSecretStdin === true }, io, {
    pid: oauthClientPid(name),
    changes,
    secretKeyId: (s) => describeClientSecret(createOAuthClients(s).settings(name), s.crypto).keyId,
  });
}

export async function oauthList(options: Options, io: CliIO) {
  const clients = await withHome(options, io, async (s) => {
    const oauth = createOAuthClients(s);
    return oauth.names().map((name) => {
      const settings = oauth.settings(name);
      return {
        name,
        pid: settings.pid,
        tokenEndpoint: settings.tokenEndpoint,
        clientId: settings.clientId,
        scope: settings.scope,
        audience: settings.audience,
        authMethod: settings.authMethod,
        secret: describeClientSecret(settings, s.crypto),
      };
    });
  });
  if (options.json) return printJson(io, clients);
  if (clients.length === 0) return io.out("no OAuth clients; add one with 'capsule oauth add'");
  printTable(
    io,
    ['NAME', 'TOKEN ENDPOINT', 'CLIENT ID', 'SCOPE', 'AUTH METHOD', 'SECRET'],
    clients.map((client) => [
      client.name,
      client.tokenEndpoint,
      client.clientId,
      client.scope ?? '-',
      client.authMethod,
      secretCell(client.secret),
    ]),
  );
}

export async function oauthCheck(name: string | undefined, options: Options, io: CliIO) {
  const results = await withHome(options, io, async (s): Promise<OAuthCheckResult[]> => {
    const oauth = createOAuthClients(s);
    const names = name === undefined ? oauth.names() : [name];
    if (name !== undefined) oauth.settings(checkClientName(name)); // an unknown name is bad input, not a failed check
    return Promise.all(names.map((each) => oauth.check(each)));
  });
  reportChecks(OAUTH, results, options, io);
}

export async function oauthToken(name: string, options: Options, io: CliIO) {
  const token = await withHome(options, io, (s) => createOAuthClients(s).getToken(checkClientName(name), { fresh: true }));
  if (options.json) {
    return printJson(io, { accessToken: token.value, tokenType: token.tokenType, expiresAt: new Date(token.expiresAt).toISOString(), scope: token.scope });
  }
  io.out(token.value);
}

export async function oauthRemove(name: string, options: HomeOptions, io: CliIO) {
  await removeFactoryConfig(OAUTH, name, oauthClientPid(name), options, io);
  io.out(`removed OAuth client ${name}`);
}

export function registerOAuthCommands(program: Command, io: CliIO): void {
  const oauth = program.command('oauth').description('OAuth client configurations (client-credentials grant) with encrypted secrets');
  homeOption(oauth.command('add <name>').description('add an OAuth client; the secret is read from standard input and encrypted'))
    .option('--token-endpoint <url>', "the provider's token endpoint")
    .option('--client-id <id>', 'the client id')
    .option('--client-secret-stdin', 'read the client secret from standard input')
    .option('--scope <scope>', 'space-separated scopes to ask for')
    .option('--audience <audience>', 'the audience parameter, for providers that need one')
    .option('--auth-method <method>', `${AUTH_METHODS.join(' (default) or ')}`)
    .option('--update', 'change an existing client: only the options given are changed')
    .action((name: string, options: OAuthAddOptions) => oauthAdd(name, options, io));
  jsonOption(homeOption(oauth.command('list').description('every OAuth client; the secret only as set/not set and its key id'))).action(
    (options: Options) => oauthList(options, io),
  );
  jsonOption(
    homeOption(oauth.command('check [name]').description('does the secret decrypt, and does a real grant succeed? exit 1 when a check fails')),
  ).action((name: string | undefined, options: Options) => oauthCheck(name, options, io));
  jsonOption(homeOption(oauth.command('token <name>').description('get an access token now and print it'))).action((name: string, options: Options) =>
    oauthToken(name, options, io),
  );
  homeOption(oauth.command('remove <name>').description('remove an OAuth client configuration')).action((name: string, options: HomeOptions) =>
    oauthRemove(name, options, io),
  );
}
