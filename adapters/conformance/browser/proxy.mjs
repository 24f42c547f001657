// The chat demo's AI-proxy mode in a real browser: headless Chromium (Debian's) driven by
// playwright-core.
//
//   node adapters/conformance/browser/proxy.mjs http://127.0.0.1:PORT
//
// Run by the conformance suite's `browser_proxy` test against the chat demo with its proxy mode
// (`ssewire_demo::proxy::Proxy`, its upstream model on another port). Checks: (1) with "AI proxy"
// ticked, the upstream's answer renders in both panels (plain EventSource and HTMX's sse
// extension) and the streams end at `done`; (2) with "cut the upstream mid-answer" ticked too,
// both panels show the error event, after the part of the answer that came before the cut.
// Exits 0 when every check passed, 1 when one failed, 2 on bad usage, 3 on timeout.

import { baseUrl, check, finish, launch } from './harness.mjs';

const base = baseUrl('proxy.mjs');

// Waits for `predicate(arg)` in the page; records the check either way.
async function waitFor(page, name, predicate, arg, describe, timeout = 15000) {
  try {
    await page.waitForFunction(predicate, arg, { timeout });
    check(name, true);
    return true;
  } catch (e) {
    const state = describe ? await page.evaluate(describe).catch(() => '?') : '';
    check(name, false, `${e.message.split('\n')[0]}; page state: ${JSON.stringify(state)}`);
    return false;
  }
}

const describe = () => ({
  es: document.getElementById('es-reply')?.textContent,
  esError: document.getElementById('es-error')?.textContent,
  esState: document.getElementById('es-state')?.textContent,
  htmx: document.getElementById('htmx-reply')?.textContent,
  htmxError: document.getElementById('htmx-error')?.textContent,
});

// Sends `message`; with `cut`, the upstream is cut mid-answer.
async function ask(page, message, cut) {
  await page.goto(`${base}/`);
  const mode = (await page.textContent('#mode')) ?? '';
  check('HTMX loaded from /assets', mode.includes('HTMX loaded'), JSON.stringify(mode));
  await page.check('#proxy');
  if (cut) await page.check('#cut');
  await page.fill('#message', message);
  await page.click('#send');
}

async function answer(page) {
  const message = 'proxied <hello>';
  const expected = `This is a streaming response to: ${message}.`;
  await ask(page, message, false);
  await waitFor(
    page,
    'proxy, EventSource panel: the upstream answer, then done',
    (exp) => {
      const r = document.querySelector('#es-reply[data-done=true]');
      return r !== null && r.textContent === exp;
    },
    expected,
    describe,
  );
  await waitFor(
    page,
    'proxy, HTMX panel: the upstream answer',
    (exp) => document.getElementById('htmx-reply')?.textContent === exp,
    expected,
    describe,
  );
  const state = await page.evaluate(describe);
  check('proxy: no error shown', !state.esError && !state.htmxError, JSON.stringify(state));
  check('proxy, EventSource panel: closed after done', state.esState === 'closed after done', JSON.stringify(state.esState));
}

async function cut(page) {
  const expected = 'This is a streaming response to: cut.';
  await ask(page, 'cut', true);
  const error = 'the upstream stopped mid-answer';
  await waitFor(
    page,
    'cut, EventSource panel: the error is shown',
    (e) => (document.getElementById('es-error')?.textContent ?? '').includes(e)
      && document.querySelector('#es-reply[data-done=true]') !== null,
    error,
    describe,
  );
  await waitFor(
    page,
    'cut, HTMX panel: the error is shown',
    (e) => (document.getElementById('htmx-error')?.textContent ?? '').includes(e),
    error,
    describe,
  );
  const state = await page.evaluate(describe);
  for (const [panel, text] of [['EventSource', state.es], ['HTMX', state.htmx]]) {
    check(
      `cut, ${panel} panel: part of the answer came before the error`,
      text.length > 0 && text.length < expected.length && expected.startsWith(text),
      JSON.stringify(text),
    );
  }
  check('cut, EventSource panel: state says so', state.esState === 'upstream error', JSON.stringify(state.esState));
}

try {
  const browser = await launch();
  const page = await browser.newPage();
  page.setDefaultTimeout(15000);
  page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) {
      console.log(`console error: ${m.text()}`);
    }
  });
  page.on('response', (r) => {
    if (r.status() >= 400) console.log(`note: ${r.status()} for ${r.url()}`);
  });
  for (const step of [answer, cut]) {
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
