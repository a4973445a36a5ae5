/**
 * The step commands by command id (registered with the others in commands.ts), the typed API
 * that automation uses instead of passing option objects to commands, and Re-run.
 */
import { assertNever } from '../../shared/protocol.js';
import type { Ctx } from '../ctx.js';
import type { ExplorerNode } from '../explorer.js';
import { withoutAnswers, type RestoreArgs, type Rerun } from './args.js';
import { createDatabaseCommand, runCreateDatabase } from './createDatabaseCommand.js';
import { dumpCommand, runDump } from './dumpCommand.js';
import { migrateCommand, runMigrate } from './migrateCommand.js';
import { preflightCommand, runPreflight } from './preflightCommand.js';
import { restoreCommand, runRestore } from './restoreCommand.js';
import { checkRestoreTarget, dropDatabaseCommand } from './restoreTarget.js';
import { profile } from './stepCommand.js';
import { runTransfer, transferCommand } from './transferCommand.js';
import { runValidate, validateCommand } from './validateCommand.js';

export const STEP_COMMANDS = {
  'hydraMigrate.validateMigration': validateCommand,
  'hydraMigrate.transferDump': transferCommand,
  // Ready: "Migrate Now" in the checklist goes on with the same source, target and database.
  'hydraMigrate.preflight': (ctx: Ctx, arg?: ExplorerNode) => preflightCommand(ctx, arg, (pair) => migrateCommand(ctx, undefined, pair)),
  'hydraMigrate.dumpDatabase': dumpCommand,
  'hydraMigrate.createDatabase': createDatabaseCommand,
  'hydraMigrate.restoreDump': restoreCommand,
  'hydraMigrate.migrateDatabase': migrateCommand,
  'hydraMigrate.dropDatabase': dropDatabaseCommand,
} as const;

/** The steps without prompts, for automation (the extension's exported API). */
export function stepApi(ctx: Ctx) {
  return {
    preflight: (args: Parameters<typeof runPreflight>[1]) => runPreflight(ctx, args),
    dump: (args: Parameters<typeof runDump>[1]) => runDump(ctx, args),
    createDatabase: (args: Parameters<typeof runCreateDatabase>[1]) => runCreateDatabase(ctx, args),
    restore: (args: Parameters<typeof runRestore>[1]) => runRestore(ctx, args),
    migrate: (args: Parameters<typeof runMigrate>[1]) => runMigrate(ctx, args),
    transfer: (args: Parameters<typeof runTransfer>[1]) => runTransfer(ctx, args),
    validate: (args: Parameters<typeof runValidate>[1]) => runValidate(ctx, args),
  };
}

export type StepApi = ReturnType<typeof stepApi>;

/** Resume of an interrupted or cancelled restore: the same archive into the same database, only what is left. */
export function resumeRestore(ctx: Ctx, args: RestoreArgs): Promise<unknown> {
  // The user chose Resume on this run: going on in its database as it is.
  return runRestore(ctx, { ...withoutAnswers(args), confirmNonEmpty: args.database, resume: true });
}

/** Runs a recorded step again with the arguments it kept. */
export function rerun(ctx: Ctx, r: Rerun): Promise<unknown> {
  switch (r.step) {
    case 'dump':
      return runDump(ctx, r.args);
    case 'restore':
      // Into a database that is not empty now (a cancelled restore left part of it): asked, as at the first run.
      return checkRestoreTarget(ctx, profile(ctx, r.args.connectionId), r.args.database).then((choice) =>
        // Only this answer counts: a stored confirmation or drop is never carried over.
        runRestore(ctx, { ...withoutAnswers(r.args), ...choice }),
      );
    case 'create-database':
      return runCreateDatabase(ctx, r.args);
    case 'preflight':
      return runPreflight(ctx, r.args);
    case 'migrate':
      return runMigrate(ctx, r.args);
    case 'transfer':
      return runTransfer(ctx, r.args);
    default:
      return assertNever(r);
  }
}
