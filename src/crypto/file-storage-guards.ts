import { CapsuleError } from '../errors.js';
import { readKeyFile, readMarker, type KeyLocations } from './key-files.js';

/** Rotation and staging write key files: they need `keys/storage` to say 'file'. */
export function requireFileStorage(locations: KeyLocations, operation: string): void {
  const marker = readMarker(locations.keysDir);
  if (marker !== 'file') {
    throw new CapsuleError(
      'INVALID_ARGUMENT',
      `${operation} needs the keys on the file system (this home: ${marker ?? 'no keys'}); run 'capsule keys migrate' first`,
    );
  }
}

export function requireKeyFile(file: string): Buffer {
  const key = readKeyFile(file);
  if (!key) throw new CapsuleError('KEY_MISSING', `${file} is missing; restore it with 'capsule keys import'`);
  return key;
}
