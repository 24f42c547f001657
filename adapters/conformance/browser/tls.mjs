// HTTPS in a real browser: headless Chromium told to accept the test's self-signed certificate.
//
//   node adapters/conformance/browser/tls.mjs https://127.0.0.1:H2PORT https://127.0.0.1:H1PORT https://127.0.0.1:ROOMPORT
//
// Checks: (1) over HTTP/2 (ALPN h2) one page holds 10 EventSources to the origin and every one
// gets its first event, and the page's nextHopProtocol is h2; (2) against a server that offers
// only http/1.1, exactly 6 get events (the browser's six connections per host) and the others
// wait; (3) the room demo over HTTPS in two pages: a message posted in one shows in the other.
// Exits 0 when every check passed, 1 when one failed, 2 on bad usage, 3 on timeout.

import { check, finish, launch } from './harness.mjs';

const bases = process.argv.slice(2, 5);
if (bases.length !== 3 || !bases.every((b) => /^https:\/\/(127\.0\.0\.1|localhost):\d+$/.test(b))) {
  console.error('usage: node tls.mjs https://127.0.0.1:H2PORT https://127.0.0.1:H1PORT https://127.0.0.1:ROOMPORT (loopback only)');
  process.exit(2);
}
const [h2Base, h1Base, roomBase] = bases;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function streams(context, base) {
  const page = await context.newPage();
  page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
  await page.goto(`${base}/`);
  // Every stream that can open sends its first event at once; give the others time to show
  // that they wait.
  try {
    await page.waitForFunction(() => window.got.length === 10, undefined, { timeout: 3000 });
  } catch { /* counted below */ }
  await sleep(500);
  const got = await page.evaluate(() => window.got.length);
  const protocol = await page.evaluate(() => performance.getEntriesByType('navigation')[0].nextHopProtocol);
  await page.close();
  return { got, protocol };
}

try {
  const browser = await launch();
  const context = await browser.newContext({ ignoreHTTPSErrors: true });

  const h2 = await streams(context, h2Base);
  console.log(`h2 server: ${h2.got} of 10 streams got events, nextHopProtocol ${h2.protocol}`);
  check('over h2 all 10 EventSources get their first event', h2.got === 10, `${h2.got} of 10`);
  check('over h2 the page reports nextHopProtocol h2', h2.protocol === 'h2', h2.protocol);

  const h1 = await streams(context, h1Base);
  console.log(`http/1.1-only server: ${h1.got} of 10 streams got events, nextHopProtocol ${h1.protocol}`);
  check('over http/1.1 exactly 6 EventSources get events, the others wait', h1.got === 6, `${h1.got} of 10`);
  check('the control server speaks http/1.1', h1.protocol === 'http/1.1', h1.protocol);

  const [a, b] = [await context.newPage(), await context.newPage()];
  for (const page of [a, b]) {
    page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
    await page.goto(`${roomBase}/`);
    await page.waitForFunction(() => document.getElementById('state').textContent === 'open');
  }
  await a.fill('#text', 'hello over https');
  await a.click('#send');
  let shown = true;
  try {
    await b.waitForFunction(() => [...document.querySelectorAll('#messages li .text')]
      .some((i) => i.textContent === 'hello over https'), undefined, { timeout: 15000 });
  } catch { shown = false; }
  check('room over HTTPS: a message posted in one page shows in the other', shown);
  const roomProtocol = await b.evaluate(() => performance.getEntriesByType('navigation')[0].nextHopProtocol);
  check('the room page came over h2', roomProtocol === 'h2', roomProtocol);
} catch (e) {
  check('tls.mjs ran', false, String(e?.stack || e));
}
await finish('tls.mjs');
