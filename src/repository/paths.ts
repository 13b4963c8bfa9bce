import { CapsuleError } from '../errors.js';

const MAX_PATH_LENGTH = 1024;
// A segment is anything printable but '/', and not '.' or '..'.
const SEGMENT = /^[^/\u0000-\u001f\u007f]+$/;

/** Returns the normalised absolute path, or throws INVALID_PATH. */
export function checkPath(path: string): string {
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new CapsuleError('INVALID_PATH', `repository path '${String(path)}' must be absolute (start with '/')`);
  }
  if (path.length > MAX_PATH_LENGTH) {
    throw new CapsuleError('INVALID_PATH', `repository path is longer than ${MAX_PATH_LENGTH} characters`);
  }
  if (path === '/') return path;
  const trimmed = path.endsWith('/') ? path.slice(0, -1) : path;
  for (const segment of trimmed.slice(1).split('/')) {
    if (segment === '' || segment === '.' || segment === '..' || !SEGMENT.test(segment)) {
      throw new CapsuleError('INVALID_PATH', `repository path '${path}' has an empty, '.', '..' or unprintable segment`);
    }
  }
  return trimmed;
}

export function parentOf(path: string): string | null {
  if (path === '/') return null;
  const slash = path.lastIndexOf('/');
  return slash === 0 ? '/' : path.slice(0, slash);
}

export function nameOf(path: string): string {
  return path === '/' ? '' : path.slice(path.lastIndexOf('/') + 1);
}

export function joinPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}
