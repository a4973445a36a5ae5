/** What the CLI reads and writes, passed in so that tests and the entry point share main(). */
export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  readStdin: () => string;
  /** One status line that updates in place on stderr (only when stderr is a terminal); '' clears it. */
  status?: (text: string) => void;
}

/** Bad usage: exit code 2 with the message. */
export class UsageError extends Error {}
