/** The one icon map: a status as a text symbol (CLI, terminal) and as a codicon (VS Code UI). */
import type { Style } from './style.js';

export type Status = 'ok' | 'warning' | 'blocker' | 'unknown' | 'skipped';

const SYMBOL: Record<Status, string> = { ok: '✔', warning: '!', blocker: '✖', unknown: '?', skipped: '-' };
const CODICON: Record<Status, string> = {
  ok: '$(pass)',
  warning: '$(warning)',
  blocker: '$(error)',
  unknown: '$(question)',
  skipped: '$(circle-slash)',
};
const COLOUR: Record<Status, keyof Style | undefined> = {
  ok: 'green',
  warning: 'yellow',
  blocker: 'red',
  unknown: undefined,
  skipped: 'dim',
};

export function statusSymbol(status: Status, style: Style): string {
  const colour = COLOUR[status];
  return colour ? style[colour](SYMBOL[status]) : SYMBOL[status];
}

export function statusCodicon(status: Status): string {
  return CODICON[status];
}
