/**
 * Messages between the extension host and the webview (validation report, issue #4).
 * Discriminated unions only; the webview says `ready` before the host posts data.
 */
export type WebviewToHost = { type: 'ready' };

export type HostToWebview = { type: 'show'; title: string; rows: Array<{ label: string; value: string }> };
