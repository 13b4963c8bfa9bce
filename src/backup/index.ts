export { createBackup, checkOutputFile } from './create-backup.js';
export type { BackupKeyIds, BackupPhase, BackupResult, CreateBackupOptions } from './create-backup.js';
export { restoreBackup, checkRestoreTarget } from './restore-backup.js';
export type { RestoreOptions, RestoreResult } from './restore-backup.js';
export { BACKUP_FORMAT } from './archive.js';
export type { BackupCounts } from './archive.js';
