/**
 * How text is decorated: plain for the CLI (and files), ANSI for the step terminals. Every
 * presentation in this folder takes a Style, so the CLI and the terminal say the same thing.
 */
export interface Style {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
}

const same = (s: string): string => s;

export const plain: Style = { bold: same, dim: same, red: same, green: same, yellow: same, cyan: same };

const ESC = '\u001b[';
const sgr =
  (code: number) =>
  (s: string): string =>
    `${ESC}${code}m${s}${ESC}0m`;

export const ansi: Style = { bold: sgr(1), dim: sgr(2), red: sgr(31), green: sgr(32), yellow: sgr(33), cyan: sgr(36) };

/** Removes ANSI colour codes (for transcripts and logs). */
export function stripAnsi(text: string): string {
  return text.replace(/\u001b\[[0-9;]*m/g, '');
}

/**
 * Makes control characters visible (`\x1b`, `\x07`, `\u009b`): object names and server messages
 * reach the terminal raw through pg_dump/pg_restore --verbose, and a table named with escape
 * sequences would otherwise retitle, clear or rewrite the terminal. Tabs and line breaks stay;
 * colour codes (SGR: ESC [ digits m) stay too unless `keepColours` is false, so this can run over
 * text we styled; a tool's own output is escaped whole first (a name could hide the output after it).
 */
export function escapeControl(text: string, keepColours = true): string {
  const pattern = keepColours
    ? /\u001b\[[0-9;]*m|[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g
    : /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
  return text.replace(pattern, (c) =>
    c.length > 1
      ? c
      : c.charCodeAt(0) <= 0xff && c.charCodeAt(0) < 0x80
        ? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`
        : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Moves to the start of the line and clears it: what an in-place status line is redrawn with. */
export const CLEAR_LINE = '\r\x1b[2K';

/**
 * A status line to draw in place: control characters escaped (table names come from the servers)
 * and cut to the terminal's width (a line that wraps cannot be cleared in place).
 */
export function statusLine(text: string, columns: number): string {
  const line = escapeControl(text, false);
  const width = Math.max(20, columns - 1);
  return line.length > width ? `${line.slice(0, width - 1)}…` : line;
}
