/**
 * Browser side of the extension's webviews. Built with @vscode-elements/elements (the maintained
 * successor of @vscode/webview-ui-toolkit); styled only with --vscode-* theme variables.
 * It announces `ready`, then renders what the host sends.
 */
import '@vscode-elements/elements/dist/vscode-table/index.js';
import '@vscode-elements/elements/dist/vscode-table-header/index.js';
import '@vscode-elements/elements/dist/vscode-table-header-cell/index.js';
import '@vscode-elements/elements/dist/vscode-table-body/index.js';
import '@vscode-elements/elements/dist/vscode-table-row/index.js';
import '@vscode-elements/elements/dist/vscode-table-cell/index.js';
import type { HostToWebview, WebviewToHost } from '../../src/shared/protocol.js';

interface VsCodeApi {
  postMessage(message: WebviewToHost): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const root = document.getElementById('root');

function render(message: HostToWebview): void {
  if (!root) return;
  root.replaceChildren();
  const h = document.createElement('h2');
  h.textContent = message.title;
  const table = document.createElement('vscode-table');
  const body = document.createElement('vscode-table-body');
  body.setAttribute('slot', 'body');
  for (const row of message.rows) {
    const tr = document.createElement('vscode-table-row');
    for (const text of [row.label, row.value]) {
      const td = document.createElement('vscode-table-cell');
      td.textContent = text;
      tr.append(td);
    }
    body.append(tr);
  }
  table.append(body);
  root.append(h, table);
}

window.addEventListener('message', (event: MessageEvent<HostToWebview>) => {
  if (event.data && event.data.type === 'show') render(event.data);
});
vscode.postMessage({ type: 'ready' });
