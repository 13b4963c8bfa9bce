import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { systemClock } from '../../clock.js';
import { CapsuleError } from '../../errors.js';
import { homeLayout, readRepositoryLocation, resolveHome, writeRepositoryLocation, type RepositoryLocation } from '../../instance/home.js';
import { lockHome } from '../../instance/home-lock.js';
import { openHomeRepository } from '../../instance/services.js';
import {
  copyRepository,
  isPostgresUrl,
  openPostgresRepository,
  openSqliteRepository,
  parsePostgresUrl,
  type Repository,
} from '../../repository/index.js';
import { printJson, type CliIO } from '../io.js';
import { homeOption, jsonOption, type HomeOptions, type JsonOption } from '../with-home.js';

type Options = HomeOptions & JsonOption;

async function openSource(options: HomeOptions, io: CliIO): Promise<Repository> {
  const home = homeLayout(resolveHome(options.home, io.env));
  const location = readRepositoryLocation(home);
  if (location.backend === 'sqlite' && !location.remembered) {
    // The SQLite file must exist: a command never creates a home.
    if (!existsSync(location.file)) {
      throw new CapsuleError('HOME_UNREADABLE', `no Capsule home at ${home.root}; start an instance there first or pass --home`);
    }
  }
  return openHomeRepository(home, { create: false, clock: systemClock, url: io.env.CAPSULE_REPOSITORY_URL, env: io.env });
}

export async function repositoryInfo(options: Options, io: CliIO): Promise<void> {
  const repo = await openSource(options, io);
  try {
    const info = await repo.info();
    if (options.json) printJson(io, info);
    else {
      io.out(
        [
          `backend         ${info.backend}`,
          `location        ${info.location}`,
          `schema version  ${info.schemaVersion}`,
          `nodes           ${info.nodeCount}`,
          `size            ${Math.round(info.sizeBytes / 1024)} KiB`,
          ...(info.warnings ?? []).map((warning) => `warning         ${warning}`),
        ].join('\n'),
      );
    }
  } finally {
    await repo.close();
  }
}

export async function repositoryCopy(options: Options & { to?: string }, io: CliIO): Promise<void> {
  if (!options.to) throw new CapsuleError('INVALID_ARGUMENT', 'name the target with --to postgres://USER@HOST:PORT/DATABASE or --to FILE.sqlite');
  const home = homeLayout(resolveHome(options.home, io.env));
  const to = options.to;
  const target: RepositoryLocation = isPostgresUrl(to)
    ? { backend: 'postgres', url: parsePostgresUrl(to, io.env).display }
    : { backend: 'sqlite', file: resolve(to) };
  const from = readRepositoryLocation(home);
  const fromText = from.backend === 'postgres' ? from.url : from.file;
  const toText = target.backend === 'postgres' ? target.url : target.file;
  if (fromText === toText) throw new CapsuleError('INVALID_ARGUMENT', `the home already uses ${toText}`);

  // The home must be stopped: a running instance would write to the source after it was read.
  if (!existsSync(home.root)) throw new CapsuleError('HOME_UNREADABLE', `no Capsule home at ${home.root}; pass --home`);
  const lock = lockHome(home.root);
  try {
    await copyAndSwitch();
  } finally {
    lock.release();
  }

  async function copyAndSwitch(): Promise<void> {
    const source = await openSource(options, io);
    const bar = process.stderr.isTTY && !options.json ? new SingleBar({ format: 'copying {bar} {value}/{total} nodes', stream: process.stderr }) : null;
    try {
      const destination =
        target.backend === 'postgres'
          ? await openPostgresRepository({ url: to, create: true, clock: systemClock, env: io.env })
          : openSqliteRepository({ file: target.file, create: true, clock: systemClock });
      try {
        let barStarted = false;
        const result = await copyRepository(source, destination, {
          onProgress: (done, total) => {
            if (!barStarted) bar?.start(total, 0);
            barStarted = true;
            bar?.update(done);
          },
        });
        bar?.stop();
        writeRepositoryLocation(home, target);
        const message = `copied ${result.nodes} nodes and ${result.counters} counters from ${fromText} to ${toText} and compared them; the home now uses ${toText} (${fromText} was left as it was)`;
        if (options.json) printJson(io, { ...result, from: fromText, to: toText, switched: true });
        else io.out(message);
      } finally {
        await destination.close();
      }
    } finally {
      bar?.stop();
      await source.close();
    }
  }
}

export function registerRepositoryCommands(program: Command, io: CliIO): void {
  const repository = program.command('repository').description("the home's repository: where it is, and moving it between SQLite and PostgreSQL");
  jsonOption(homeOption(repository.command('info').description('backend, location (never the password), schema version, nodes and size'))).action(
    (options: Options) => repositoryInfo(options, io),
  );
  jsonOption(
    homeOption(
      repository
        .command('copy')
        .description('copy every node of a stopped home into an empty PostgreSQL database (or SQLite file), verify it, and switch the home to it'),
    ),
  )
    .option('--to <target>', 'postgres://USER[:PASSWORD]@HOST:PORT/DATABASE (empty), or a new SQLite file')
    .action((options: Options & { to?: string }) => repositoryCopy(options, io));
}
