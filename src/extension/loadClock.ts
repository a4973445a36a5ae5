/**
 * When VS Code started to load the extension: set by dist/extension.cjs (the loader scripts/build.mjs
 * writes) before it requires the bundle, so reading and compiling the bundle count too; when the
 * bundle is loaded directly, when it started to evaluate. Imported first by extension.ts.
 */
const mark = (globalThis as Record<symbol, unknown>)[Symbol.for('hydra-migrate.loadStarted')];
export const loadStarted = typeof mark === 'number' ? mark : performance.now();
