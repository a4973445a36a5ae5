/** DOM helpers and number formatting of the validation view. */
import type { RowCount, TableComparison } from '../../src/shared/report.js';

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: Array<Node | string>
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

export function button(label: string, onClick: () => void, attrs: Record<string, string> = {}): HTMLElement {
  const b = document.createElement('vscode-button');
  b.textContent = label;
  for (const [k, v] of Object.entries(attrs)) b.setAttribute(k, v);
  b.addEventListener('click', onClick);
  return b;
}

export const fmt = (v: RowCount): string => (v === null ? '–' : typeof v === 'number' ? v.toLocaleString() : v);
export const big = (v: RowCount): bigint | null => (v === null ? null : BigInt(v));
export const statusLabel: Record<string, string> = {
  match: '✔ match',
  different: '✖ different',
  missing_in_target: '✖ missing in target',
  extra_in_target: '! extra in target',
};

export function difference(t: TableComparison): string {
  const a = big(t.sourceRows);
  const b = big(t.targetRows);
  if (a === null || b === null) return '';
  const d = b - a;
  return d === 0n ? '0' : `${d > 0n ? '+' : ''}${d.toLocaleString()}`;
}
