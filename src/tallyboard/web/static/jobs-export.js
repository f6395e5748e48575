// The Automations tab's export: every automation job of one organization in the period,
// as the contract's .xlsx workbook (sheets Jobs and Automations; XLSX is the only
// format of this export). It follows the organization the automation table shows, and
// needs the super admin role there, as the table does.

import { ExportControl } from "./export-button.js";
import { periodLabel } from "./format.js";

const CREATE = `mutation DashboardCreateJobsExport($org: ID!, $period: PeriodFilter!) {
  createAutomationJobsExport(input: {organizationId: $org, filter: $period}) {
    automationJobsExport { id status fileUrl error }
  }
}`;
const READ = `query DashboardJobsExport($id: ID!) {
  automationJobsExport(id: $id) { id status fileUrl error }
}`;

/** {element, show(org)}: `show` points the export at the organization the table shows. */
export function createJobsExport(ctx) {
  let org = null;
  const period = periodLabel(ctx.period).toLowerCase();
  const control = new ExportControl({
    label: "Export jobs (XLSX)",
    testid: "jobs-export",
    subject: () => `Jobs of ${org.name}, ${period}`,
    fail: ctx.fail,
    create: async (signal) => {
      const variables = { org: org.id, period: ctx.period };
      const answer = await ctx.client.request("DashboardCreateJobsExport", CREATE, variables, { signal });
      return answer.get("createAutomationJobsExport").automationJobsExport;
    },
    read: async (id, signal) => {
      const answer = await ctx.client.request("DashboardJobsExport", READ, { id }, { signal });
      return answer.get("automationJobsExport");
    },
  });
  control.disable("No organization to export.");
  ctx.signal.addEventListener("abort", () => control.reset(), { once: true });
  return {
    element: control.element,
    show(chosen) {
      org = chosen;
      control.disable(null);
      control.describe(`Every automation job of ${chosen.name}, ${period}, as an Excel workbook`);
    },
  };
}
