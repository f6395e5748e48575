// An export control: a button that creates an export through GraphQL, follows it while
// the server builds it, and downloads its file through the signed link once finished.
//
// Exports are durable jobs on the server (created → processing → finished | failed), so
// the page only polls: first after 1 s, then 1.5 times longer each time, never more
// often than every second nor less often than every 5 s, and for at most 10 minutes
// (then "Check again" resumes; the job goes on regardless). The file's link is valid
// for an hour and signed afresh on every read, so the download link asks for a fresh
// one when its own is older than 50 minutes. Failures are shown as the server words them.

import { h, nextId } from "./dom.js";
import { Unauthorized } from "./graphql.js";

export const FIRST_DELAY_MS = 1000;
export const MAX_DELAY_MS = 5000;
const GIVE_UP_AFTER_MS = 10 * 60_000;
const LINK_FRESH_FOR_MS = 50 * 60_000;
const PENDING = new Set(["created", "processing"]);

/** The pause before the next read: 1.5 times the last one, at most MAX_DELAY_MS. */
export function nextDelay(delay) {
  return Math.min(MAX_DELAY_MS, Math.max(FIRST_DELAY_MS, Math.round(delay * 1.5)));
}

function pause(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(new DOMException("Aborted", "AbortError"));
    }, { once: true });
  });
}

/**
 * options:
 *  label: the button's text; testid: prefix of the parts' data-testid;
 *  subject(): a short name of what is exported now (shown in the status, e.g. "Acme Corp, this month");
 *  create(signal) -> export and read(id, signal) -> export, export = {id, status, fileUrl, error, ...};
 *  note(export): an extra line for a finished export, or null;
 *  fail(error): told when the credential stopped working;
 *  options: controls shown before the button (e.g. the file format).
 * Returns {element, describe(text), disable(reason), reset()}.
 */
export function createExportButton({ label, testid, subject, create, read, note = () => null, fail = () => {}, options = [] }) {
  // The name stays the visible label; what the export covers is the description.
  const about = h("span", { id: nextId("export-about"), class: "visually-hidden" });
  const button = h("button", { class: "button small", type: "button", "aria-describedby": about.id, "data-testid": `${testid}-button` }, label);
  const status = h("span", { class: "export-status small", role: "status", "data-testid": `${testid}-status` });
  const link = h("a", { class: "export-link small", download: "", hidden: true, "data-testid": `${testid}-link` }, "Download again");
  const again = h("button", { class: "button ghost small", type: "button", hidden: true }, "Check again");
  const element = h("div", { class: "export-control", "data-testid": testid }, ...options, button, about, status, link, again);
  let controller = null;
  let current = null;
  let linkedAt = 0;
  let shownSubject = "";
  let disabledFor = null;

  function show(text, tone) {
    status.textContent = text ? `${shownSubject}: ${text}` : "";
    status.className = `export-status small ${tone ?? ""}`.trim();
  }

  function busy(on) {
    button.disabled = on || disabledFor !== null;
    element.toggleAttribute("aria-busy", on);
  }

  function stop() {
    controller?.abort();
    controller = new AbortController();
    return controller.signal;
  }

  function problem(error, signal) {
    if (error.name === "AbortError" || signal.aborted) return;
    if (error instanceof Unauthorized) {
      fail(error);
      return;
    }
    const reference = error.correlationId ? ` (reference ${error.correlationId})` : "";
    show(`${error.message}${reference}`, "error");
    again.hidden = !(current && PENDING.has(current.status));
  }

  function settle(found) {
    current = found;
    if (found.status === "finished") {
      const extra = note(found);
      show(`ready; the download has started.${extra ? ` ${extra}` : ""}`, "success");
      link.href = found.fileUrl;
      link.setAttribute("aria-label", `Download again: ${shownSubject}`);
      link.hidden = false;
      linkedAt = Date.now();
      link.click();
    } else if (found.status === "failed") {
      show(`the export failed. ${found.error ?? "The server gave no reason."}`, "error");
    } else if (found.status === "expired") {
      show("the file has expired; export again.", "error");
    }
  }

  async function follow(signal) {
    const started = Date.now();
    let delay = FIRST_DELAY_MS;
    again.hidden = true;
    while (PENDING.has(current.status)) {
      show(current.status === "created" ? "waiting to be built…" : "being built…", "pending");
      if (Date.now() - started > GIVE_UP_AFTER_MS) {
        show("still being built after 10 minutes. Check again later.", "warn");
        again.hidden = false;
        return;
      }
      await pause(delay, signal);
      delay = nextDelay(delay);
      current = await read(current.id, signal);
    }
    settle(current);
  }

  async function run(work) {
    const signal = stop();
    busy(true);
    try {
      await work(signal);
    } catch (error) {
      problem(error, signal);
    } finally {
      if (!signal.aborted) busy(false);
    }
  }

  button.addEventListener("click", () =>
    run(async (signal) => {
      current = null;
      shownSubject = subject();
      link.hidden = true;
      again.hidden = true;
      show("creating the export…", "pending");
      current = await create(signal);
      await follow(signal);
    }),
  );
  again.addEventListener("click", () => run((signal) => follow(signal)));
  link.addEventListener("click", (event) => {
    if (Date.now() - linkedAt < LINK_FRESH_FOR_MS) return;
    event.preventDefault();
    run(async (signal) => settle(await read(current.id, signal)));
  });

  return {
    element,
    /** Say what the button exports (its accessible description). */
    describe(text) {
      about.textContent = text;
    },
    /** Disable the button, saying why beside it (null: enable it again). */
    disable(reason) {
      const idle = !element.hasAttribute("aria-busy");
      if (idle && (reason !== null || status.textContent === disabledFor)) {
        status.textContent = reason ?? "";
        status.className = "export-status small muted";
      }
      disabledFor = reason;
      button.disabled = reason !== null || !idle;
    },
    reset() {
      controller?.abort();
      controller = null;
      current = null;
      busy(false);
      show("", null);
      link.hidden = true;
      again.hidden = true;
    },
  };
}
