/** When the extension bundle started to evaluate (imported first by extension.ts), for the activation benchmark. */
export const bundleEvaluationStarted = performance.now();
