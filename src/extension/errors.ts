/** Errors the command boundary (registerCommands) treats specially. */

/** The user dismissed a prompt: the command ends quietly. */
export class Cancelled extends Error {
  override name = 'Cancelled';
}

/** A mistake of the user's, explained in the message: shown without a stack in the log. */
export class UserError extends Error {}
