// The ssewire demo in a real browser: headless Chromium (Debian's) driven by playwright-core.
//
//   node adapters/conformance/browser/demo.mjs http://127.0.0.1:PORT
//
// Run by the conformance suite's `browser_demo` test against the demo server of each adapter.
// Checks: (1) the chat page streams the reply incrementally into both panels (plain EventSource and
// HTMX's sse extension); (2) JSON pushes and a custom event; (3) the counter page reconnects after
// the server ends the stream and sends Last-Event-ID, until a 204 stops it.
// Exits 0 when every check passed, 1 when one failed, 2 on bad usage, 3 on timeout.
//
// Environment: SSEWIRE_NODE_MODULES (default: the repository's node_modules), SSEWIRE_CHROMIUM
// (default /usr/bin/chromium), SSEWIRE_BROWSER_TIMEOUT_MS (default 90000).

import { baseUrl, check, finish, launch } from './harness.mjs';

const base = baseUrl('demo.mjs');

// Waits for `predicate(arg)` in the page; returns true, or false (recording why) on timeout.
async function waitFor(page, name, predicate, arg, describe, timeout = 15000) {
  try {
    await page.waitForFunction(predicate, arg, { timeout });
    return true;
  } catch (e) {
    const state = describe ? await page.evaluate(describe).catch(() => '?') : '';
    check(name, false, `${e.message.split('\n')[0]}; page state: ${JSON.stringify(state)}`);
    return false;
  }
}

async function chat(page) {
  await page.goto(`${base}/`);
  const mode = (await page.textContent('#mode')) ?? '';
  check('HTMX loaded from /assets', mode.includes('HTMX loaded'), JSON.stringify(mode));

  // Sample both panels' reply length every 20 ms, in the page, while the reply streams.
  await page.evaluate(() => {
    window.__samples = { es: [], htmx: [] };
    window.__sampler = setInterval(() => {
      const es = document.getElementById('es-reply');
      const htmx = document.getElementById('htmx-reply');
      window.__samples.es.push(es ? es.textContent.length : -1);
      window.__samples.htmx.push(htmx ? htmx.textContent.length : -1);
    }, 20);
  });
  const message = 'hello from Chromium';
  const expected = `This is a streaming response to: ${message}.`;
  await page.fill('#message', message);
  await page.click('#send');

  const describe = () => ({
    es: document.getElementById('es-reply')?.textContent,
    esDone: document.getElementById('es-reply')?.dataset.done,
    esState: document.getElementById('es-state')?.textContent,
    htmx: document.getElementById('htmx-reply')?.textContent,
  });
  const esDone = await waitFor(
    page,
    'EventSource panel: streamed reply and done',
    (exp) => {
      const r = document.querySelector('#es-reply[data-done=true]');
      return r !== null && r.textContent === exp;
    },
    expected,
    describe,
  );
  if (esDone) check('EventSource panel: streamed reply and done', true, JSON.stringify(expected));
  const htmxDone = await waitFor(
    page,
    'HTMX panel: streamed reply (sse-swap)',
    (exp) => document.getElementById('htmx-reply')?.textContent === exp,
    expected,
    describe,
  );
  if (htmxDone) check('HTMX panel: streamed reply (sse-swap)', true);

  const samples = await page.evaluate(() => {
    clearInterval(window.__sampler);
    return window.__samples;
  });
  for (const panel of ['es', 'htmx']) {
    const partial = new Set(samples[panel].filter((n) => n > 0 && n < expected.length));
    check(
      `${panel === 'es' ? 'EventSource' : 'HTMX'} panel: the reply grew incrementally`,
      partial.size >= 5,
      `${partial.size} distinct partial lengths seen`,
    );
  }
  const lastId = (await page.textContent('#es-last-id')) ?? '';
  check('EventSource saw the last event id', lastId === String(expected.length), JSON.stringify(lastId));
}

async function json(page) {
  await page.click('#json-button');
  const ok = await waitFor(
    page,
    'JSON pushes and a custom event',
    () => document.querySelector('#json-log[data-done=true]') !== null,
    undefined,
    () => document.getElementById('json-log')?.textContent,
  );
  if (!ok) return;
  const log = (await page.textContent('#json-log')) ?? '';
  const wanted = [
    'message id="" {"id":1,"status":"ok"}',
    '"items":[1,2,3]',
    'my_event id="custom-1" payload',
    'done id="custom-1"',
  ];
  const missing = wanted.filter((w) => !log.includes(w));
  check('JSON pushes and a custom event', missing.length === 0,
    missing.length ? `missing ${JSON.stringify(missing)} in ${JSON.stringify(log)}` : `${log.trim().split('\n').length} events`);
}

async function counter(page) {
  await page.goto(`${base}/counter`);
  const ok = await waitFor(
    page,
    'counter: EventSource stopped by 204',
    () => document.querySelector('#state[data-stopped=true]') !== null,
    undefined,
    () => ({ state: document.getElementById('state')?.textContent, items: document.querySelectorAll('#log li').length }),
  );
  if (!ok) return;
  const items = await page.$$eval('#log li', (lis) => lis.map((li) => li.textContent));
  check('counter: nine events over three connections', items.length === 9, `${items.length} items`);
  const resumedFrom = (n) => (n <= 3 ? '' : n <= 6 ? '3' : '6');
  const wrong = [];
  items.forEach((text, i) => {
    const n = i + 1;
    const want = `id ${n}: event ${n} (Last-Event-ID on connect: "${resumedFrom(n)}")`;
    if (text !== want) wrong.push({ got: text, want });
  });
  check('counter: reconnects sent Last-Event-ID "3" and "6"', wrong.length === 0,
    wrong.length ? JSON.stringify(wrong) : 'ids 1..9 in order');
  const state = (await page.textContent('#state')) ?? '';
  check('counter: stopped after three connections', state.includes('stopped after 3 connections'), JSON.stringify(state));
}

try {
  const browser = await launch();
  const page = await browser.newPage();
  page.setDefaultTimeout(15000);
  page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
  page.on('console', (m) => {
    // Failed loads are reported with their URL below.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) {
      console.log(`console error: ${m.text()}`);
    }
  });
  page.on('response', (r) => {
    if (r.status() >= 400) console.log(`note: ${r.status()} for ${r.url()}`);
  });
  for (const step of [chat, json, counter]) {
    try {
      await step(page);
    } catch (e) {
      check(`${step.name}: no exception`, false, e.stack || String(e));
    }
  }
} catch (e) {
  check('launch Chromium', false, e.stack || String(e));
}
await finish(`browser test (${base})`);
