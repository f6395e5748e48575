// GraphiQL for Tallyboard, from this origin only: React, ReactDOM and GraphiQL are the
// vendored builds in vendor/ (manifest.json says which versions), loaded before this.
//
// Every request needs "Authorization: Bearer <token>": the headers editor opens with
// that header, filled with the dashboard's token when this tab is signed in there
// (sessionStorage, this tab only). Headers are never persisted (no token in storage).

(function () {
  "use strict";
  const TOKEN_KEY = "tallyboard.token"; // the dashboard's key (static/app.js)
  const token = sessionStorage.getItem(TOKEN_KEY);
  const headers = { Authorization: `Bearer ${token || "<paste your access token>"}` };
  const example = [
    "# Paste your access token into Headers (below), then run:",
    "query MyOrganizations {",
    "  myUsageStatsOrganizations {",
    "    id",
    "    uuid",
    "    name",
    "  }",
    "}",
    "",
  ].join("\n");

  const container = document.getElementById("graphiql");
  const root = ReactDOM.createRoot(container);
  root.render(
    React.createElement(GraphiQL, {
      fetcher: GraphiQL.createFetcher({ url: "/graphql" }),
      defaultQuery: example,
      defaultHeaders: JSON.stringify(headers, null, 2),
      defaultEditorToolsVisibility: "headers",
      shouldPersistHeaders: false,
    }),
  );
})();
