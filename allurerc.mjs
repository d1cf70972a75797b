// Allure 3 report of a paywitness run (built by `make demo`, or `paywitness allure BUNDLE`).
// One self-contained HTML file that opens from disk. The allure2 plugin is used because it is
// the one Allure 3 report plugin that honours ALLURE_NO_ANALYTICS=true (the Makefile sets it):
// the report then makes no request to any analytics host.
// Runs that share a reports folder share its history (historyPath), so nightly runs into one
// folder show a trend; PAYWITNESS_REPORTS names that folder (default: reports).
const reports = process.env.PAYWITNESS_REPORTS || "reports";
export default {
  name: "paywitness",
  output: `${reports}/allure-report`,
  historyPath: `${reports}/allure-history.jsonl`,
  plugins: {
    allure2: {
      options: { singleFile: true, reportName: "paywitness" },
    },
  },
};
