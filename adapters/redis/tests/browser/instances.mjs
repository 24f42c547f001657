// The room demo on two instances sharing one Redis, in a real browser (headless Chromium through
// playwright-core), run by tests/processes.rs:
//
//   node adapters/redis/tests/browser/instances.mjs http://127.0.0.1:PROXY http://127.0.0.1:A http://127.0.0.1:B
//
// PROXY is the test's round-robin TCP proxy in front of A and B. Checks: (1) a message posted on
// instance A shows on a page of instance B, and the other way round; (2) a page behind the proxy
// whose instance is killed (the test kills it when this script prints KILL, and answers on
// stdin) reconnects through the proxy to the other instance and shows every message exactly
// once, in order, the ones posted while it was away replayed from Last-Event-ID.
// Exits 0 when every check passed, 1 when one failed, 2 on bad usage, 3 on timeout.

import readline from 'node:readline';
import { baseUrl, check, finish, launch } from '../../../conformance/browser/harness.mjs';

const proxy = baseUrl('instances.mjs');
const [a, b] = process.argv.slice(3, 5);
if (![a, b].every((u) => /^http:\/\/127\.0\.0\.1:\d+$/.test(u || ''))) {
  console.error('usage: node instances.mjs http://127.0.0.1:PROXY http://127.0.0.1:A http://127.0.0.1:B');
  process.exit(2);
}
const stdin = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const texts = (page) => page.$$eval('#messages li .text', (items) => items.map((i) => i.textContent));
const say = (base, text) => fetch(`${base}/say`, { method: 'POST', body: new URLSearchParams({ name: 'node', text }) });

async function waitForTexts(page, label, wanted) {
  try {
    await page.waitForFunction((wanted) => {
      const seen = [...document.querySelectorAll('#messages li .text')].map((i) => i.textContent);
      return wanted.every((w) => seen.includes(w));
    }, wanted, { timeout: 15000 });
    return true;
  } catch (e) {
    check(`${label}: shows ${JSON.stringify(wanted)}`, false, `saw ${JSON.stringify(await texts(page))}`);
    return false;
  }
}

async function open(context, url) {
  const page = await context.newPage();
  page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
  await page.goto(`${url}/`);
  await page.waitForFunction(() => document.getElementById('state').textContent === 'open');
  return page;
}

try {
  const browser = await launch();
  const context = await browser.newContext();
  const [pageA, pageB] = [await open(context, a), await open(context, b)];

  // (1) Posted on one instance, seen on a page of the other.
  await pageA.fill('#text', 'from a page of A');
  await pageA.click('#send');
  check('a message posted on A shows on a page of B', await waitForTexts(pageB, 'page of B', ['from a page of A']));
  await pageB.fill('#text', 'from a page of B');
  await pageB.click('#send');
  check('a message posted on B shows on a page of A', await waitForTexts(pageA, 'page of A', ['from a page of B']));

  // (2) A page behind the proxy; its instance is killed.
  const page = await open(context, proxy);
  const before = ['before the kill 1', 'before the kill 2'];
  for (const text of before) await say(proxy, text);
  if (await waitForTexts(page, 'proxied page', before)) {
    console.log('KILL');
    const answer = (await stdin.next()).value || '';
    check('the test killed the page\'s instance', answer.startsWith('killed '), answer);
    await page.waitForFunction(() => document.getElementById('state').textContent !== 'open', undefined, { timeout: 5000 });
    const away = ['while away 1', 'while away 2', 'while away 3'];
    for (const text of away) {
      const r = await say(proxy, text);
      if (r.status !== 204) check(`POST /say ${text} through the proxy`, false, `status ${r.status}`);
    }
    if (await waitForTexts(page, 'proxied page', away)) {
      await page.waitForFunction(() => document.getElementById('state').textContent === 'open');
      const seen = await texts(page);
      const expected = [...before, ...away];
      const opens = await page.textContent('#opens');
      check('the proxied page reconnected to the other instance and shows every message exactly once, in order',
        JSON.stringify(seen) === JSON.stringify(expected) && opens === '2',
        `messages ${JSON.stringify(seen)}, connections ${opens}`);
    }
  }
} catch (e) {
  check('instances test: no exception', false, e.stack || String(e));
}
await finish(`room on two instances (${proxy} -> ${a}, ${b})`);
