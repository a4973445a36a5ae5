/** The step commands, by command id (registered with the others in commands.ts). */
import { createDatabaseCommand } from './createDatabaseCommand.js';
import { dumpCommand } from './dumpCommand.js';
import { migrateCommand } from './migrateCommand.js';
import { preflightCommand } from './preflightCommand.js';
import { restoreCommand } from './restoreCommand.js';
import { transferCommand } from './transferCommand.js';
import { validateCommand } from './validateCommand.js';

export const STEP_COMMANDS = {
  'hydraMigrate.validateMigration': validateCommand,
  'hydraMigrate.transferDump': transferCommand,
  'hydraMigrate.preflight': preflightCommand,
  'hydraMigrate.dumpDatabase': dumpCommand,
  'hydraMigrate.createDatabase': createDatabaseCommand,
  'hydraMigrate.restoreDump': restoreCommand,
  'hydraMigrate.migrateDatabase': migrateCommand,
} as const;
