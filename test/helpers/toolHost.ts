/**
 * A process that runs one tool with runTool and waits: the tests kill it outright (as a window
 * reload ends an extension host) and look at what became of the tool. argv: tool, then its args;
 * HM_CAPTURE=1 runs it as a listing (captureStdout).
 */
import { runTool } from '../../src/core/run.js';

const [tool, ...args] = process.argv.slice(2);
process.stdout.write('started\n');
await runTool(tool!, args, process.env.HM_CAPTURE === '1' ? { captureStdout: true } : {});
