// The usage report export, a header action beside "Refresh": the contract's
// counterpart of the public multi-organization usage report (API calls, integration
// tasks, AI credits and automation jobs per bucket, with allowances) for the
// organizations and period chosen, as an Excel workbook or CSV. It needs only the usage
// statistics permission, which every organization in the picker has; the server takes
// 1 to 25 organizations per report.

import { fill, h } from "./dom.js";
import { ExportControl } from "./export-button.js";
import { periodLabel } from "./format.js";

export const MAX_REPORT_ORGANIZATIONS = 25;

const CREATE = `mutation DashboardCreateUsageReport($orgs: [ID!]!, $period: PeriodFilter!, $format: ExportFormat) {
  createUsageReportExport(input: {organizationUuids: $orgs, period: $period, format: $format}) {
    usageReportExport { id status format partial fileUrl error }
  }
}`;
const READ = `query DashboardUsageReport($id: ID!) {
  usageReportExport(id: $id) { id status format partial fileUrl error }
}`;

function whose(orgs) {
  return orgs.length === 1 ? orgs[0].name : `${orgs.length} organizations`;
}

/** Fills `container`; {update({client, orgs, period, fail}), reset()}. */
export function createReportExport(container) {
  let view = null;
  const format = h(
    "select",
    { id: "report-format", class: "compact-select", "data-testid": "report-format" },
    h("option", { value: "XLSX" }, "XLSX"),
    h("option", { value: "CSV" }, "CSV"),
  );
  const control = new ExportControl({
    options: [h("label", { for: "report-format", class: "visually-hidden" }, "Usage report format"), format],
    label: "Export usage report",
    testid: "report-export",
    subject: () => `Usage report of ${whose(view.orgs)}, ${periodLabel(view.period).toLowerCase()} (${format.value})`,
    fail: (error) => view?.fail(error),
    note: (found) => (found.partial ? "Organizations where you no longer have the usage statistics permission were left out." : null),
    create: async (signal) => {
      const variables = { orgs: view.orgs.map((o) => o.uuid), period: view.period, format: format.value };
      const answer = await view.client.request("DashboardCreateUsageReport", CREATE, variables, { signal });
      return answer.get("createUsageReportExport").usageReportExport;
    },
    read: async (id, signal) => {
      const answer = await view.client.request("DashboardUsageReport", READ, { id }, { signal });
      return answer.get("usageReportExport");
    },
  });
  fill(container, control.element);

  return {
    update(next) {
      view = next;
      const tooMany = next.orgs.length > MAX_REPORT_ORGANIZATIONS;
      control.disable(tooMany ? `A usage report covers at most ${MAX_REPORT_ORGANIZATIONS} organizations: choose fewer.` : null);
      control.describe(`API calls, integration tasks, AI credits and automation jobs of ${whose(next.orgs)}, ${periodLabel(next.period).toLowerCase()}`);
    },
    reset: () => control.reset(),
  };
}
