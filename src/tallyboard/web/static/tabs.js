// Tabs as the ARIA authoring practices describe them: one tab stop, arrow keys (and
// Home/End) move between tabs and show them at once.

export function setUpTabs(tablist, onSelect) {
  const tabs = [...tablist.querySelectorAll("[role=tab]")];
  const nameOf = (tab) => tab.id.replace(/^tab-/, "");

  function select(name, { focus = true } = {}) {
    for (const tab of tabs) {
      const active = nameOf(tab) === name;
      tab.setAttribute("aria-selected", String(active));
      tab.tabIndex = active ? 0 : -1;
      document.getElementById(tab.getAttribute("aria-controls")).hidden = !active;
      if (active && focus) tab.focus();
    }
  }

  function choose(tab) {
    select(nameOf(tab));
    onSelect(nameOf(tab));
  }

  tablist.addEventListener("click", (event) => {
    const tab = event.target.closest("[role=tab]");
    if (tab) choose(tab);
  });
  tablist.addEventListener("keydown", (event) => {
    const index = tabs.indexOf(document.activeElement);
    if (index < 0) return;
    const moves = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1 };
    if (!(event.key in moves)) return;
    event.preventDefault();
    choose(tabs[(moves[event.key] + tabs.length) % tabs.length]);
  });
  return { select };
}
