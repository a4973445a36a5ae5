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
const sgr = (code: number) => (s: string): string => `${ESC}${code}m${s}${ESC}0m`;

export const ansi: Style = { bold: sgr(1), dim: sgr(2), red: sgr(31), green: sgr(32), yellow: sgr(33), cyan: sgr(36) };

/** Removes ANSI colour codes (for transcripts and logs). */
export function stripAnsi(text: string): string {
  return text.replace(/\u001b\[[0-9;]*m/g, '');
}
