// `npm run bench`: token verification rates against reference libraries, then HTTP throughput,
// all measured in this one run on this machine. Record the output in BENCHMARKS.md.
import { cpus } from 'node:os';
import { formatRate } from './measure.js';
import { benchmarkHttp } from './http.js';
import { benchmarkReplication } from './replication.js';
import { opensslHmacRate } from './openssl.js';
import { benchmarkVerification } from './verification.js';
import { benchmarkPostgres } from './postgres.js';

const log = (line: string) => console.error(`  … ${line}`);
const percent = (value: number) => `${(value * 100).toFixed(0)}%`;

console.log(`Capsule token benchmark — node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`);
console.log('\n1. Verifications per second, one process\n');
const { tokenLength, rates } = await benchmarkVerification(log);
const ceiling = rates['bare createHmac + timingSafeEqual (ceiling)']!;
const jose = rates['jose jwtVerify HS256, pre-imported key, 256 in flight (best case)']!;
const cold = rates['capsule encapsulated, codec, cold (every token different)']!;
const width = Math.max(...Object.keys(rates).map((name) => name.length));
for (const [name, rate] of Object.entries(rates)) {
  console.log(`  ${name.padEnd(width)}  ${formatRate(rate).padStart(10)}   ${percent(rate / ceiling).padStart(5)} of ceiling   ${(rate / jose).toFixed(1).padStart(5)}× jose`);
}
const native = opensslHmacRate(tokenLength);
if (native) console.log(`\n  openssl speed -hmac sha256 -bytes ${tokenLength} (native limit): ${formatRate(native)}`);
console.log(`\n  cold encapsulated verification: ${percent(cold / ceiling)} of the bare HMAC ceiling (target ≥ 60%), ${(cold / jose).toFixed(1)}× jose's best case (target ≥ 5×)`);

console.log('\n2. HTTP, autocannon against a real instance (child process, loopback)\n');
const { runs } = await benchmarkHttp(log);
const anonymous = runs[0]!;
for (const run of runs) {
  console.log(
    `  ${run.name.padEnd(46)} ${run.requestsPerSecond.toFixed(0).padStart(7)} req/s  p99 ${String(run.p99Ms).padStart(3)} ms  ${percent(run.requestsPerSecond / anonymous.requestsPerSecond).padStart(5)} of anonymous  (errors ${run.errors}, non-2xx ${run.non2xx})`,
  );
}
console.log('\n  targets: encapsulated ≥ 90% of anonymous, stateful ≥ 75%');

console.log('\n3. Replication lag: an author and three publishes (child processes, loopback), 1,000 changes\n');
for (const run of await benchmarkReplication(log)) {
  console.log(`  ${run.name.padEnd(32)} ${run.changesPerSecond.toFixed(0).padStart(5)} changes/s  lag p50 ${String(run.p50Ms).padStart(4)} ms  p99 ${String(run.p99Ms).padStart(4)} ms  max ${String(run.maxMs).padStart(4)} ms`);
}
console.log('\n  target: every change applied on every publish within 2 s');

console.log('\n4. PostgreSQL repository (author cluster): stateful tokens, a throwaway local cluster on loopback\n');
const postgres = await benchmarkPostgres(log);
console.log(`  capsule stateful, full authenticate (PostgreSQL, ${postgres.tokens.toLocaleString('en')} tokens, user cached)  ${formatRate(postgres.verificationRate)}   ${percent(postgres.verificationRate / ceiling)} of ceiling`);
console.log(`  database statements per stateful verification: ${postgres.statementsPerVerification.toFixed(2)} (one round trip)`);
const pgAnonymous = postgres.http[0]!;
for (const run of postgres.http) {
  console.log(
    `  ${run.name.padEnd(54)} ${run.requestsPerSecond.toFixed(0).padStart(7)} req/s  p99 ${String(run.p99Ms).padStart(3)} ms  ${percent(run.requestsPerSecond / pgAnonymous.requestsPerSecond).padStart(5)} of anonymous  (errors ${run.errors}, non-2xx ${run.non2xx})`,
  );
}
console.log(`  database statements per stateful HTTP request: ${postgres.statementsPerRequest.toFixed(3)}`);
for (const { query, perRequest } of postgres.perRequest) console.log(`    ${perRequest.toFixed(3)}  ${query}`);
