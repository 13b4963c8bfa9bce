import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { createHttpTransport } from '../../src/replication/transport.js';
import { parsePackage } from '../../src/replication/index.js';

const pkg = parsePackage({ format: 1, source: 'author', sequence: 1, items: [] });

describe('the replication transport', () => {
  it('never sends the transport password over plain http to another machine', async () => {
    let asked = false;
    for (const url of ['http://10.0.1.1:4503', 'http://publish-1.example:4503', 'ftp://127.0.0.1']) {
      const transport = createHttpTransport({
        url,
        user: 'replicator',
        password: () => {
          asked = true;
          return 'secret';
        },
      });
      const answer = await transport.send(pkg);
      assert.equal(answer.ok, false, url);
      assert.match(answer.ok ? '' : answer.message, /sent only over https/, url);
    }
    assert.equal(asked, false, 'the password was not even read');
  });

  it('logs in over plain http on a loopback address (a test or a local farm)', async () => {
    const seen: string[] = [];
    const server = createServer((request, response) => {
      seen.push(`${request.method} ${request.url}`);
      response.writeHead(401, { 'content-type': 'application/json' });
      response.end('{"error":{"code":"UNAUTHENTICATED","message":"invalid user name or password"}}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.2', resolve));
    try {
      const transport = createHttpTransport({ url: `http://127.0.0.2:${(server.address() as AddressInfo).port}`, user: 'replicator', password: () => 'secret' });
      const answer = await transport.send(pkg);
      assert.equal(answer.ok, false);
      assert.match(answer.ok ? '' : answer.message, /login as replicator refused: HTTP 401/);
      assert.deepEqual(seen, ['POST /j_security_check']);
    } finally {
      server.close();
    }
  });
});

describe('stopping the transport', () => {
  it('ends a send in progress at once when its signal aborts, recording nothing about the publish', async () => {
    // A publish that accepts the connection and never answers.
    const server = createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.2', resolve));
    const stopping = new AbortController();
    try {
      const transport = createHttpTransport({ url: `http://127.0.0.2:${(server.address() as AddressInfo).port}`, user: 'replicator', password: () => 'secret', signal: stopping.signal });
      const sending = transport.send(pkg);
      setTimeout(() => stopping.abort(), 100);
      // AbortError, not the TimeoutError the 30 s send timeout would give.
      await assert.rejects(sending, (error: Error) => error.name === 'AbortError');
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
