import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, describe, it } from 'node:test';
import { fetchFrom } from '../../src/support/fetch-from.js';

/** A peer that answers every connection with these raw bytes (what a hostile or broken publish could send). */
async function rawPeer(answer: Buffer | string): Promise<{ url: string; server: Server }> {
  const server = createServer((socket) => {
    socket.once('data', () => socket.end(answer));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/bin/receive`, server };
}

describe('fetchFrom (the replication transport between loopback addresses)', () => {
  const servers: Server[] = [];
  after(() => servers.forEach((server) => server.close()));

  it('answers a status Response refuses (600) with a rejection, not a throw that ends the process', async () => {
    const peer = await rawPeer('HTTP/1.1 600 Odd\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}');
    servers.push(peer.server);
    await assert.rejects(fetchFrom('127.0.0.1')(peer.url, { method: 'POST', headers: {} }), /fetch failed/);
  });

  it('refuses an answer larger than 1 MiB instead of holding it', async () => {
    const body = Buffer.alloc(2 * 1024 * 1024, 'x');
    const peer = await rawPeer(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n`), body]));
    servers.push(peer.server);
    await assert.rejects(fetchFrom('127.0.0.1')(peer.url, { method: 'POST', headers: {} }));
  });

  it('gives an ordinary answer as fetch would', async () => {
    const peer = await rawPeer('HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: 11\r\nconnection: close\r\n\r\n{"ok":true}');
    servers.push(peer.server);
    const response = await fetchFrom('127.0.0.1')(peer.url, { method: 'POST', headers: {}, body: 'x' });
    assert.equal(response.status, 201);
    assert.deepEqual(await response.json(), { ok: true });
  });
});
