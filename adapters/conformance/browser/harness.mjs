// What every browser script of the conformance suite shares: the loopback base URL from the
// command line, headless Chromium (Debian's, through playwright-core), a watchdog, and the
// check/summary protocol the Rust side reads (exit 0 all passed, 1 a check failed, 2 bad usage,
// 3 timeout).
//
// Environment: SSEWIRE_NODE_MODULES (default: the repository's node_modules), SSEWIRE_CHROMIUM
// (default /usr/bin/chromium), SSEWIRE_BROWSER_TIMEOUT_MS (default 90000).

import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const nodeModules = process.env.SSEWIRE_NODE_MODULES || path.resolve(here, '../../../node_modules');
const { chromium } = createRequire(import.meta.url)(path.join(nodeModules, 'playwright-core'));
const executablePath = process.env.SSEWIRE_CHROMIUM || '/usr/bin/chromium';
const timeoutMs = Number(process.env.SSEWIRE_BROWSER_TIMEOUT_MS || 90000);

/** The server under test, from argv: loopback only. */
export function baseUrl(script) {
  const base = process.argv[2];
  if (!base || !/^http:\/\/(127\.0\.0\.1|localhost|\[::1\]):\d+$/.test(base)) {
    console.error(`usage: node ${script} http://127.0.0.1:PORT (loopback only)`);
    process.exit(2);
  }
  return base;
}

let browser;
const results = [];

/** Records and prints one check. */
export function check(name, ok, detail = '') {
  results.push({ name, ok });
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ` — ${detail}` : ''}`);
}

const watchdog = setTimeout(async () => {
  console.log(`FAIL browser test timed out after ${timeoutMs} ms`);
  try { await browser?.close(); } catch { /* exiting anyway */ }
  process.exit(3);
}, timeoutMs);

/** Headless Chromium, loopback only (no background networking). */
export async function launch() {
  browser = await chromium.launch({
    executablePath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
    ],
    timeout: 30000,
  });
  return browser;
}

/** Closes the browser, prints the summary and exits with the verdict. */
export async function finish(label) {
  try { await browser?.close(); } catch { /* already gone */ }
  clearTimeout(watchdog);
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  console.log(`${label}: ${passed} checks passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}
