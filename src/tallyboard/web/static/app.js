// The dashboard shell: sign-in, the organization and period pickers, the tabs, and
// what happens when the credential stops working.
//
// The access token lives in sessionStorage (this tab only, gone when it closes) and
// travels as "Authorization: Bearer"; there are no cookies. A link ending in
// #token=... signs in and the token is removed from the address bar at once.

import { fill, h } from "./dom.js";
import { GraphQLClient, Unauthorized } from "./graphql.js";
import { PERIODS, formatRange, periodLabel } from "./format.js";
import { errorState, skeleton } from "./ui.js";
import { createOrgPicker, createPeriodPicker } from "./pickers.js";
import { setUpTabs } from "./tabs.js";
import { loadApiTab } from "./tab-api.js";
import { loadIntegrationsTab } from "./tab-integrations.js";
import { forgetFlowTable } from "./flow-table.js";
import { loadAiTab } from "./tab-ai.js";
import { loadAutomationsTab } from "./tab-automations.js";
import { createReportExport } from "./report-export.js";

const TOKEN_KEY = "tallyboard.token";
const VIEW_KEY = "tallyboard.view";
const ORGANIZATIONS = `query DashboardOrganizations { myUsageStatsOrganizations { id uuid name } }`;

const TABS = {
  api: { panel: "panel-api", load: loadApiTab, layout: "tables" },
  integrations: { panel: "panel-integrations", load: loadIntegrationsTab, layout: "default" },
  ai: { panel: "panel-ai", load: loadAiTab, layout: "tables" },
  automations: { panel: "panel-automations", load: loadAutomationsTab, layout: "tables" },
};

const $ = (id) => document.getElementById(id);

const state = {
  client: null,
  organizations: [],
  selected: [],
  period: "current_month",
  tab: "api",
  loaded: {},
  ranges: {},
  controllers: {},
  warned: false,
};

function readView() {
  try {
    return JSON.parse(sessionStorage.getItem(VIEW_KEY) ?? "{}");
  } catch {
    return {};
  }
}

function saveView() {
  sessionStorage.setItem(VIEW_KEY, JSON.stringify({ selected: state.selected, period: state.period, tab: state.tab }));
}

/** A token from a "#token=..." link, removed from the address bar (and history) at once. */
function takeTokenFromUrl() {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get("token");
  if (token === null) return null;
  params.delete("token");
  const rest = params.toString();
  history.replaceState(null, "", `${location.pathname}${location.search}${rest ? `#${rest}` : ""}`);
  return token.trim() || null;
}

// ------------------------------------------------------------------ signing in/out

function showSignIn(message = null, tone = "info") {
  for (const controller of Object.values(state.controllers)) controller.abort();
  reportExport.reset();
  state.client = null;
  state.loaded = {};
  for (const tab of Object.values(TABS)) fill($(tab.panel));
  $("dashboard").hidden = true;
  $("signin").hidden = false;
  const box = $("signin-message");
  box.hidden = !message;
  box.className = `alert ${tone}`;
  box.textContent = message ?? "";
  $("signin-submit").disabled = false;
  $("signin-submit").textContent = "Sign in";
  $("signin-token").focus();
}

function signOut(message = null, tone = "info") {
  forgetFlowTable();
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(VIEW_KEY);
  $("signin-token").value = "";
  showSignIn(message, tone);
}

function expired() {
  signOut("Your session has ended: the access token expired or was revoked. Sign in again with a valid token.", "error");
}

function describeCredential(token) {
  if (token.startsWith("tb_pat_")) return "Personal token";
  if (token.startsWith("tb_sat_")) return "Service account";
  return "Access token";
}

function showWarnings(warnings) {
  if (state.warned) return;
  state.warned = true;
  const message = warnings.map((w) => w.message).join(" ");
  const credential = $("credential");
  credential.append(h("span", { class: "badge warn", title: message, tabindex: "0", "aria-label": `Deprecated credential: ${message}` }, "Deprecated"));
}

/** Show the dashboard for `token`; `fresh`: the token was just given (form or link). */
async function start(token, { fresh }) {
  $("signin").hidden = true;
  $("dashboard").hidden = false;
  state.warned = false;
  state.loaded = {};
  state.client = new GraphQLClient(token, { onWarnings: showWarnings });
  fill($("credential"), h("span", { class: "credential-kind" }, describeCredential(token)));
  $("tabs").hidden = false;
  $("controls").hidden = false;
  $("refresh").hidden = false;
  $("report-export").hidden = false;
  $("empty").hidden = true;
  fill($("panel-api"), skeleton());
  try {
    const answer = await state.client.request("DashboardOrganizations", ORGANIZATIONS);
    state.organizations = answer.get("myUsageStatsOrganizations");
  } catch (error) {
    if (error instanceof Unauthorized) {
      if (fresh) signOut("That token was not accepted: it is unknown, expired or revoked. Check it and try again.", "error");
      else expired();
      return;
    }
    fill($("panel-api"), errorState(error, () => start(token, { fresh })));
    return;
  }
  if (!state.organizations.length) {
    showNoOrganizations();
    return;
  }
  const view = readView();
  const known = new Set(state.organizations.map((o) => o.uuid));
  const selected = (view.selected ?? []).filter((u) => known.has(u));
  state.selected = selected.length ? selected : [state.organizations[0].uuid];
  state.period = PERIODS.some((p) => p.value === view.period) ? view.period : "current_month";
  state.tab = TABS[view.tab] ? view.tab : "api";
  orgPicker.update(state.organizations, state.selected);
  periodPicker.update(state.period);
  tabs.select(state.tab, { focus: false });
  refresh();
}

function showNoOrganizations() {
  $("tabs").hidden = true;
  $("controls").hidden = true;
  $("refresh").hidden = true;
  $("report-export").hidden = true;
  orgPicker.update([], []);
  $("subtitle").textContent = "";
  const empty = $("empty");
  empty.hidden = false;
  fill(
    empty,
    h("h2", {}, "No usage statistics to show"),
    h(
      "p",
      {},
      "This credential has no organization where it may see usage statistics. Ask an administrator for a role with the Usage Stats permission (Super Admin, Admin, or a custom role that includes it), or sign in with another token.",
    ),
    h("button", { class: "button", type: "button", onclick: () => signOut() }, "Sign in with another token"),
  );
}

// ------------------------------------------------------------------ loading tabs

function selectedOrganizations() {
  const chosen = new Set(state.selected);
  return state.organizations.filter((o) => chosen.has(o.uuid));
}

function updateHeading(range = null) {
  const orgs = selectedOrganizations();
  const names = orgs.length <= 3 ? orgs.map((o) => o.name).join(", ") : `${orgs.length} organizations`;
  const parts = [names, periodLabel(state.period)];
  if (range) parts.push(`${formatRange(range)} (UTC)`);
  $("subtitle").textContent = parts.join(" · ");
}

async function loadTab(name) {
  const tab = TABS[name];
  const panel = $(tab.panel);
  state.controllers[name]?.abort();
  const controller = new AbortController();
  state.controllers[name] = controller;
  state.loaded[name] = key();
  delete state.ranges[name];
  panel.setAttribute("aria-busy", "true");
  fill(panel, skeleton(tab.layout));
  const ctx = {
    client: state.client,
    orgs: selectedOrganizations(),
    period: state.period,
    signal: controller.signal,
    setRange: (range) => {
      if (controller.signal.aborted) return;
      state.ranges[name] = range;
      if (state.tab === name) updateHeading(range);
    },
    fail: (error) => (error instanceof Unauthorized ? expired() : null),
  };
  try {
    const content = await tab.load(ctx);
    if (controller.signal.aborted) return;
    fill(panel, ...content);
  } catch (error) {
    if (controller.signal.aborted || error.name === "AbortError") return;
    if (error instanceof Unauthorized) {
      expired();
      return;
    }
    state.loaded[name] = null;
    if (error.code === "PERMISSION_DENIED") {
      // The role changed since the list was read: read it again.
      error.message = `${error.message}. Your permissions may have changed; reload the list of organizations.`;
      fill(panel, errorState(error, () => start(state.client.token, { fresh: false })));
    } else {
      fill(panel, errorState(error, () => loadTab(name)));
    }
  } finally {
    if (!controller.signal.aborted) panel.removeAttribute("aria-busy");
  }
}

function key() {
  return `${state.selected.join(",")}|${state.period}`;
}

function refresh({ force = false } = {}) {
  saveView();
  reportExport.update({ client: state.client, orgs: selectedOrganizations(), period: state.period, fail: expired });
  if (force || state.loaded[state.tab] !== key()) {
    updateHeading();
    loadTab(state.tab);
  } else {
    updateHeading(state.ranges[state.tab]);
  }
}

// ------------------------------------------------------------------ wiring

const orgPicker = createOrgPicker($("org-picker"), (selected) => {
  state.selected = selected;
  refresh();
});

const periodPicker = createPeriodPicker($("period-picker"), (period) => {
  state.period = period;
  refresh();
});

const reportExport = createReportExport($("report-export"));

const tabs = setUpTabs(document.querySelector("[role=tablist]"), (name) => {
  state.tab = name;
  if (state.client && state.organizations.length) refresh();
});

$("signin-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const token = $("signin-token").value.trim();
  if (!token) {
    showSignIn("Paste an access token to sign in.", "error");
    return;
  }
  $("signin-submit").disabled = true;
  $("signin-submit").textContent = "Signing in…";
  sessionStorage.setItem(TOKEN_KEY, token);
  start(token, { fresh: true });
});

$("signout").addEventListener("click", () => signOut("You are signed out."));
$("refresh").addEventListener("click", () => refresh({ force: true }));

const linked = takeTokenFromUrl();
if (linked) {
  sessionStorage.setItem(TOKEN_KEY, linked);
  start(linked, { fresh: true });
} else if (sessionStorage.getItem(TOKEN_KEY)) {
  start(sessionStorage.getItem(TOKEN_KEY), { fresh: false });
} else {
  showSignIn();
}
