// `npm run bench`: every figure of issue 17 with its goal beside it, measured in this one run on
// this machine. Record the output in BENCHMARKS.md. `npm run bench -- --only http,farm` runs some.
import { execFileSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { formatRate, median } from './measure.js';
import { benchmarkHttp, medianRoundRatio, MEMBERS_PAGE, PUBLIC_PAGE, type HttpRun } from './http.js';
import { benchmarkReplication } from './replication.js';
import { opensslHmacRate } from './openssl.js';
import { benchmarkVerification } from './verification.js';
import { benchmarkPostgres } from './postgres.js';
import { benchmarkTokenCount } from './token-count.js';
import { benchmarkLogins } from './logins.js';
import { benchmarkSamlAcs } from './saml-acs.js';
import { benchmarkFarm } from './farm.js';
import { benchmarkBruteForce, KEYCLOAK_SIZING_URL } from './brute-force.js';
import { benchmarkPackageApply, type ApplyRun } from './package-apply.js';
import { benchmarkSessions } from './sessions.js';
import { benchmarkBackfill, type BackfillRun } from './backfill.js';
import { ALL_CPUS, LOAD_CPU, pin, PINNED, SERVER_CPU } from './pinning.js';
import { printMillionUsers } from './million-users-report.js';
import { benchmarkMillionUsers } from './million-users.js';
import { benchmarkLoginsPerCore } from './logins-per-core.js';
import { startPostgres } from '../test/helpers/postgres-cluster.js';
import { benchmarkRepositoryCopy, copyLine, type CopyRun } from './repository-copy.js';

const log = (line: string) => console.error(`  … ${line}`);
const percent = (value: number) => `${(value * 100).toFixed(0)}%`;
const met = (ok: boolean) => (ok ? 'met' : 'NOT met');
const onlyArgument = process.argv.indexOf('--only');
const only = onlyArgument > 0 ? new Set((process.argv[onlyArgument + 1] ?? '').split(',')) : undefined;
const section = (name: string) => !only || only.has(name);

function httpLine(run: HttpRun, base: HttpRun, baseName: string): string {
  return `  ${run.name.padEnd(50)} ${run.requestsPerSecond.toFixed(0).padStart(7)} req/s  p99 ${String(run.p99Ms).padStart(3)} ms  ${percent(run.requestsPerSecond / base.requestsPerSecond).padStart(5)} of ${baseName}  server ${run.serverCpuUsPerRequest.toFixed(0).padStart(3)} µs CPU/req, ${percent(run.serverBusy).padStart(4)} busy  (errors ${run.errors}, non-2xx ${run.non2xx})`;
}

const openssl = (() => {
  try {
    return execFileSync('openssl', ['version'], { encoding: 'utf8' }).trim();
  } catch {
    return 'openssl not found';
  }
})();
console.log(`Capsule benchmark — node ${process.version}, ${openssl}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${new Date().toISOString()}`);
console.log(`load average at start: ${loadavg().map((value) => value.toFixed(2)).join(' ')}`);
// This process (autocannon, the in-process candidates) on one core; servers on the other.
pin(process.pid, LOAD_CPU);
console.log(PINNED ? `pinned: servers on CPU ${SERVER_CPU}, this process (load generator, in-process runs) on CPU ${LOAD_CPU}` : 'NOT pinned (taskset or a second core missing): HTTP ratios measure contention too');

let ceiling = 0;
if (section('verification')) {
  console.log('\n1. Verifications per second, one process on one core\n');
  const { tokenLength, rates } = await benchmarkVerification(log);
  ceiling = rates['bare createHmac + timingSafeEqual (ceiling)']!;
  const jose = rates['jose jwtVerify HS256, pre-imported key, 256 in flight (best case)']!;
  const cold = rates['capsule encapsulated, codec, cold (every token different)']!;
  const width = Math.max(...Object.keys(rates).map((name) => name.length));
  for (const [name, rate] of Object.entries(rates)) {
    console.log(`  ${name.padEnd(width)}  ${formatRate(rate).padStart(10)}   ${percent(rate / ceiling).padStart(5)} of ceiling   ${(rate / jose).toFixed(1).padStart(5)}× jose`);
  }
  const native = opensslHmacRate(tokenLength);
  if (native) console.log(`\n  openssl speed -hmac sha256 -bytes ${tokenLength} (native limit): ${formatRate(native)}; the ceiling is ${percent(ceiling / native)} of it, cold Capsule ${percent(cold / native)}`);
  console.log(`\n  goal: cold encapsulated verification ≥ 60% of the bare HMAC ceiling: ${percent(cold / ceiling)}, ${met(cold / ceiling >= 0.6)}`);
  console.log(`  goal: ≥ 10× jose's best case: ${(cold / jose).toFixed(1)}×, ${met(cold / jose >= 10)}`);
}

if (section('count')) {
  console.log('\n2. Stateful verifications against how many tokens are stored (SQLite, one process, 32 in flight)\n');
  const count = await benchmarkTokenCount(log);
  console.log(`  bulk insert: ${count.large.toLocaleString('en')} tokens in ${count.bulkSeconds.toFixed(1)} s (${formatRate(count.bulkPerSecond)}, one transaction), repository ${count.sizeMiB.toFixed(0)} MiB`);
  console.log(`  token check in process (cache of validated tokens off), ${count.small.toLocaleString('en')} distinct tokens in use on each home:`);
  console.log(`  ${count.small.toLocaleString('en').padStart(9)} tokens stored: ${formatRate(count.smallRate).padStart(10)}`);
  console.log(`  ${count.large.toLocaleString('en').padStart(9)} tokens stored: ${formatRate(count.largeRate).padStart(10)}  (${percent(count.largeRate / count.smallRate)} of the small one)`);
  console.log(`  ${count.large.toLocaleString('en').padStart(9)} tokens stored, ${count.wideTokens.toLocaleString('en')} distinct in use: ${formatRate(count.largeWideRate).padStart(10)}  (${percent(count.largeWideRate / count.smallRate)} of the small one)`);
  console.log(`  through HTTP (GET /api/session, server on its own core, autocannon cycling through ${count.small.toLocaleString('en')} distinct tokens of each home):`);
  console.log(`  ${count.small.toLocaleString('en').padStart(9)} tokens stored: ${count.smallHttp.toFixed(0).padStart(7)} req/s`);
  console.log(`  ${count.large.toLocaleString('en').padStart(9)} tokens stored: ${count.largeHttp.toFixed(0).padStart(7)} req/s  (${percent(count.largeHttp / count.smallHttp)} of the small one)`);
  console.log(`  ${count.large.toLocaleString('en').padStart(9)} tokens stored, ${count.httpTokens.toLocaleString('en')} distinct in use: ${count.largeMissHttp.toFixed(0).padStart(7)} req/s  (${percent(count.largeMissHttp / count.smallHttp)}: more than the 10,000 the server keeps validated, so every request reads the repository; non-2xx and errors in all: ${count.httpFailed})`);
  console.log(`\n  goal: within 10%: token check alone ${percent(Math.abs(1 - count.largeRate / count.smallRate))} apart, ${met(Math.abs(1 - count.largeRate / count.smallRate) <= 0.1)}; HTTP throughput ${percent(Math.abs(1 - count.largeHttp / count.smallHttp))} apart, ${met(Math.abs(1 - count.largeHttp / count.smallHttp) <= 0.1)}`);
}

if (section('http')) {
  console.log('\n3. HTTP: capsule start on one core, autocannon on the other (32 connections, loopback)\n');
  const { runs, rounds, idleRssMiB, loadRssMiB } = await benchmarkHttp(log);
  const [bare, anonymous, encapsulated, stateful] = runs as [HttpRun, HttpRun, HttpRun, HttpRun];
  console.log(`  each one's best of ${rounds.length} rounds:`);
  console.log(httpLine(bare, bare, 'bare'));
  console.log(httpLine(anonymous, bare, 'bare'));
  for (const run of [encapsulated, stateful]) console.log(httpLine(run, anonymous, 'anon'));
  console.log(`  ratios round by round (the goals take their median: two runs seconds apart share the host's swings):`);
  const roundRatios = (a: number, b: number) => rounds.map((round) => (round[a]!.requestsPerSecond / round[b]!.requestsPerSecond).toFixed(2)).join(' ');
  console.log(`    anonymous / bare:         ${roundRatios(1, 0)}`);
  console.log(`    encapsulated / anonymous: ${roundRatios(2, 1)}`);
  console.log(`    stateful / anonymous:     ${roundRatios(3, 1)}`);
  const errors = rounds.flat().reduce((sum, run) => sum + run.errors + run.non2xx, 0);
  const anonymousRatio = medianRoundRatio(rounds, 1, 0);
  const encapsulatedRatio = medianRoundRatio(rounds, 2, 1);
  const statefulRatio = medianRoundRatio(rounds, 3, 1);
  const best = (a: HttpRun, b: HttpRun) => (a.requestsPerSecond / b.requestsPerSecond).toFixed(2);
  console.log(`\n  goal: anonymous ≥ 0.75 of the bare Fastify route (median of rounds): ${anonymousRatio.toFixed(3)}, ${met(anonymousRatio >= 0.75)} (best rounds: ${best(anonymous, bare)})`);
  console.log(`  goal: encapsulated ≥ 0.95 of anonymous (median of rounds): ${encapsulatedRatio.toFixed(3)}, ${met(encapsulatedRatio >= 0.95)} (best rounds: ${best(encapsulated, anonymous)})`);
  console.log(`  goal: stateful ≥ 0.90 of anonymous (median of rounds): ${statefulRatio.toFixed(3)}, ${met(statefulRatio >= 0.9)} (best rounds: ${best(stateful, anonymous)})`);
  console.log(`  goal: zero non-2xx (and no errors): ${errors}, ${met(errors === 0)}`);
  console.log(`\n  memory (RSS) of the instance: ${idleRssMiB.toFixed(0)} MiB idle after start, ${loadRssMiB.toFixed(0)} MiB at most under load`);
}

if (section('logins')) {
  console.log('\n4. Logins per second on one core (argon2id m=19456 KiB, t=2, p=1)\n');
  const logins = await benchmarkLogins(log);
  console.log(`  one argon2id verification: ${logins.verifyMs.toFixed(1)} ms; full form logins (password, throttle, token): ${logins.loginsPerSecond.toFixed(0)}/s on one core`);
  console.log("  OWASP (Password Storage Cheat Sheet): argon2id with m=19 MiB, t=2, p=1 as the minimum; these are exactly those parameters");
}

if (section('saml')) {
  console.log('\n4b. SAML sign-ins per second on one core (IdP-initiated responses from samlify, RSA-SHA256, response and assertion signed)\n');
  const saml = await benchmarkSamlAcs(log);
  console.log(`  ${saml.responseBytes.toLocaleString('en')}-byte SAMLResponse (base64); the test IdP signed ${saml.generatedPerSecond.toFixed(0)}/s beforehand (not measured below)`);
  const width = 58;
  for (const [index, round] of saml.http.entries()) {
    console.log(`  ${`full ACS sign-in over HTTP, round ${index + 1} (303 + token)`.padEnd(width)} ${round.signInsPerSecond.toFixed(0).padStart(5)}/s  ${round.signInsPerServerCpuSecond.toFixed(0).padStart(5)} per server CPU-s  server ${percent(round.serverBusy).padStart(4)} busy  p99 ${String(round.p99Ms).padStart(3)} ms  (${round.signIns} signed in, failed ${round.failed})`);
  }
  console.log(`  ${"Capsule's check alone (validateSamlResponse), in process".padEnd(width)} ${saml.capsuleCheck.toFixed(0).padStart(5)}/s`);
  console.log(`  ${"node-saml's validatePostResponseAsync alone (reference)".padEnd(width)} ${saml.nodeSaml.toFixed(0).padStart(5)}/s`);
  const perCore = Math.max(...saml.http.map((round) => round.signInsPerServerCpuSecond));
  const failed = saml.http.reduce((sum, round) => sum + round.failed, 0);
  console.log(`\n  Capsule's check / node-saml alone: ${(saml.capsuleCheck / saml.nodeSaml).toFixed(2)} (the strict pre-checks, the replay store and a node-saml instance per response cost the rest)`);
  console.log(`  HTTP sign-in per server CPU-second / Capsule's check alone: ${(perCore / saml.capsuleCheck).toFixed(2)} (provisioning, the token, HTTP)`);
  console.log(`  failed sign-ins: ${failed}, ${met(failed === 0)}`);
}

if (section('postgres')) {
  console.log('\n5. PostgreSQL repository (author cluster): a throwaway local cluster on loopback, on the load generator core\n');
  const postgres = await benchmarkPostgres(log);
  const base = ceiling || postgres.verificationRate;
  console.log(`  capsule stateful, full authenticate (PostgreSQL, ${postgres.tokens.toLocaleString('en')} tokens, user cached, repository read)  ${formatRate(postgres.verificationRate)}${ceiling ? `   ${percent(postgres.verificationRate / base)} of ceiling` : ''}`);
  console.log(`  database statements per stateful verification: ${postgres.statementsPerVerification.toFixed(2)} (one round trip)`);
  const pgAnonymous = postgres.http[0]!;
  for (const run of postgres.http) console.log(httpLine(run, pgAnonymous, 'anon'));
  const ratio = postgres.http[1]!.requestsPerSecond / pgAnonymous.requestsPerSecond;
  console.log(`\n  stateful on PostgreSQL: ${ratio.toFixed(2)} of anonymous on the same home (reported; the 0.90 goal is for the default SQLite home)`);
  console.log(`  database statements per stateful HTTP request: ${postgres.statementsPerRequest.toFixed(3)}`);
  for (const { query, perRequest } of postgres.perRequest) console.log(`    ${perRequest.toFixed(3)}  ${query}`);
}

if (section('farm')) {
  console.log('\n6. Farm: HAProxy to 1, 2 and 3 publishes, encapsulated token, protected node\n');
  const farm = await benchmarkFarm(log);
  console.log(httpLine(farm.direct, farm.direct, 'direct'));
  for (const run of farm.balanced) console.log(httpLine(run, farm.direct, 'direct'));
  console.log(`  30 requests in a row through HAProxy to 3 publishes were answered by: ${Object.entries(farm.spread).map(([name, count]) => `${name} × ${count}`).join(', ')}`);
  console.log('  (server CPU/req is publish 1\'s; with more publishes it serves a share of the requests)');
}

if (section('replication')) {
  console.log('\n7. Replication lag: an author and three publishes (child processes, loopback, not pinned), 1,000 changes\n');
  pin(process.pid, ALL_CPUS); // its processes inherit this process's cores
  for (const run of await benchmarkReplication(log)) {
    console.log(`  ${run.name.padEnd(38)} ${run.changesPerSecond.toFixed(0).padStart(5)} changes/s  lag p50 ${String(run.p50Ms).padStart(4)} ms  p99 ${String(run.p99Ms).padStart(4)} ms  max ${String(run.maxMs).padStart(4)} ms`);
  }
  console.log('\n  target: every change applied on every publish within 2 s');
}
if (section('apply')) {
  console.log('\n8. Applying replication packages on a publish (receiver in this process, SQLite, packages of 500 users as an agent sends them)\n');
  const { oneGroup, spread, wideUser } = await benchmarkPackageApply(log);
  const held = (run: ApplyRun) => `loop held ≤ ${run.maxLoopCpuMs.toFixed(0).padStart(3)} ms CPU (${run.maxLoopWallMs.toFixed(0).padStart(3)} ms wall)`;
  const rates = (run: ApplyRun) => `${run.itemsPerSecond.toFixed(0).padStart(5)} items/s, ${run.itemsPerCpuSecond.toFixed(0).padStart(5)} per CPU-s`;
  console.log('  users joining ONE group (the group grows to 1,000, 10,000, 100,000 members), against the same users each package in a group of its own:');
  for (const [index, run] of oneGroup.entries()) {
    const control = spread[index]!;
    console.log(`  ${run.name.padEnd(24)} one group ${rates(run)}, ${held(run)} (both lanes)   own groups ${rates(control)}   one/own ${(run.itemsPerCpuSecond / control.itemsPerCpuSecond).toFixed(2)}   vs first stretch ${(run.itemsPerCpuSecond / oneGroup[0]!.itemsPerCpuSecond).toFixed(2)}`);
  }
  console.log(`  ${wideUser.name.padEnd(38)} ${wideUser.seconds.toFixed(2)} s, ${wideUser.membershipsPerSecond.toFixed(0)} memberships/s, ${held(wideUser)}`);
  const worst = Math.min(...oneGroup.map((run, index) => run.itemsPerCpuSecond / spread[index]!.itemsPerCpuSecond));
  const heldCpu = Math.max(...[...oneGroup, ...spread, wideUser].map((run) => run.maxLoopCpuMs));
  const heldWall = Math.max(...[...oneGroup, ...spread, wideUser].map((run) => run.maxLoopWallMs));
  console.log(`\n  goal: the group's size costs nothing (items per CPU-second in one group ≈ in groups of their own at the same repository size, ≥ 0.8 at every stretch): ${worst.toFixed(2)}, ${met(worst >= 0.8)}`);
  console.log(`  goal: the event loop never held for more than ~100 ms of work: ${heldCpu.toFixed(0)} ms CPU, ${met(heldCpu <= 100)} (longest wall-time stretch ${heldWall.toFixed(0)} ms at load average ${loadavg()[0]!.toFixed(1)})`);
}
if (section('bruteforce')) {
  console.log('\n10. Login protection (issue 26): the account\'s failures on the farm store\n');
  const { logins, guessing, settings, wallSeconds } = await benchmarkBruteForce(log);
  const names = [
    ['off', 'brute force off (enabled=false: no store read or written; the per-address throttle in memory runs)'],
    ['repository', 'failures on the instance\'s repository (SQLite)'],
    ['postgres', 'failures on the PostgreSQL farm store (other core, fsync on)'],
  ] as const;
  console.log('  password logins on this one core (argon2id m=19456 KiB t=2 p=1, 4 in flight, interleaved rounds); per core = 1 / (this process\'s CPU per login), the goal\'s figure; per second = best round\'s wall rate:');
  const rateLine = (rate: { perSecond: number; cpuUs: number }, base: { perSecond: number; cpuUs: number }) =>
    `${(1e6 / rate.cpuUs).toFixed(1).padStart(5)}/s per core (${(rate.cpuUs / 1000).toFixed(2)} ms CPU, ${percent(base.cpuUs / rate.cpuUs).padStart(4)})  ${rate.perSecond.toFixed(1).padStart(5)}/s wall (${percent(rate.perSecond / base.perSecond).padStart(4)})`;
  for (const [name, label] of names) {
    console.log(`    ${label.padEnd(100)}`);
    console.log(`      right password: ${rateLine(logins.success[name], logins.success.off)}   wrong password: ${rateLine(logins.failure[name], logins.failure.off)}`);
  }
  const storeLine = (rate: { perSecond: number; cpuUs: number }) => `${(1e6 / rate.perSecond).toFixed(0)} µs wall, ${rate.cpuUs.toFixed(0)} µs CPU here`;
  console.log(`  the store alone (4 in flight): PostgreSQL read ${storeLine(logins.read.postgres)}, counted failure ${storeLine(logins.counted.postgres)}; repository read ${storeLine(logins.read.repository)}, counted failure ${storeLine(logins.counted.repository)}`);
  const costRight = 1 - logins.success.off.cpuUs / logins.success.postgres.cpuUs;
  const costWrong = 1 - logins.failure.off.cpuUs / logins.failure.postgres.cpuUs;
  console.log(`\n  goal: the PostgreSQL store's round trip costs under 5% of a login (CPU per login against enabled=false, median of rounds): right password ${percent(costRight)}, ${met(costRight < 0.05)}; wrong password (read + counted write) ${percent(costWrong)}, ${met(costWrong < 0.05)}`);
  console.log(`  the store's CPU alone / a login's: read ${percent(logins.read.postgres.cpuUs / logins.success.off.cpuUs)} of a right one, counted failure ${percent(logins.counted.postgres.cpuUs / logins.failure.off.cpuUs)} of a wrong one`);
  console.log(`  peer's reference: Keycloak's sizing guide allocates 1 vCPU per 15 password-based logins per second (${KEYCLOAK_SIZING_URL}); Capsule with the PostgreSQL farm store: ${(1e6 / logins.success.postgres.cpuUs).toFixed(1)} per core (${(1e6 / logins.success.postgres.cpuUs / 15).toFixed(1)}× that figure; other hashes, other machines: a reference, not a race)`);
  console.log(`\n  guessing through HAProxy against 3 publishes, one account, one guess a second, an hour of clock time (maxFailures ${settings.maxFailures}, wait +${settings.waitIncrementSeconds} s per ${settings.maxFailures} failures up to ${settings.maxWaitSeconds} s):`);
  for (const run of guessing) {
    console.log(`    ${run.name.padEnd(52)} checked before every publish refused: ${String(run.beforeFirstLockout).padStart(3)} (${Object.entries(run.byPublish).sort().map(([name, count]) => `${name} ${count}`).join(', ')})   checked per hour: ${String(run.perHour).padStart(4)} (by the rule alone: ${run.computedPerHour})   requests sent ${run.sent}`);
  }
  const [before, after] = guessing as [typeof guessing[0], typeof guessing[0]];
  console.log(`  guesses checked per account per hour: before ${before.perHour}, after ${after.perHour} (${(before.perHour / after.perHour).toFixed(1)}× fewer); section took ${wallSeconds.toFixed(0)} s`);
}
if (section('sessions')) {
  // `--quick`: fewer rounds, revocations and samples (a check that the section runs, not figures to record).
  const quick = process.argv.includes('--quick');
  console.log(`\n11. Sessions (issue 27): every request checks its session against the revoked ids held in memory; revocations pushed by the PostgreSQL farm store${quick ? ' (--quick)' : ''}\n`);
  const { http, propagation, size, wallSeconds } = await benchmarkSessions(log, { quick });
  const [anonymousHeld, encapsulatedHeld, encapsulatedNone, anonymousNone] = http.best as [HttpRun, HttpRun, HttpRun, HttpRun];
  console.log(`  (a) two homes on the server core, each with its own farm store database: one holding 100,000 revoked sessions (written in ${http.insertSeconds.toFixed(1)} s, read at start), one none`);
  console.log(`      revoked ids held, as each health check says: ${http.held.revoked ?? 'not said'} and ${http.held.none ?? 'not said'}; memory (RSS) idle: ${http.rssMiB.revoked.toFixed(0)} MiB and ${http.rssMiB.none.toFixed(0)} MiB`);
  console.log(`  anonymous: GET ${PUBLIC_PAGE}.json; encapsulated: GET ${MEMBERS_PAGE}.json with the reader's token (its session live, checked against the ids held); each one's best of ${http.rounds.length} rounds:`);
  console.log(httpLine(anonymousHeld, anonymousHeld, 'anon'));
  console.log(httpLine(encapsulatedHeld, anonymousHeld, 'anon'));
  console.log(httpLine(anonymousNone, anonymousNone, 'anon'));
  console.log(httpLine(encapsulatedNone, anonymousNone, 'anon'));
  const roundRatios = (a: number, b: number) => http.rounds.map((round) => (round[a]!.requestsPerSecond / round[b]!.requestsPerSecond).toFixed(2)).join(' ');
  console.log('  ratios round by round (the goal takes their median):');
  console.log(`    encapsulated / anonymous, 100,000 held: ${roundRatios(1, 0)}`);
  console.log(`    encapsulated / anonymous, none held:    ${roundRatios(2, 3)}`);
  console.log(`    encapsulated, 100,000 held / none held: ${roundRatios(1, 2)}`);
  const heldRatio = medianRoundRatio(http.rounds, 1, 0);
  // Server CPU per request: what the server can serve once it is the bottleneck, whether or not this busy host's load generator kept it busy.
  const cpuRatio = (a: number, b: number) => median(http.rounds.map((round) => round[b]!.serverCpuUsPerRequest / round[a]!.serverCpuUsPerRequest));
  const httpErrors = http.rounds.flat().reduce((sum, run) => sum + run.errors + run.non2xx, 0);
  console.log(`\n  goal: encapsulated with 100,000 revoked ids held ≥ 0.95 of anonymous (median of rounds): ${heldRatio.toFixed(3)}, ${met(heldRatio >= 0.95)}`);
  console.log(`  reference: the same with none held ${medianRoundRatio(http.rounds, 2, 3).toFixed(3)} of anonymous; 100,000 held / none held ${medianRoundRatio(http.rounds, 1, 2).toFixed(3)} (two processes on one core, measured in turn)`);
  console.log(`  by server CPU per request (anonymous's / encapsulated's, median of rounds): 100,000 held ${cpuRatio(1, 0).toFixed(3)}, none held ${cpuRatio(2, 3).toFixed(3)}; 100,000 held against none held ${cpuRatio(1, 2).toFixed(3)}`);
  console.log(`  zero non-2xx (and no errors): ${httpErrors}, ${met(httpErrors === 0)}`);

  const p = (sorted: readonly number[], q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((q / 100) * sorted.length) - 1))] ?? NaN;
  const ms = (value: number) => `${value.toFixed(1)} ms`;
  const before = propagation.fromAnswerMs.filter((value) => value < 0).length;
  console.log(`\n  (b) revocation propagation: ${propagation.publishes} publishes (capsule start each, on the server core with PostgreSQL), ${propagation.revocations.toLocaleString('en')} revocations, each publish's first refusal of the token`);
  console.log(`      ${propagation.revocations.toLocaleString('en')} sign-ins beforehand in ${propagation.signInSeconds.toFixed(0)} s (argon2id); sessions recorded in the farm store: ${propagation.recorded}`);
  console.log(`      from the revoke call's start:  p50 ${ms(p(propagation.fromStartMs, 50))}  p99 ${ms(p(propagation.fromStartMs, 99))}  max ${ms(p(propagation.fromStartMs, 100))}  (${propagation.fromStartMs.length} refusals seen)`);
  console.log(`      the two publishes not called:  p50 ${ms(p(propagation.othersFromStartMs, 50))}  p99 ${ms(p(propagation.othersFromStartMs, 99))}  max ${ms(p(propagation.othersFromStartMs, 100))}  (the push's path alone, from the call's start)`);
  console.log(`      from its answer:               p50 ${ms(p(propagation.fromAnswerMs, 50))}  p99 ${ms(p(propagation.fromAnswerMs, 99))}  max ${ms(p(propagation.fromAnswerMs, 100))}  (${percent(before / Math.max(1, propagation.fromAnswerMs.length))} refused before the caller had the answer)`);
  console.log(`      the revoke call itself: ${ms(propagation.callMs)} (median); resolution: a poll every ${propagation.pauseMs} ms after the previous answer, a poll's round trip ${ms(propagation.pollMs)} (median)`);
  const p99 = p(propagation.fromStartMs, 99);
  console.log(`\n  goal: every publish refuses a revoked session's token within 1 s, p99 from the call's start: ${ms(p99)}, ${met(p99 <= 1000 && propagation.missed === 0)} (not seen within the 20 s guard: ${propagation.missed})`);

  console.log(`\n  (c) the PostgreSQL session store, in this process (the load generator core; PostgreSQL on the server core), ${size.perUser} live sessions per user, median of ${size.samples.toLocaleString('en')} each:`);
  for (const run of [size.small, size.large]) {
    console.log(`      ${run.stored.toLocaleString('en').padStart(9)} stored: list one user's ${ms(run.listMs).padStart(8)}   create with limit ${size.limit} ${ms(run.createMs).padStart(8)}   table and indexes ${run.tableMiB.toFixed(0)} MiB`);
  }
  console.log(`      (1,000,000 rows written with one INSERT … SELECT generate_series in ${size.insertSeconds.toFixed(1)} s)`);
  const listApart = size.large.listMs / size.small.listMs - 1;
  const createApart = size.large.createMs / size.small.createMs - 1;
  console.log(`\n  goal: within 10% of the 1,000-session figures: listing ${listApart >= 0 ? '+' : ''}${percent(listApart)}, ${met(Math.abs(listApart) <= 0.1)}; create ${createApart >= 0 ? '+' : ''}${percent(createApart)}, ${met(Math.abs(createApart) <= 0.1)}`);
  console.log(`  section took ${wallSeconds.toFixed(0)} s`);
}
if (section('million-users')) {
  // `--users N`: the large home's size (default 1,000,000; 100,000 to try the section out).
  const usersArgument = process.argv.indexOf('--users');
  const large = usersArgument > 0 ? Number(process.argv[usersArgument + 1]) : 1_000_000;
  if (!Number.isSafeInteger(large) || large < 1000) throw new Error(`--users wants a whole number of at least 1000, not ${process.argv[usersArgument + 1]}`);
  console.log(`\n12. A million users (issue 28): a home with 1,000 users against one with ${large.toLocaleString('en')}${process.argv.includes('--postgres') ? ', both on PostgreSQL' : ''}, both servers on the server core, measured in turn\n`);
  const started = process.hrtime.bigint();
  // `--quick`: 2 rounds and 40 logins (a check that the section runs, not figures to record).
  // `--postgres`: both homes on a throwaway PostgreSQL cluster (on the load generator core) instead of SQLite.
  const cluster = process.argv.includes('--postgres') ? await startPostgres() : undefined;
  if (cluster) Object.assign(process.env, cluster.env); // the servers, commands and the list's child find the password there
  const results = await (async () => {
    try {
      return await benchmarkMillionUsers(log, {
        large,
        ...(process.argv.includes('--quick') ? { rounds: 2, logins: 40 } : {}),
        ...(cluster ? { repositoryUrl: (home: string) => cluster.createDatabase(`million_${home}`) } : {}),
      });
    } finally {
      await cluster?.stop();
    }
  })();
  const loadDuring = loadavg()[0]!;
  const logins = await benchmarkLoginsPerCore(log);
  printMillionUsers(results, logins, KEYCLOAK_SIZING_URL);
  console.log(`  section took ${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(0)} s; load average (1 min) after the HTTP runs ${loadDuring.toFixed(2)}, at its end ${loadavg()[0]!.toFixed(2)}`);
}
if (section('backfill')) {
  // `--backfill-users 100000` runs one size; the memory goal compares the first size with the last.
  const sizesArgument = process.argv.indexOf('--backfill-users');
  const sizes = sizesArgument > 0 ? (process.argv[sizesArgument + 1] ?? '').split(',').map(Number) : [100_000, 1_000_000];
  console.log(`\n13. Backfill of a new publish by replication: an author with ${sizes.map((n) => n.toLocaleString('en')).join(' and ')} users, a fresh publish (capsule start each, loopback, not pinned)\n`);
  pin(process.pid, ALL_CPUS);
  const runs: BackfillRun[] = [];
  for (const users of sizes) {
    const load = loadavg()[0]!.toFixed(2);
    const run = await benchmarkBackfill(log, users);
    runs.push(run);
    console.log(`  ${users.toLocaleString('en').padStart(9)} users: backfilled in ${run.backfillSeconds.toFixed(1)} s (${run.usersPerSecond.toFixed(0)} users/s, ${run.packages} packages; load average ${load} at its start), publish has ${run.publishUsers.toLocaleString('en')}, sample ${run.sampleMatched}/${run.sampleSize} identical`);
    console.log(`  ${''.padStart(16)} peak RSS author ${run.authorPeakRssMiB.toFixed(0)} MiB (anonymous ${run.authorPeakAnonMiB.toFixed(0)}), publish ${run.publishPeakRssMiB.toFixed(0)} MiB (anonymous ${run.publishPeakAnonMiB.toFixed(0)}); publish during it: ${run.requests.toLocaleString('en')} requests (readiness, session check), p50 ${run.p50Ms.toFixed(1)} ms p99 ${run.p99Ms.toFixed(1)} ms max ${run.maxMs.toFixed(0)} ms, not 200: ${run.notOk}  (seeding took ${run.seedSeconds.toFixed(0)} s)`);
    console.log(`  ${''.padStart(16)} CPU time: author ${run.authorCpuSeconds.toFixed(1)} s (its start included), publish ${run.publishCpuSeconds.toFixed(1)} s (the probes' requests included): what the machine's load does not change`);
  }
  console.log('');
  for (const run of runs) {
    const goal = run.users <= 100_000 ? { seconds: 60, label: '60 s' } : run.users <= 1_000_000 ? { seconds: 600, label: '10 min' } : null;
    const complete = run.publishUsers === run.users && run.sampleMatched === run.sampleSize;
    if (goal) console.log(`  goal: ${run.users.toLocaleString('en')} users in under ${goal.label}: ${run.backfillSeconds.toFixed(1)} s, ${met(run.backfillSeconds < goal.seconds && complete)}${complete ? '' : ' (the publish is incomplete or differs)'}`);
  }
  const readyAlways = runs.every((run) => run.notOk === 0);
  console.log(`  goal: the publish stays live while it applies (every readiness and session check answered 200): ${met(readyAlways)}`);
  if (runs.length > 1) {
    const [small, large] = [runs[0]!, runs.at(-1)!];
    const ratio = large.authorPeakAnonMiB / small.authorPeakAnonMiB;
    console.log(`  goal: author memory flat (peak anonymous RSS at ${large.users.toLocaleString('en')} / at ${small.users.toLocaleString('en')} ≤ 1.25): ${ratio.toFixed(2)}, ${met(ratio <= 1.25)}; whole RSS (with the repository's mapped pages) ${(large.authorPeakRssMiB / small.authorPeakRssMiB).toFixed(2)}`);
  }
}
if (section('repository-copy')) {
  // `--copy-users 1000000` runs one size; the flatness goal compares the first size with the last.
  const sizesArgument = process.argv.indexOf('--copy-users');
  const sizes = sizesArgument > 0 ? (process.argv[sizesArgument + 1] ?? '').split(',').map(Number) : [10_000, 100_000];
  console.log(`\n14. Copying a home to PostgreSQL (repository copy): ${sizes.map((n) => n.toLocaleString('en')).join(' and ')} users, a throwaway cluster on loopback, a new SQLite file as the reference\n`);
  pin(process.pid, ALL_CPUS);
  const runs: CopyRun[] = [];
  for (const users of sizes) {
    const load = loadavg()[0]!.toFixed(2);
    const run = await benchmarkRepositoryCopy(log, users);
    runs.push(run);
    console.log(`${copyLine(run)}; load average ${load} at its start`);
  }
  if (runs.length > 1) {
    const [small, large] = [runs[0]!, runs.at(-1)!];
    const ratio = large.nodes / large.postgresSeconds / (small.nodes / small.postgresSeconds);
    console.log(`\n  goal: a flat cost per node (nodes/s into PostgreSQL at ${large.users.toLocaleString('en')} users / at ${small.users.toLocaleString('en')} ≥ 0.75): ${ratio.toFixed(2)}, ${met(ratio >= 0.75)}`);
    const memory = large.postgresPeakAnonMiB / small.postgresPeakAnonMiB;
    console.log(`  goal: flat memory (peak anonymous RSS of the copy into PostgreSQL at ${large.users.toLocaleString('en')} / at ${small.users.toLocaleString('en')} ≤ 1.25): ${memory.toFixed(2)}, ${met(memory <= 1.25)}`);
  }
}
console.log(`\nload average at the end: ${loadavg().map((value) => value.toFixed(2)).join(' ')}`);
