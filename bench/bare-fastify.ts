// The ceiling for an anonymous content GET: a bare Fastify route returning the same JSON body
// (given in BENCH_BODY), no hooks, no repository. Prints "listening" once it accepts requests.
import Fastify from 'fastify';

const body = JSON.parse(process.env.BENCH_BODY ?? '{}') as Record<string, unknown>;
const app = Fastify({ logger: false });
app.get('/content/*', async () => body);
await app.listen({ port: Number(process.env.BENCH_PORT), host: '127.0.0.1' });
console.log('listening');
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
