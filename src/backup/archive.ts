import { createHash, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { type FileHandle, open } from 'node:fs/promises';
import { z } from 'zod';
import { CapsuleError } from '../errors.js';

/**
 * One backup file, written and read with Node's built-ins:
 *
 *   capsule-backup/1\n
 *   <manifest: one line of JSON>\n
 *   <HMAC-SHA256 of the manifest line, hex>\n
 *   <the entries' bytes, one after the other, in the manifest's order>
 *
 * The manifest names each entry with its size and SHA-256, so a damaged file is refused before
 * anything is written. Its HMAC key is derived (HKDF) from the master key inside the
 * passphrase-encrypted key bundle (the first entry), so once the passphrase opens the bundle, a
 * repository or configuration swapped inside the file is refused too.
 */
export const BACKUP_FORMAT = 'capsule-backup/1';
const MAGIC = `${BACKUP_FORMAT}\n`;
/** A manifest is a few KiB; a header longer than this is not one. */
const MAX_HEADER_BYTES = 1024 * 1024;
/** The key bundle and the marker are a few KiB. */
const MAX_SMALL_ENTRY_BYTES = 16 * 1024 * 1024;
const CHUNK_BYTES = 1024 * 1024;

export const KEY_BUNDLE_ENTRY = 'keys.bundle';
export const STORAGE_MARKER_ENTRY = 'keys/storage';
export const REPOSITORY_ENTRY = 'repository/repository.sqlite';
const CONFIG_ENTRY = /^config\/(?:[A-Za-z0-9_@~+=,-][A-Za-z0-9._@~+=,-]*\/)*[A-Za-z0-9_@~+=,-][A-Za-z0-9._@~+=,-]*$/;

/** Only names a home has: a manifest cannot make a restore write anywhere else. */
export function isAllowedEntryName(name: string): boolean {
  return name === KEY_BUNDLE_ENTRY || name === STORAGE_MARKER_ENTRY || name === REPOSITORY_ENTRY || CONFIG_ENTRY.test(name);
}

const entrySchema = z.object({
  name: z.string().refine(isAllowedEntryName, 'an entry name outside a home'),
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  mode: z.number().int().min(0).max(0o777),
});

export const countsSchema = z.object({
  nodes: z.number().int().nonnegative(),
  users: z.number().int().nonnegative(),
  groups: z.number().int().nonnegative(),
  content: z.number().int().nonnegative(),
  configurations: z.number().int().nonnegative(),
  protectedValues: z.number().int().nonnegative(),
});

export const manifestSchema = z.object({
  format: z.literal(BACKUP_FORMAT),
  created: z.string(),
  source: z.string(),
  capsuleVersion: z.string(),
  repository: z.object({ backend: z.literal('sqlite'), schemaVersion: z.number().int() }),
  keyStorage: z.enum(['file', 'repository']),
  counts: countsSchema,
  entries: z.array(entrySchema).refine((entries) => entries[0]?.name === KEY_BUNDLE_ENTRY, 'the key bundle comes first'),
});

export type BackupManifest = z.infer<typeof manifestSchema>;
export type BackupEntry = z.infer<typeof entrySchema>;
export type BackupCounts = z.infer<typeof countsSchema>;

/** What the backup's HMAC is keyed with: never the master key itself. */
function manifestKey(masterKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), `${BACKUP_FORMAT} manifest`, 32));
}

export function manifestMac(manifestLine: string, masterKey: Buffer): string {
  return createHmac('sha256', manifestKey(masterKey)).update(manifestLine, 'utf8').digest('hex');
}

export function damaged(detail: string): CapsuleError {
  return new CapsuleError('BUNDLE_INVALID', `the backup is damaged or not a Capsule backup (${detail}); nothing was written`);
}

/** A source of one entry: a file on disk (copied in chunks) or bytes in memory. */
export type EntrySource = { readonly name: string; readonly mode: number } & ({ readonly file: string } | { readonly bytes: Buffer });

async function* chunksOf(source: EntrySource): AsyncGenerator<Buffer> {
  if ('bytes' in source) {
    yield source.bytes;
    return;
  }
  const handle = await open(source.file, 'r');
  try {
    const buffer = Buffer.alloc(CHUNK_BYTES);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

/** Size and SHA-256 of an entry, as the manifest states them. */
export async function describeEntry(source: EntrySource): Promise<BackupEntry> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of chunksOf(source)) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { name: source.name, size, sha256: hash.digest('hex'), mode: source.mode };
}

/**
 * Writes the archive to `handle` (a fresh temp file), then fsyncs it. `onBytes` reports progress.
 * An entry whose content changed since `describeEntry` is refused (its size no longer matches).
 */
export async function writeArchive(
  handle: FileHandle,
  manifest: BackupManifest,
  masterKey: Buffer,
  sources: readonly EntrySource[],
  onBytes?: (written: number) => void,
): Promise<void> {
  const manifestLine = JSON.stringify(manifest);
  await handle.write(`${MAGIC}${manifestLine}\n${manifestMac(manifestLine, masterKey)}\n`);
  let written = 0;
  for (const [index, source] of sources.entries()) {
    const expected = manifest.entries[index]!;
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of chunksOf(source)) {
      await handle.write(chunk);
      hash.update(chunk);
      size += chunk.length;
      written += chunk.length;
      onBytes?.(written);
    }
    if (size !== expected.size || hash.digest('hex') !== expected.sha256) {
      throw new CapsuleError('INTERNAL', `${source.name} changed while the backup was being written; run the backup again`);
    }
  }
  await handle.sync();
}

/** An archive opened for reading: its manifest, and where each entry's bytes start. */
export interface OpenedArchive {
  readonly manifest: BackupManifest;
  readonly manifestLine: string;
  readonly mac: string;
  readonly offsets: ReadonlyMap<string, number>;
  readonly handle: FileHandle;
}

/**
 * The three header lines. The format line is checked first, so another file is refused at once,
 * and each chunk is searched once, so a long file without newlines costs one pass over the first
 * MAX_HEADER_BYTES.
 */
async function readHeader(handle: FileHandle): Promise<{ lines: string[]; headerBytes: number }> {
  const magic = Buffer.alloc(MAGIC.length);
  const { bytesRead: magicBytes } = await handle.read(magic, 0, magic.length, 0);
  if (magicBytes < magic.length || magic.toString('latin1') !== MAGIC) throw damaged(`it does not start with '${BACKUP_FORMAT}'`);
  const header = Buffer.alloc(MAX_HEADER_BYTES);
  let filled = magic.copy(header);
  const newlines = [filled];
  while (newlines.length < 3) {
    if (filled === header.length) throw damaged(`its manifest is longer than ${MAX_HEADER_BYTES / 1024 / 1024} MiB`);
    const { bytesRead } = await handle.read(header, filled, Math.min(64 * 1024, header.length - filled), filled);
    if (bytesRead === 0) throw damaged('no manifest at its start');
    const chunk = header.subarray(filled, filled + bytesRead);
    for (let at = chunk.indexOf(0x0a); at >= 0 && newlines.length < 3; at = chunk.indexOf(0x0a, at + 1)) newlines.push(filled + at + 1);
    filled += bytesRead;
  }
  const end = newlines[2]!;
  return { lines: header.subarray(0, end - 1).toString('utf8').split('\n'), headerBytes: end };
}

/** Opens and checks the framing of a backup file; the caller closes `handle`. */
export async function openArchive(file: string): Promise<OpenedArchive> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    throw new CapsuleError('INVALID_ARGUMENT', `cannot read ${file}: ${(error as Error).message}`);
  }
  try {
    if (!(await handle.stat()).isFile()) throw new CapsuleError('INVALID_ARGUMENT', `${file} is not a file; name the backup file with --in`);
    const { lines, headerBytes } = await readHeader(handle);
    const [magic, manifestLine, mac] = lines as [string, string, string];
    if (`${magic}\n` !== MAGIC) throw damaged(`it does not start with '${BACKUP_FORMAT}'`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(manifestLine);
    } catch {
      throw damaged('its manifest is not JSON');
    }
    const result = manifestSchema.safeParse(parsed);
    if (!result.success || !/^[0-9a-f]{64}$/.test(mac)) throw damaged('its manifest is not one this Capsule reads');
    const manifest = result.data;
    const offsets = new Map<string, number>();
    let offset = headerBytes;
    for (const entry of manifest.entries) {
      if (offsets.has(entry.name)) throw damaged(`${entry.name} appears twice`);
      offsets.set(entry.name, offset);
      offset += entry.size;
    }
    const { size } = await handle.stat();
    if (size !== offset) throw damaged(size < offset ? `it is ${offset - size} bytes short: cut off` : `${size - offset} unexpected bytes at its end`);
    return { manifest, manifestLine, mac, offsets, handle };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** Checks the manifest's HMAC with the master key from the opened bundle. */
export function verifyManifest(archive: OpenedArchive, masterKey: Buffer): void {
  const expected = Buffer.from(manifestMac(archive.manifestLine, masterKey), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(archive.mac, 'hex'))) {
    throw damaged('its manifest does not match the keys it holds: it was altered, or assembled from two backups');
  }
}

/**
 * Streams one entry's bytes to `sink` (or nowhere, to check it) and checks its SHA-256 at the
 * end; a mismatch throws, so the caller discards what `sink` received.
 */
export async function readEntry(
  archive: OpenedArchive,
  entry: BackupEntry,
  sink?: (chunk: Buffer) => Promise<void>,
  onBytes?: (count: number) => void,
): Promise<void> {
  const start = archive.offsets.get(entry.name)!;
  const hash = createHash('sha256');
  const buffer = Buffer.alloc(Math.min(CHUNK_BYTES, Math.max(entry.size, 1)));
  for (let done = 0; done < entry.size; ) {
    const { bytesRead } = await archive.handle.read(buffer, 0, Math.min(buffer.length, entry.size - done), start + done);
    if (bytesRead === 0) throw damaged(`${entry.name} is cut off`);
    const chunk = buffer.subarray(0, bytesRead);
    hash.update(chunk);
    if (sink) await sink(chunk);
    done += bytesRead;
    onBytes?.(bytesRead);
  }
  if (hash.digest('hex') !== entry.sha256) throw damaged(`${entry.name} does not match its checksum`);
}

/** A small entry (the key bundle, the marker) as bytes, checked. */
export async function readSmallEntry(archive: OpenedArchive, name: string): Promise<Buffer> {
  const entry = archive.manifest.entries.find((candidate) => candidate.name === name);
  if (!entry) throw damaged(`${name} is missing`);
  if (entry.size > MAX_SMALL_ENTRY_BYTES) throw damaged(`${name} is too large`);
  const parts: Buffer[] = [];
  await readEntry(archive, entry, async (chunk) => void parts.push(Buffer.from(chunk)));
  return Buffer.concat(parts);
}
