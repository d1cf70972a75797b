// Allure 3 report of a paywitness run (built by `make demo`).
// One self-contained HTML file that opens from disk. The allure2 plugin is used because it is
// the one Allure 3 report plugin that honours ALLURE_NO_ANALYTICS=true (the Makefile sets it):
// the report then makes no request to any analytics host.
export default {
  name: "paywitness",
  output: "reports/allure-report",
  historyPath: "reports/allure-history.jsonl",
  plugins: {
    allure2: {
      options: { singleFile: true, reportName: "paywitness" },
    },
  },
};
