// The organization picker (one or several organizations) and the period picker.

import { fill, h, nextId } from "./dom.js";
import { PERIODS } from "./format.js";

/** onChange(selectedUuids) is called when the user applies a new, non-empty choice. */
export function createOrgPicker(root, onChange) {
  const popoverId = nextId("orgs");
  const button = h("button", { class: "picker-button", type: "button", "aria-haspopup": "dialog", "aria-expanded": "false", "aria-controls": popoverId, "data-testid": "org-picker" });
  const list = h("div", { class: "org-list" });
  const filter = h("input", { type: "search", placeholder: "Filter organizations", "aria-label": "Filter organizations", autocomplete: "off" });
  const message = h("p", { class: "picker-message", role: "alert" });
  const apply = h("button", { class: "button primary small", type: "button" }, "Apply");
  const popover = h(
    "div",
    { id: popoverId, class: "popover", role: "dialog", "aria-label": "Choose organizations", hidden: true },
    filter,
    h("fieldset", {}, h("legend", { class: "visually-hidden" }, "Organizations"), list),
    message,
    h(
      "div",
      { class: "popover-actions" },
      h("button", { class: "button ghost small", type: "button", onclick: () => setAll(true) }, "All"),
      h("button", { class: "button ghost small", type: "button", onclick: () => setAll(false) }, "None"),
      apply,
    ),
    h("p", { class: "hint" }, "Several organizations are added up with the combined statistics."),
  );
  const single = h("span", { class: "picker-static" });
  root.append(button, popover, single);

  let organizations = [];
  let selected = [];

  function checkboxes() {
    return [...list.querySelectorAll("input[type=checkbox]")];
  }

  function setAll(value) {
    for (const box of checkboxes()) if (!box.closest("label").hidden) box.checked = value;
  }

  function label() {
    if (selected.length === 1) return organizations.find((o) => o.uuid === selected[0])?.name ?? "1 organization";
    if (selected.length === organizations.length) return `All organizations (${selected.length})`;
    return `${selected.length} organizations`;
  }

  function close({ restoreFocus = true } = {}) {
    popover.hidden = true;
    button.setAttribute("aria-expanded", "false");
    if (restoreFocus) button.focus();
  }

  function open() {
    fill(
      list,
      ...organizations.map((org) =>
        h(
          "label",
          { class: "org-option" },
          h("input", { type: "checkbox", value: org.uuid, checked: selected.includes(org.uuid) }),
          h("span", { class: "org-name" }, org.name),
          h("span", { class: "muted small" }, org.id),
        ),
      ),
    );
    filter.value = "";
    filter.hidden = organizations.length <= 8;
    message.textContent = "";
    popover.hidden = false;
    button.setAttribute("aria-expanded", "true");
    (filter.hidden ? checkboxes()[0] : filter).focus();
  }

  button.addEventListener("click", () => (popover.hidden ? open() : close()));
  filter.addEventListener("input", () => {
    const text = filter.value.trim().toLowerCase();
    for (const option of list.querySelectorAll("label")) option.hidden = !option.textContent.toLowerCase().includes(text);
  });
  apply.addEventListener("click", () => {
    const chosen = checkboxes().filter((b) => b.checked).map((b) => b.value);
    if (!chosen.length) {
      message.textContent = "Pick at least one organization.";
      return;
    }
    const order = organizations.map((o) => o.uuid).filter((u) => chosen.includes(u));
    close();
    if (order.join() !== selected.join()) {
      selected = order;
      button.textContent = label();
      onChange(order);
    }
  });
  popover.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      close();
    }
  });
  root.addEventListener("focusout", (event) => {
    if (!popover.hidden && event.relatedTarget && !root.contains(event.relatedTarget)) {
      close({ restoreFocus: false });
    }
  });
  document.addEventListener("pointerdown", (event) => {
    if (!popover.hidden && !root.contains(event.target)) close({ restoreFocus: false });
  });

  return {
    update(all, chosen) {
      organizations = all;
      selected = chosen;
      button.textContent = label();
      const many = all.length > 1;
      button.hidden = !many;
      single.hidden = many || !all.length;
      single.textContent = all[0]?.name ?? "";
      if (!many) close({ restoreFocus: false });
    },
  };
}

export function createPeriodPicker(root, onChange) {
  let current = null;
  const buttons = PERIODS.map((period) =>
    h(
      "button",
      {
        type: "button",
        "aria-pressed": "false",
        "data-period": period.value,
        onclick: () => {
          if (period.value === current) return;
          update(period.value);
          onChange(period.value);
        },
      },
      period.label,
    ),
  );
  root.append(...buttons);

  function update(value) {
    current = value;
    for (const b of buttons) b.setAttribute("aria-pressed", String(b.dataset.period === value));
  }
  return { update };
}
