/**
 * The status window. Data arrives only through the preload bridge (`window.vigil`);
 * there is no network access (CSP connect-src 'none') and no remote content.
 *
 * Accessibility: landmarks (banner, main, contentinfo) and a heading per section; the
 * status is a word and a glyph as well as a colour; status changes are announced in a
 * polite live region; findings are disclosure buttons (aria-expanded/aria-controls) that
 * Enter and Space toggle natively; "Check now" stays focusable while a check runs
 * (aria-disabled) so keyboard users do not lose their place.
 */
import type { AgentState } from '../shared/agent-state.js';
import type { VigilBridge } from '../shared/ipc.js';
import { clear, el } from './dom.js';
import { announcement, buildStatusView, type FactRow, type FindingView, type StatusView } from './view-model.js';

declare global {
  interface Window {
    vigil?: VigilBridge;
  }
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

function formatTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return 'unknown time';
  const mins = Math.round((d.getTime() - Date.now()) / 60000);
  let rel: string;
  if (Math.abs(mins) < 60) rel = relative.format(mins, 'minute');
  else if (Math.abs(mins) < 48 * 60) rel = relative.format(Math.round(mins / 60), 'hour');
  else rel = relative.format(Math.round(mins / 1440), 'day');
  return `${dateTime.format(d)} (${rel})`;
}

const byId = <T extends HTMLElement>(id: string): T => {
  const node = document.getElementById(id);
  if (!node) throw new Error(`missing #${id}`);
  return node as T;
};

const expanded = new Set<string>();
/** The status last drawn from a real state; the first state is not announced (it is the page). */
let lastStatus: StatusView['status'] | null = null;

function factList(rows: FactRow[]): HTMLDListElement {
  const dl = el('dl', { class: 'facts' });
  for (const r of rows) dl.append(el('div', { class: 'fact' }, el('dt', {}, r.label), el('dd', {}, r.value)));
  return dl;
}

function findingItem(f: FindingView, n: number, bridge: VigilBridge | undefined): HTMLLIElement {
  const detailsId = `finding-${n}-details`;
  const isOpen = expanded.has(f.id);
  const toggle = el(
    'button',
    { type: 'button', class: 'finding__toggle', 'aria-expanded': isOpen ? 'true' : 'false', 'aria-controls': detailsId },
    el('span', { class: `badge badge--${f.severity}` }, f.severityLabel),
    el('span', { class: 'finding__title' }, f.connection ?? f.title),
  );
  const details = el('div', { id: detailsId, class: 'finding__details', hidden: !isOpen });
  if (f.connection) details.append(el('p', {}, f.title));
  if (f.steps.length) {
    details.append(el('h4', {}, 'Steps for you or your IT provider'), el('ol', { class: 'steps' }, ...f.steps.map((s) => el('li', {}, s))));
  }
  if (f.links.length) {
    const list = el('ul', { class: 'links' });
    for (const l of f.links) {
      const b = el('button', { type: 'button', class: 'link-button' }, l.label);
      b.title = l.url;
      b.addEventListener('click', () => {
        void bridge?.openAdviceLink(f.id, l.index).then((r) => {
          if (!r.ok) say(r.error);
        });
      });
      list.append(el('li', {}, b, el('span', { class: 'url' }, ` ${l.url}`)));
    }
    details.append(el('h4', {}, 'More information'), list);
  }
  if (f.evidence.length) details.append(el('h4', {}, 'What Vigil saw'), factList(f.evidence));
  toggle.addEventListener('click', () => {
    const open = toggle.getAttribute('aria-expanded') !== 'true';
    toggle.setAttribute('aria-expanded', open ? 'true' : 'false');
    details.hidden = !open;
    if (open) expanded.add(f.id);
    else expanded.delete(f.id);
  });
  const advice = f.adviceTitle
    ? el(
        'p',
        { class: 'finding__advice' },
        el('strong', {}, 'What to do: '),
        f.adviceRepeat ? `${f.adviceTitle} (see above).` : `${f.adviceTitle}.${f.adviceText ? ' ' + f.adviceText : ''}`,
      )
    : null;
  return el('li', { class: `finding finding--${f.severity}` }, el('h3', { class: 'finding__heading' }, toggle), advice, details);
}

function say(text: string): void {
  const live = byId('announcer');
  // Clear first so that the same text spoken twice is announced twice.
  live.textContent = '';
  window.setTimeout(() => {
    live.textContent = text;
  }, 50);
}

const UNREACHABLE = 'Not known while Vigil’s checker cannot be reached.';

function render(state: AgentState | null, bridge: VigilBridge | undefined): void {
  const view = buildStatusView(state, formatTime);
  document.body.dataset.status = view.status;
  byId('status-glyph').textContent = view.glyph;
  byId('status-label').textContent = view.label;
  byId('status-why').textContent = view.why;
  document.title = `Vigil: ${view.label}`;

  const unreachable = !view.canCheck && state !== null;
  const check = byId<HTMLButtonElement>('check-now');
  check.setAttribute('aria-disabled', view.scanning || !bridge ? 'true' : 'false');
  // Nothing to ask while the checker cannot be reached: no button that cannot work.
  check.hidden = unreachable;
  check.textContent = view.scanning ? 'Checking…' : 'Check now';

  const notices = byId('notices');
  clear(notices);
  notices.hidden = view.notices.length === 0;
  for (const n of view.notices) notices.append(el('p', {}, n));

  const findings = byId('findings');
  clear(findings);
  if (view.findings.length === 0) {
    findings.append(
      el('p', { class: 'empty' }, unreachable ? UNREACHABLE : view.status === 'unknown' ? 'No results yet.' : 'Nothing to report: no affected software or attack traces were found.'),
    );
  } else {
    const list = el('ul', { class: 'finding-list' });
    view.findings.forEach((f, i) => list.append(findingItem(f, i, bridge)));
    findings.append(list);
  }

  const connections = byId('connections');
  clear(connections);
  if (view.connections.length === 0) {
    connections.append(el('p', { class: 'empty' }, unreachable ? UNREACHABLE : 'No connections to known attack servers were seen.'));
  } else {
    const list = el('ul', { class: 'finding-list' });
    view.connections.forEach((f, i) => list.append(findingItem(f, view.findings.length + i, bridge)));
    connections.append(list);
  }

  const health = byId('health');
  clear(health);
  health.append(factList(view.facts));
  const versions = byId('versions');
  clear(versions);
  versions.append(factList(view.versions));

  if (state) {
    if (lastStatus !== null && lastStatus !== view.status) say(announcement(view));
    lastStatus = view.status;
  }
}

function start(): void {
  const bridge = window.vigil;
  let current: AgentState | null = null;
  render(null, bridge);
  byId('check-now').addEventListener('click', () => {
    const b = byId('check-now');
    if (!bridge || b.getAttribute('aria-disabled') === 'true') return;
    say('Checking this PC now.');
    void bridge.checkNow().then((r) => {
      if (!r.ok) say(r.error);
    });
  });
  byId('open-logs').addEventListener('click', () => {
    void bridge?.openLogs().then((r) => {
      if (!r.ok) say(r.error);
    });
  });
  if (!bridge) {
    byId('status-why').textContent = 'This window cannot reach Vigil. Close it and open it again from the tray icon.';
    return;
  }
  bridge.onState((s) => {
    current = s;
    render(current, bridge);
  });
  bridge
    .getState()
    .then((s) => {
      if (s && current === null) {
        current = s;
        render(current, bridge);
      }
    })
    .catch(() => render(null, bridge));
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
