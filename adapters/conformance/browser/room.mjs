// The live-room demo (a Hub with Last-Event-ID replay) in a real browser: two headless Chromium
// pages driven by playwright-core.
//
//   node adapters/conformance/browser/room.mjs http://127.0.0.1:PORT
//
// Checks: (1) a message posted from page A shows on both pages; (2) after the server drops every
// stream (POST /drop), messages posted while the pages reconnect show on both pages exactly once,
// in order, replayed from Last-Event-ID.
// Exits 0 when every check passed, 1 when one failed, 2 on bad usage, 3 on timeout.

import { baseUrl, check, finish, launch } from './harness.mjs';

const base = baseUrl('room.mjs');
const texts = (page) => page.$$eval('#messages li .text', (items) => items.map((i) => i.textContent));
const say = (text) => fetch(`${base}/say`, { method: 'POST', body: new URLSearchParams({ name: 'node', text }) });

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

try {
  const browser = await launch();
  const context = await browser.newContext();
  const [a, b] = [await context.newPage(), await context.newPage()];
  for (const page of [a, b]) {
    page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
    await page.goto(`${base}/`);
    await page.waitForFunction(() => document.getElementById('state').textContent === 'open');
  }

  // (1) Posted from page A, seen on both.
  await a.fill('#text', 'hello from A');
  await a.click('#send');
  const both = (await waitForTexts(a, 'page A', ['hello from A'])) & (await waitForTexts(b, 'page B', ['hello from A']));
  check('a message posted from one page shows on both', both === 1);

  // (2) The server drops every stream; messages sent meanwhile are replayed after the reconnect.
  const dropped = await fetch(`${base}/drop`, { method: 'POST' });
  check('POST /drop', dropped.status === 204, `status ${dropped.status}`);
  for (const page of [a, b]) {
    await page.waitForFunction(() => document.getElementById('state').textContent !== 'open', undefined, { timeout: 5000 });
  }
  const away = ['sent while away 1', 'sent while away 2', 'sent while away 3'];
  for (const text of away) {
    const r = await say(text);
    if (r.status !== 204) check(`POST /say ${text}`, false, `status ${r.status}`);
  }
  for (const [label, page] of [['page A', a], ['page B', b]]) {
    if (!(await waitForTexts(page, label, away))) continue;
    await page.waitForFunction(() => document.getElementById('state').textContent === 'open');
    const seen = await texts(page);
    const expected = ['hello from A', ...away];
    const opens = await page.textContent('#opens');
    check(`${label}: reconnected and shows every message exactly once, in order`,
      JSON.stringify(seen) === JSON.stringify(expected) && opens === '2',
      `messages ${JSON.stringify(seen)}, connections ${opens}`);
  }
} catch (e) {
  check('room test: no exception', false, e.stack || String(e));
}
await finish(`room browser test (${base})`);
