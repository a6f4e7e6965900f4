"""Cases: what an analyst does with alerts, kept across runs.

- `store`: the case store (SQLite in the store folder, shared with `runs.history`): cases opened
  on alerts or entities, statuses, qualifications, assignees, notes, decisions, an append-only
  history, optimistic versions;
- `actions`: the configurable catalogue of actions a decision records (the SECM's and the
  Assurance Maladie's graduated answers, each with its source);
- `views`: one alert, entity or case across runs (history, cases, impact, risk);
- `kpis`: the indicators insurers report; `export`: spreadsheet-friendly CSV;
- `report`, `drawing`: the case file, one self-contained HTML page with SVG pictures.

The impact of a decision is measured by the scans (`graph.impact`, through `runs.history`'s
watches); this package reads it back.
"""
