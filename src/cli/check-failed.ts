import { CapsuleError } from '../errors.js';

/** A check that has already printed its report: only the one-line summary and exit 1 remain. */
export class CheckFailed extends CapsuleError {
  constructor(message: string) {
    super('CHECK_FAILED', message);
  }
}
