/**
 * The demo page: runs the GitHub connector in the browser, commits each sync
 * to IndexedDB, and shows progress (from SyncEvents), the commit's stats and
 * the stored graph, and answers PQL queries on the stored graph (run inside
 * IndexedDB by the store's own evaluator).
 *
 * Query parameters: `?api=http://127.0.0.1:PORT` points the connector at the
 * fixture API (offline); `?org=NAME` fills the organization field;
 * `?confirm=0` skips the reset dialog (automation). A link can carry any of
 * them, so none of them lets a typed token leave for another origin than
 * GitHub's: that takes the user ticking the box that names the origin.
 */
import './style.css';
import {
  ConnectorError,
  MAX_PAGE_SIZE,
  PqlError,
  QueryLimitError,
  commitSync,
  query,
  runConnector,
  type QueryResult,
  type StoredEntity,
  type StoredRelationship,
  type SyncEvent,
  type SyncRecord,
  type SyncStats,
} from 'parallax-edge';
import { deleteIndexedDbStore, openIndexedDbStore, type IndexedDbStore } from 'parallax-edge/adapters/indexeddb';
import { createGitHubConnector, type GitHubConnector, type GitHubRateLimit } from 'parallax-edge/connectors/github';
import { GraphView } from './graph-view.js';

const DB_NAME = 'parallax-edge-demo';
const MAX_GRAPH_NODES = 600;
const CLASS_COLORS: Record<string, string> = {
  Organization: '#6d5dfc',
  CodeRepo: '#0ea5e9',
  User: '#16a34a',
  Team: '#f59e0b',
};

const params = new URLSearchParams(location.search);
const apiBase = params.get('api')?.trim() || undefined;

/** The only origin a typed token goes to without asking. */
const GITHUB_API_ORIGIN = 'https://api.github.com';

/**
 * The origin `?api=` names when it is not GitHub's (a typed token goes there
 * only once the user confirms it); undefined for GitHub's, or for a URL the
 * connector refuses anyway.
 */
const otherApiOrigin = ((): string | undefined => {
  if (apiBase === undefined || !URL.canParse(apiBase)) return undefined;
  const { origin } = new URL(apiBase);
  return origin === GITHUB_API_ORIGIN ? undefined : origin;
})();

// ---- elements ----------------------------------------------------------------

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const found = document.getElementById(id);
  if (!found) throw new Error(`#${id} is missing from index.html`);
  return found as T;
};
const form = $<HTMLFormElement>('sync-form');
const orgInput = $<HTMLInputElement>('org');
const orgError = $('org-error');
const tokenInput = $<HTMLInputElement>('token');
const tokenOrigin = $('token-origin');
const tokenOriginConfirm = $<HTMLInputElement>('token-origin-confirm');
const tokenOriginError = $('token-origin-error');
const syncButton = $<HTMLButtonElement>('sync-button');
const resetButton = $<HTMLButtonElement>('reset-button');
const stepsList = $('steps');
const statusLine = $('status');
const rateBox = $('rate-limit');
const rateText = $('rate-limit-text');
const rateBar = $('rate-limit-bar');
const statsMeta = $('stats-meta');
const historyList = $('history');
const historyCount = $('history-count');
const totals = $('totals');
const graphAccount = $('graph-account');
const classesNav = $('classes');
const entityList = $('entity-list');
const detail = $('detail');
const legend = $('legend');
const tabGraph = $<HTMLButtonElement>('tab-graph');
const tabList = $<HTMLButtonElement>('tab-list');
const panelGraph = $('panel-graph');
const panelList = $('panel-list');
const queryForm = $<HTMLFormElement>('query-form');
const pqlInput = $<HTMLTextAreaElement>('pql');
const queryButton = $<HTMLButtonElement>('query-button');
const queryExamples = $('query-examples');
const queryError = $('query-error');
const querySummary = $('query-summary');
const queryResults = $('query-results');

function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number | boolean | undefined> = {},
  ...children: (Node | string | undefined | false)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (key === 'class') node.className = String(value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children) if (child !== undefined && child !== false) node.append(child);
  return node;
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n.toLocaleString()} ${n === 1 ? one : many}`;
const time = (epochMs: number): string => new Date(epochMs).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

// ---- state --------------------------------------------------------------------

let store: IndexedDbStore;
let account: string | undefined;
let entities: StoredEntity[] = [];
let relationships: StoredRelationship[] = [];
let entityById = new Map<string, StoredEntity>();
let selectedId: string | undefined;
let filter: { kind: 'all' } | { kind: 'class' | 'type'; value: string } = { kind: 'all' };
let busy = false;

const graph = new GraphView($('graph-canvas'), { colors: CLASS_COLORS, onSelect: (id) => select(id) });

// ---- rate limit -------------------------------------------------------------------

function showRateLimit(state: GitHubRateLimit): void {
  const { limit, remaining, resetAt, limited, authenticated } = state;
  const who = authenticated ? 'token' : 'anonymous';
  const reset = resetAt !== undefined ? ` · resets ${time(resetAt)}` : '';
  if (limited || remaining === 0) {
    rateBox.dataset.state = 'limited';
    rateText.textContent = `rate limited (0 of ${limit ?? '?'} left)${reset} · ${who}`;
  } else {
    const low = remaining !== undefined && limit !== undefined && remaining / limit < 0.2;
    rateBox.dataset.state = low ? 'low' : 'ok';
    rateText.textContent = `${remaining ?? '?'} of ${limit ?? '?'} left${reset} · ${who}`;
  }
  rateBar.style.width = limit ? `${Math.max(0, Math.min(100, ((remaining ?? 0) / limit) * 100))}%` : '0%';
}

// ---- steps ----------------------------------------------------------------------

function renderSteps(connector: GitHubConnector): void {
  stepsList.replaceChildren(
    ...connector.steps().map((s) =>
      h(
        'li',
        { 'data-step': s.id, 'data-state': 'pending', 'data-testid': `step-${s.id}` },
        h('span', { class: 'step-icon', 'aria-hidden': 'true' }),
        h('span', { class: 'step-name' }, s.name),
        h('span', { class: 'step-info' }, 'waiting'),
        h('span', { class: 'step-note' }),
      ),
    ),
  );
}

function stepRow(stepId: string): { li: HTMLElement; info: HTMLElement; note: HTMLElement } | undefined {
  const li = stepsList.querySelector<HTMLElement>(`li[data-step="${CSS.escape(stepId)}"]`);
  if (!li) return undefined;
  return { li, info: li.querySelector('.step-info')!, note: li.querySelector('.step-note')! };
}

function onEvent(event: SyncEvent): void {
  switch (event.type) {
    case 'started':
      statusLine.textContent = `Running ${plural(event.steps.length, 'step')}…`;
      return;
    case 'stepStarted': {
      const row = stepRow(event.stepId);
      if (row) {
        row.li.dataset.state = 'running';
        row.info.textContent = 'running…';
      }
      return;
    }
    case 'progress': {
      const row = stepRow(event.stepId);
      if (row) row.info.textContent = `${plural(event.entities, 'entity', 'entities')} · ${plural(event.relationships, 'relationship')}…`;
      return;
    }
    case 'warning': {
      const row = stepRow(event.stepId);
      if (row) {
        row.note.textContent = event.message;
        row.li.classList.add('has-note');
      }
      return;
    }
    case 'stepCompleted': {
      const row = stepRow(event.stepId);
      if (row) {
        row.li.dataset.state = 'done';
        row.info.textContent = `${plural(event.entities, 'entity', 'entities')} · ${plural(event.relationships, 'relationship')} · ${Math.round(event.durationMs)} ms`;
      }
      return;
    }
    case 'stepFailed': {
      const row = stepRow(event.stepId);
      if (row) {
        row.li.dataset.state = 'failed';
        row.info.textContent = 'failed';
        row.note.textContent = event.error.message;
        row.li.classList.add('has-note');
      }
      return;
    }
    case 'completed':
      statusLine.textContent = 'Committing to IndexedDB…';
      return;
  }
}

// ---- stats and history ------------------------------------------------------------

function setStat(name: 'created' | 'updated' | 'unchanged' | 'deleted', entitiesN: number, relationshipsN: number): void {
  const n = document.querySelector<HTMLElement>(`[data-testid="stat-${name}"]`)!;
  const sub = document.querySelector<HTMLElement>(`[data-testid="stat-${name}-detail"]`)!;
  n.textContent = (entitiesN + relationshipsN).toLocaleString();
  sub.textContent = `${plural(entitiesN, 'entity', 'entities')} · ${plural(relationshipsN, 'relationship')}`;
  n.parentElement!.classList.toggle('zero', entitiesN + relationshipsN === 0);
}

function showStats(record: SyncRecord | undefined): void {
  const s: SyncStats | undefined = record?.stats;
  if (!record || !s) {
    for (const name of ['created', 'updated', 'unchanged', 'deleted'] as const) {
      document.querySelector<HTMLElement>(`[data-testid="stat-${name}"]`)!.textContent = '–';
      document.querySelector<HTMLElement>(`[data-testid="stat-${name}-detail"]`)!.textContent = '';
    }
    statsMeta.textContent = '';
    return;
  }
  setStat('created', s.entitiesCreated, s.relationshipsCreated);
  setStat('updated', s.entitiesUpdated, s.relationshipsUpdated);
  setStat('unchanged', s.entitiesUnchanged, s.relationshipsUnchanged);
  setStat('deleted', s.entitiesDeleted, s.relationshipsDeleted);
  const kept = s.entitiesKept + s.relationshipsKept;
  const failed = record.failedSteps.length;
  statsMeta.textContent = [
    `${record.accountId} · ${new Date(record.committedAt).toLocaleString()}`,
    failed ? `${plural(failed, 'failed step')}` : '',
    kept ? `${plural(kept, 'row')} kept from failed steps` : '',
  ]
    .filter(Boolean)
    .join(' · ');
}

async function showHistory(): Promise<SyncRecord | undefined> {
  const records = account ? await store.syncHistory({ accountId: account, limit: 10 }) : [];
  historyCount.textContent = records.length ? `(${records.length})` : '';
  historyList.replaceChildren(
    ...records.map((r) => {
      const s = r.stats;
      return h(
        'li',
        {},
        h('time', { datetime: r.committedAt }, new Date(r.committedAt).toLocaleString()),
        ` · +${s.entitiesCreated + s.relationshipsCreated} ~${s.entitiesUpdated + s.relationshipsUpdated} =${s.entitiesUnchanged + s.relationshipsUnchanged} −${s.entitiesDeleted + s.relationshipsDeleted}`,
        r.failedSteps.length ? h('span', { class: 'bad' }, ` · failed: ${r.failedSteps.join(', ')}`) : '',
      );
    }),
  );
  return records[0];
}

// ---- graph data ---------------------------------------------------------------------

async function loadGraph(): Promise<void> {
  entities = [];
  relationships = [];
  if (account) {
    let cursor: string | undefined;
    do {
      const page = await store.listEntities({ accountId: account, limit: MAX_PAGE_SIZE, ...(cursor ? { cursor } : {}) });
      entities.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    do {
      const page = await store.listRelationships({ accountId: account, limit: MAX_PAGE_SIZE, ...(cursor ? { cursor } : {}) });
      relationships.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
  }
  entityById = new Map(entities.map((e) => [e.id, e]));
  if (selectedId && !entityById.has(selectedId)) selectedId = undefined;
  renderGraph();
}

function renderGraph(): void {
  graphAccount.textContent = account ? `· ${account}` : '';
  totals.textContent = entities.length
    ? `${plural(entities.length, 'entity', 'entities')} · ${plural(relationships.length, 'relationship')}`
    : 'Nothing stored yet.';
  totals.dataset.entities = String(entities.length);
  totals.dataset.relationships = String(relationships.length);
  renderClasses();
  renderList();

  const shown = entities.slice(0, MAX_GRAPH_NODES);
  const shownIds = new Set(shown.map((e) => e.id));
  graph.render(
    shown.map((e) => ({ id: e.id, label: e.displayName || e.entityKey, group: e.entityClass, weight: e.entityClass === 'Organization' ? 4 : e.entityClass === 'Team' ? 2 : 1 })),
    relationships.filter((r) => shownIds.has(r.fromId) && shownIds.has(r.toId)).map((r) => ({ from: r.fromId, to: r.toId, label: r.verb })),
  );
  const classes = [...new Set(entities.map((e) => e.entityClass))].sort();
  const items = classes.map((c) => h('li', {}, h('span', { class: 'swatch', style: `background:${CLASS_COLORS[c] ?? '#94a3b8'}` }), c));
  if (entities.length > MAX_GRAPH_NODES) items.push(h('li', { class: 'muted' }, `showing ${MAX_GRAPH_NODES} of ${entities.length}`));
  if (relationships.some((r) => r.verb === 'MANAGES')) items.push(h('li', { class: 'muted' }, '- - - MANAGES'));
  legend.replaceChildren(...items);
  graph.select(selectedId);
  renderDetail();
}

function renderClasses(): void {
  const byClass = new Map<string, Map<string, number>>();
  for (const e of entities) {
    const types = byClass.get(e.entityClass) ?? new Map<string, number>();
    types.set(e.entityType, (types.get(e.entityType) ?? 0) + 1);
    byClass.set(e.entityClass, types);
  }
  if (byClass.size === 0) {
    classesNav.replaceChildren(h('p', { class: 'muted small' }, 'Classes and types appear here.'));
    return;
  }
  const isActive = (kind: string, value?: string): boolean =>
    filter.kind === kind && (filter.kind === 'all' || (filter as { value: string }).value === value);
  const button = (label: string, count: number, active: boolean, onClick: () => void, testid: string, extra = '', color?: string): HTMLButtonElement => {
    const b = h(
      'button',
      { type: 'button', class: `facet ${extra}`, 'aria-pressed': String(active), 'data-testid': testid },
      color ? h('span', { class: 'dot', style: `background:${color}`, 'aria-hidden': 'true' }) : undefined,
      h('span', { class: 'facet-label' }, label),
      h('span', { class: 'count' }, count.toLocaleString()),
    );
    b.addEventListener('click', onClick);
    return b;
  };
  const groups = [...byClass.entries()].sort(([a], [b]) => a.localeCompare(b));
  classesNav.replaceChildren(
    button('All entities', entities.length, isActive('all'), () => setFilter({ kind: 'all' }), 'facet-all', 'all'),
    ...groups.map(([cls, types]) =>
      h(
        'div',
        { class: 'facet-group' },
        button(cls, [...types.values()].reduce((a, b) => a + b, 0), isActive('class', cls), () => setFilter({ kind: 'class', value: cls }), `class-${cls}`, 'class', CLASS_COLORS[cls] ?? '#94a3b8'),
        h(
          'ul',
          {},
          ...[...types.entries()]
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([type, count]) => h('li', {}, button(type, count, isActive('type', type), () => setFilter({ kind: 'type', value: type }), `type-${type}`, 'type'))),
        ),
      ),
    ),
  );
}

function setFilter(next: typeof filter): void {
  filter = next;
  renderClasses();
  renderList();
  if (next.kind !== 'all') showTab('list');
}

function filtered(): StoredEntity[] {
  const list = filter.kind === 'all' ? entities : entities.filter((e) => (filter.kind === 'class' ? e.entityClass : e.entityType) === (filter as { value: string }).value);
  return [...list].sort((a, b) => a.entityClass.localeCompare(b.entityClass) || a.displayName.localeCompare(b.displayName));
}

function renderList(): void {
  const list = filtered();
  if (list.length === 0) {
    entityList.replaceChildren(h('p', { class: 'muted' }, 'No entities.'));
    return;
  }
  const rows = list.map((e) => {
    const b = h('button', { type: 'button', class: 'row-button', 'aria-current': e.id === selectedId ? 'true' : undefined }, e.displayName || e.entityKey);
    b.addEventListener('click', () => select(e.id));
    return h(
      'tr',
      { 'data-id': e.id, class: e.id === selectedId ? 'selected' : undefined },
      h('td', {}, h('span', { class: 'dot', style: `background:${CLASS_COLORS[e.entityClass] ?? '#94a3b8'}`, 'aria-hidden': 'true' }), b),
      h('td', {}, e.entityClass),
      h('td', { class: 'mono' }, e.entityType),
      h('td', { class: 'mono muted' }, e.entityKey),
    );
  });
  entityList.replaceChildren(
    h(
      'table',
      {},
      h('caption', { class: 'sr-only' }, 'Entities'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Class'), h('th', { scope: 'col' }, 'Type'), h('th', { scope: 'col' }, 'Key'))),
      h('tbody', {}, ...rows),
    ),
  );
}

function select(id: string | undefined): void {
  selectedId = id;
  graph.select(id);
  for (const tr of entityList.querySelectorAll<HTMLElement>('tr[data-id]')) tr.classList.toggle('selected', tr.dataset.id === id);
  renderDetail();
}

function valueNode(value: unknown): Node {
  if (value === null) return h('span', { class: 'null' }, 'null');
  if (Array.isArray(value)) {
    return value.length ? h('span', { class: 'chips' }, ...value.map((v) => h('span', { class: 'chip' }, String(v)))) : h('span', { class: 'null' }, '[]');
  }
  if (typeof value === 'boolean') return h('span', { class: `bool ${value}` }, String(value));
  if (typeof value === 'string' && /^https:\/\//.test(value)) return h('a', { href: value, target: '_blank', rel: 'noopener noreferrer' }, value.replace(/^https:\/\//, ''));
  return document.createTextNode(typeof value === 'number' ? value.toLocaleString() : String(value));
}

function renderDetail(): void {
  const e = selectedId ? entityById.get(selectedId) : undefined;
  if (!e) {
    detail.replaceChildren(h('p', { class: 'muted' }, 'Select an entity in the graph or the list to see its properties and relationships.'));
    return;
  }
  const props = Object.entries(e.properties).sort(([a], [b]) => a.localeCompare(b));
  const nameOf = (id: string): string => entityById.get(id)?.displayName ?? '';
  const byVerbThenName = (side: 'fromId' | 'toId') => (a: StoredRelationship, b: StoredRelationship) =>
    a.verb.localeCompare(b.verb) || nameOf(a[side]).localeCompare(nameOf(b[side]));
  const outgoing = relationships.filter((r) => r.fromId === e.id).sort(byVerbThenName('toId'));
  const incoming = relationships.filter((r) => r.toId === e.id).sort(byVerbThenName('fromId'));
  const relItem = (r: StoredRelationship, direction: 'out' | 'in'): HTMLElement => {
    const otherId = direction === 'out' ? r.toId : r.fromId;
    const other = entityById.get(otherId);
    const link = h('button', { type: 'button', class: 'link' }, other?.displayName ?? (direction === 'out' ? r.toKey : r.fromKey));
    link.addEventListener('click', () => select(otherId));
    const extra = Object.entries(r.properties).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : String(v)}`);
    return h(
      'li',
      { 'data-verb': r.verb },
      h('span', { class: 'verb' }, direction === 'out' ? `${r.verb} →` : `← ${r.verb}`),
      link,
      h('span', { class: 'muted' }, other ? ` ${other.entityClass}` : ''),
      extra.length ? h('span', { class: 'rel-props' }, extra.join(' · ')) : undefined,
    );
  };
  detail.replaceChildren(
    h('h3', {}, h('span', { class: 'dot', style: `background:${CLASS_COLORS[e.entityClass] ?? '#94a3b8'}`, 'aria-hidden': 'true' }), e.displayName || e.entityKey),
    h('p', { class: 'badges' }, h('span', { class: 'badge' }, e.entityClass), h('span', { class: 'badge mono' }, e.entityType), h('span', { class: 'badge mono muted' }, `key ${e.entityKey}`)),
    h('h4', {}, `Relationships (${outgoing.length + incoming.length})`),
    outgoing.length + incoming.length
      ? h('ul', { class: 'rels', 'data-testid': 'entity-relationships' }, ...outgoing.map((r) => relItem(r, 'out')), ...incoming.map((r) => relItem(r, 'in')))
      : h('p', { class: 'muted' }, 'None.'),
    h('h4', {}, `Properties (${props.length})`),
    h('dl', { class: 'props', 'data-testid': 'entity-properties' }, ...props.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, valueNode(v))])),
    h('p', { class: 'muted small source' }, `from step ${e.stepId} · sync ${e.syncId.slice(0, 8)}`),
  );
}

function showTab(which: 'graph' | 'list'): void {
  const graphActive = which === 'graph';
  tabGraph.setAttribute('aria-selected', String(graphActive));
  tabList.setAttribute('aria-selected', String(!graphActive));
  tabGraph.tabIndex = graphActive ? 0 : -1;
  tabList.tabIndex = graphActive ? -1 : 0;
  panelGraph.hidden = !graphActive;
  panelList.hidden = graphActive;
}
tabGraph.addEventListener('click', () => showTab('graph'));
tabList.addEventListener('click', () => showTab('list'));
for (const tab of [tabGraph, tabList]) {
  tab.addEventListener('keydown', (event) => {
    if (event.key !== 'ArrowLeft' && event.key !== 'ArrowRight') return;
    const next = tab === tabGraph ? tabList : tabGraph;
    showTab(next === tabGraph ? 'graph' : 'list');
    next.focus();
  });
}

// ---- sync and reset -------------------------------------------------------------------

function setBusy(value: boolean): void {
  busy = value;
  syncButton.disabled = value;
  resetButton.disabled = value;
  syncButton.textContent = value ? 'Syncing…' : 'Sync';
  document.body.classList.toggle('busy', value);
}

function fieldError(message: string | undefined): void {
  orgError.hidden = !message;
  orgError.textContent = message ?? '';
  orgInput.setAttribute('aria-invalid', String(Boolean(message)));
}

function tokenOriginMessage(message: string | undefined): void {
  tokenOriginError.hidden = !message;
  tokenOriginError.textContent = message ?? '';
}

async function sync(): Promise<void> {
  if (busy) return;
  fieldError(undefined);
  tokenOriginMessage(undefined);
  statusLine.className = 'status';
  let connector: GitHubConnector;
  try {
    connector = createGitHubConnector(
      { org: orgInput.value, token: tokenInput.value, ...(apiBase ? { baseUrl: apiBase } : {}) },
      { onRateLimit: showRateLimit },
    );
  } catch (error) {
    if (error instanceof ConnectorError && error.kind === 'Configuration') {
      const message = error.message.replace(/^GitHub connector: /, '');
      if (error.field === 'org') {
        fieldError(message.replace(/^config\.org /, 'The organization '));
        orgInput.focus();
      } else {
        statusLine.textContent = message;
        statusLine.className = 'status error';
      }
      return;
    }
    throw error;
  }
  if (connector.authenticated && otherApiOrigin !== undefined && !tokenOriginConfirm.checked) {
    tokenOriginMessage(
      `Your token would go to ${otherApiOrigin}, not ${GITHUB_API_ORIGIN}: tick the box above if you trust that server, or clear the token.`,
    );
    tokenOriginConfirm.focus();
    return;
  }
  setBusy(true);
  const started = performance.now();
  try {
    renderSteps(connector);
    const accountId = connector.config.org.toLowerCase();
    // Streamed: each page of the API is staged in IndexedDB as it arrives; nothing shows until the commit.
    const output = await runConnector(connector, { accountId, onEvent, store });
    const result = await commitSync(store, output);
    account = accountId;
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const failed = output.failedSteps.length;
    statusLine.textContent = failed
      ? `Committed with ${plural(failed, 'failed step')} in ${seconds} s; their stored rows were kept.`
      : `Synced ${connector.config.org} in ${seconds} s.`;
    statusLine.className = failed ? 'status warn' : 'status ok';
    showStats(result.record);
    await showHistory();
    await loadGraph();
  } catch (error) {
    statusLine.textContent = `Sync failed: ${error instanceof Error ? error.message : String(error)}`;
    statusLine.className = 'status error';
  } finally {
    setBusy(false);
  }
}

async function reset(): Promise<void> {
  if (busy) return;
  if (!confirmReset()) return;
  setBusy(true);
  try {
    await store.close();
    await deleteIndexedDbStore(DB_NAME);
    store = await openIndexedDbStore(DB_NAME);
    account = undefined;
    selectedId = undefined;
    filter = { kind: 'all' };
    showStats(undefined);
    await showHistory();
    await loadGraph();
    stepsList.replaceChildren(h('li', { class: 'empty' }, 'Press Sync to run the connector\'s steps.'));
    statusLine.textContent = 'All stored data was deleted.';
    statusLine.className = 'status';
  } catch (error) {
    statusLine.textContent = `Reset failed: ${error instanceof Error ? error.message : String(error)}`;
    statusLine.className = 'status error';
  } finally {
    setBusy(false);
  }
}

/** Asks before deleting, except when the page runs under automation (?confirm=0). */
function confirmReset(): boolean {
  return params.get('confirm') === '0' || window.confirm('Delete every entity, relationship and sync record stored by this demo?');
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  void sync();
});
resetButton.addEventListener('click', () => void reset());
tokenOriginConfirm.addEventListener('change', () => tokenOriginMessage(undefined));

// ---- query ----------------------------------------------------------------------------

/** FIND matches shown per query. */
const QUERY_PAGE = 200;

/** Example queries over the GitHub connector's data. */
const EXAMPLE_QUERIES: readonly { readonly label: string; readonly pql: string }[] = [
  { label: 'public, not archived', pql: 'FIND github_repo WITH public = true AND archived = false' },
  { label: 'members of no team', pql: 'FIND github_user THAT !HAS <- github_team' },
  { label: 'repos by language', pql: 'FIND github_repo GROUP BY language' },
  { label: 'repos a team manages', pql: 'FIND github_repo THAT MANAGES <- github_team RETURN name, stars' },
  { label: 'blast radius', pql: 'FIND BLAST RADIUS FROM github_team DEPTH 2' },
];

/** A table of text cells (data goes in as text nodes, never as HTML). */
function table(caption: string, head: readonly string[], rows: readonly (readonly (Node | string)[])[]): HTMLTableElement {
  return h(
    'table',
    {},
    h('caption', { class: 'sr-only' }, caption),
    h('thead', {}, h('tr', {}, ...head.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, ...rows.map((cells) => h('tr', {}, ...cells.map((c) => h('td', {}, c))))),
  );
}

/** An entity's name, as a button that selects it when the graph shows it. */
function entityCell(e: StoredEntity): Node {
  const name = e.displayName || e.entityKey;
  if (!entityById.has(e.id)) return document.createTextNode(name);
  const b = h('button', { type: 'button', class: 'link' }, name);
  b.addEventListener('click', () => select(e.id));
  return b;
}
const entityRow = (e: StoredEntity): (Node | string)[] => [entityCell(e), e.entityClass, e.entityType, e.entityKey];
const ENTITY_HEAD = ['Name', 'Class', 'Type', 'Key'];
const cellText = (value: unknown): string => (value === null || value === undefined ? 'null' : Array.isArray(value) ? value.join(', ') : String(value));

function showQueryResult(result: QueryResult): void {
  let shown: StoredEntity[] = [];
  let summary: string;
  let body: Node | undefined;
  if (result.kind === 'path') {
    const path = result.path;
    shown = path ? [...path.entities] : [];
    summary = path ? `A path of ${plural(path.relationships.length, 'hop')}.` : 'No path within the depth.';
    if (path) {
      body = table('Shortest path', ['#', 'Name', 'Class', 'Type', 'Key', 'Then'], path.entities.map((e, i) => [String(i), ...entityRow(e), path.relationships[i]?.verb ?? '']));
    }
  } else if (result.kind === 'blast') {
    shown = result.layers.flatMap((l) => l.entities);
    summary = `${plural(result.count, 'entity', 'entities')} within reach, in ${plural(result.layers.length, 'layer')}.`;
    body = table('Blast radius', ['Distance', ...ENTITY_HEAD], result.layers.flatMap((l) => l.entities.map((e) => [String(l.distance), ...entityRow(e)])));
  } else if (result.groups.length > 0) {
    summary = `${plural(result.count, 'match', 'matches')} in ${plural(result.groups.length, 'group')}.`;
    body = table('Groups', ['Value', 'Count'], result.groups.map((g) => [cellText(g.value), g.count.toLocaleString()]));
  } else if (result.rows.length > 0) {
    summary = `${plural(result.count, 'match', 'matches')}.`;
    const columns = Object.keys(result.rows[0]!);
    body = table('Rows', columns, result.rows.map((row) => columns.map((c) => cellText(row[c]))));
  } else {
    shown = [...result.entities];
    summary = `${plural(result.count, 'match', 'matches')}.`;
    if (shown.length > 0) body = table('Matches', ENTITY_HEAD, shown.map(entityRow));
  }
  if (result.nextCursor) summary += ` Showing the first ${plural(QUERY_PAGE, 'match', 'matches')}.`;
  querySummary.textContent = summary;
  querySummary.className = 'status ok';
  queryResults.replaceChildren(...(body ? [body] : []));
  graph.highlight(shown.length > 0 ? new Set(shown.map((e) => e.id)) : undefined);
}

/** A syntax error with the query's line and a caret under the column. */
function pqlErrorText(error: PqlError, pql: string): string {
  const line = pql.split('\n')[error.line - 1] ?? '';
  return `${error.message}\n${line}\n${' '.repeat(Math.max(0, error.column - 1))}^`;
}

async function runQuery(): Promise<void> {
  const pql = pqlInput.value;
  queryError.hidden = true;
  queryError.textContent = '';
  pqlInput.setAttribute('aria-invalid', 'false');
  querySummary.textContent = 'Running…';
  querySummary.className = 'status';
  queryButton.disabled = true;
  try {
    showQueryResult(await query(store, pql, { limit: QUERY_PAGE, ...(account ? { accountId: account } : {}) }));
  } catch (error) {
    queryResults.replaceChildren();
    graph.highlight(undefined);
    querySummary.textContent = '';
    queryError.hidden = false;
    if (error instanceof PqlError) {
      queryError.textContent = pqlErrorText(error, pql);
      pqlInput.setAttribute('aria-invalid', 'true');
    } else if (error instanceof QueryLimitError) {
      queryError.textContent = `Limit hit (${error.limit}): ${error.message}`;
    } else {
      queryError.textContent = `Query failed: ${error instanceof Error ? error.message : String(error)}`;
    }
  } finally {
    queryButton.disabled = false;
  }
}

queryForm.addEventListener('submit', (event) => {
  event.preventDefault();
  void runQuery();
});
pqlInput.addEventListener('keydown', (event) => {
  // Enter runs the query; Shift+Enter adds a line.
  if (event.key === 'Enter' && !event.shiftKey) {
    event.preventDefault();
    void runQuery();
  }
});
queryExamples.replaceChildren(
  ...EXAMPLE_QUERIES.map(({ label, pql }) => {
    const b = h('button', { type: 'button', class: 'example', title: pql, 'data-pql': pql }, label);
    b.addEventListener('click', () => {
      pqlInput.value = pql;
      void runQuery();
    });
    return b;
  }),
);

// ---- start ----------------------------------------------------------------------------

async function start(): Promise<void> {
  $('db-name').textContent = DB_NAME;
  if (apiBase) {
    const badge = $('api-badge');
    badge.hidden = false;
    badge.textContent = `API: ${apiBase}`;
    badge.title = 'The connector calls this API instead of api.github.com (?api=…)';
  }
  if (otherApiOrigin !== undefined) {
    $('token-origin-name').textContent = otherApiOrigin;
    // A confirmation lasts as long as the page; never restored from an earlier one.
    tokenOriginConfirm.checked = false;
    tokenOrigin.hidden = false;
  }
  setBusy(true);
  try {
    store = await openIndexedDbStore(DB_NAME);
    // The account shown is the last one synced; everything else lives in IndexedDB too.
    const [latest] = await store.syncHistory({ limit: 1 });
    account = latest?.accountId;
    orgInput.value = params.get('org') ?? account ?? '';
    showStats(latest);
    await showHistory();
    await loadGraph();
    statusLine.textContent = latest ? `Loaded ${account} from IndexedDB.` : 'Ready.';
  } catch (error) {
    statusLine.textContent = `IndexedDB is not available: ${error instanceof Error ? error.message : String(error)}`;
    statusLine.className = 'status error';
  } finally {
    setBusy(false);
    document.body.dataset.ready = 'true';
  }
}

void start();
