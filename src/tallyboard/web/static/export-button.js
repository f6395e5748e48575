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
    const aborted = () => {
      clearTimeout(timer);
      reject(new DOMException("Aborted", "AbortError"));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", aborted);
      resolve();
    }, ms);
    signal.addEventListener("abort", aborted, { once: true });
  });
}

/**
 * An export's button, status line, "Download again" link and "Check again" button.
 * options:
 *  label: the button's text; testid: prefix of the parts' data-testid;
 *  subject(): a short name of what is exported now (shown in the status, e.g. "Acme Corp, this month");
 *  create(signal) -> export and read(id, signal) -> export, export = {id, status, fileUrl, error, ...};
 *  note(export): an extra line for a finished export, or null;
 *  fail(error): told when the credential stopped working;
 *  options: controls shown before the button (e.g. the file format).
 * Use: element, describe(text), disable(reason), reset().
 */
export class ExportControl {
  constructor({ label, testid, subject, create, read, note = () => null, fail = () => {}, options = [] }) {
    Object.assign(this, { subject, create, read, note, fail });
    // The name stays the visible label; what the export covers is the description.
    this.about = h("span", { id: nextId("export-about"), class: "visually-hidden" });
    this.button = h("button", { class: "button small", type: "button", "aria-describedby": this.about.id, "data-testid": `${testid}-button` }, label);
    this.status = h("span", { class: "export-status small", role: "status", "data-testid": `${testid}-status` });
    this.link = h("a", { class: "export-link small", download: "", hidden: true, "data-testid": `${testid}-link` }, "Download again");
    this.again = h("button", { class: "button ghost small", type: "button", hidden: true }, "Check again");
    this.element = h("div", { class: "export-control", "data-testid": testid }, ...options, this.button, this.about, this.status, this.link, this.again);
    this.controller = null;
    this.current = null;
    this.linkedAt = 0;
    this.shownSubject = "";
    this.disabledFor = null;
    this.button.addEventListener("click", () => this.run((signal) => this.start(signal)));
    this.again.addEventListener("click", () => this.run((signal) => this.follow(signal)));
    this.link.addEventListener("click", (event) => this.download(event));
  }

  /** Say what the button exports (its accessible description). */
  describe(text) {
    this.about.textContent = text;
  }

  /** Disable the button, saying why beside it (null: enable it again). */
  disable(reason) {
    const idle = !this.element.hasAttribute("aria-busy");
    if (idle && (reason !== null || this.status.textContent === this.disabledFor)) {
      this.status.textContent = reason ?? "";
      this.status.className = "export-status small muted";
    }
    this.disabledFor = reason;
    this.button.disabled = reason !== null || !idle;
  }

  /** Stop following the export and forget it (the server's job goes on). */
  reset() {
    this.controller?.abort();
    this.controller = null;
    this.current = null;
    this.busy(false);
    this.show("", null);
    this.link.hidden = true;
    this.again.hidden = true;
  }

  show(text, tone) {
    this.status.textContent = text ? `${this.shownSubject}: ${text}` : "";
    this.status.className = `export-status small ${tone ?? ""}`.trim();
  }

  busy(on) {
    this.button.disabled = on || this.disabledFor !== null;
    if (on) this.element.setAttribute("aria-busy", "true");
    else this.element.removeAttribute("aria-busy");
  }

  async run(work) {
    this.controller?.abort();
    this.controller = new AbortController();
    const signal = this.controller.signal;
    this.busy(true);
    try {
      await work(signal);
    } catch (error) {
      this.problem(error, signal);
    } finally {
      if (!signal.aborted) this.busy(false);
    }
  }

  async start(signal) {
    this.current = null;
    this.shownSubject = this.subject();
    this.link.hidden = true;
    this.again.hidden = true;
    this.show("creating the export…", "pending");
    this.current = await this.create(signal);
    await this.follow(signal);
  }

  async follow(signal) {
    const started = Date.now();
    let delay = FIRST_DELAY_MS;
    this.again.hidden = true;
    while (PENDING.has(this.current.status)) {
      this.show(this.current.status === "created" ? "waiting to be built…" : "being built…", "pending");
      if (Date.now() - started > GIVE_UP_AFTER_MS) {
        this.show("still being built after 10 minutes. Check again later.", "warn");
        this.again.hidden = false;
        return;
      }
      await pause(delay, signal);
      delay = nextDelay(delay);
      this.current = await this.read(this.current.id, signal);
    }
    this.settle(this.current);
  }

  settle(found) {
    this.current = found;
    if (found.status === "finished") {
      const extra = this.note(found);
      this.show(`ready; the download has started.${extra ? ` ${extra}` : ""}`, "success");
      this.link.href = found.fileUrl;
      this.link.setAttribute("aria-label", `Download again: ${this.shownSubject}`);
      this.link.hidden = false;
      this.linkedAt = Date.now();
      this.link.click();
    } else if (found.status === "failed") {
      this.show(`the export failed. ${found.error ?? "The server gave no reason."}`, "error");
    } else if (found.status === "expired") {
      this.show("the file has expired; export again.", "error");
    }
  }

  /** A click on the link: an old link is replaced by a freshly signed one first. */
  download(event) {
    if (Date.now() - this.linkedAt < LINK_FRESH_FOR_MS) return;
    event.preventDefault();
    this.run(async (signal) => this.settle(await this.read(this.current.id, signal)));
  }

  problem(error, signal) {
    if (error.name === "AbortError" || signal.aborted) return;
    if (error instanceof Unauthorized) {
      this.fail(error);
      return;
    }
    const reference = error.correlationId ? ` (reference ${error.correlationId})` : "";
    this.show(`${error.message}${reference}`, "error");
    this.again.hidden = !(this.current && PENDING.has(this.current.status));
  }
}
