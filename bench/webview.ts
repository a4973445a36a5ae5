/**
 * `npm run bench` (webview): first render of the validation view with a 10,000-table report in
 * headless Chromium (the same bundle VS Code loads), against rendering a 100-table report in the
 * same run. Goal: under 500 ms. Not a test.
 */
import { showReport, syntheticReport, viewPages } from '../test/helpers/webviewPage.js';

const pages = await viewPages();

try {
  const measure = async (n: number, differing: number): Promise<number[]> => {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const page = await pages.open();
      times.push(await showReport(page, syntheticReport(n, differing)));
      await page.close();
    }
    return times.sort((a, b) => a - b);
  };
  const med = (xs: number[]): number => xs[Math.floor(xs.length / 2)]!;
  const small = await measure(100, 0);
  const bigAll = await measure(10000, 0);
  const bigDiff = await measure(10000, 400);
  console.log(
    `webview first render, median of 5 (message to painted): 100 tables ${med(small).toFixed(0)} ms; 10,000 tables all matching ${med(bigAll).toFixed(0)} ms (ratio ${(med(bigAll) / med(small)).toFixed(1)}); 10,000 tables with 400 differences ${med(bigDiff).toFixed(0)} ms (goal < 500 ms)`,
  );
} finally {
  await pages.close();
}
