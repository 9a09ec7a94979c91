// The pipeline's report: report.json and report.md in the run directory, from what the stages left
// there (data/set manifest, detect/<split>/detection.json, repair/set/repair.json,
// evaluate/run/evaluate.json, the runs' metrics.jsonl). Sections: Data, Detection, Repair,
// Recommendation, Plots. A stage whose output is missing gets a line saying so, never numbers.
// Plots (PNG): tools/plot_report.py with /usr/bin/python3 + matplotlib; when either is missing the
// report says so and the rest is written.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace seqmend {

// Collects report.json's content from a pipeline run directory. `through` (a stage; "" = all):
// only the outputs of the stages up to it are read, with "stopped_after" set — a run stopped there
// may have older outputs of later stages beside it, and they must not pass for this run's.
nlohmann::json collect_report(const std::string& run_dir, const std::string& through = "");
// report.md from that content (and the plots found in run_dir/plots).
std::string format_report_md(const nlohmann::json& report);
// Runs the plot script (python, script: paths; "" = defaults) into run_dir/plots; returns "" on
// success or the reason there are no plots.
std::string make_report_plots(const std::string& run_dir, const std::string& python = "",
                              const std::string& script = "");
// All three; writes report.json and report.md atomically; returns report.json's content.
nlohmann::json write_report(const std::string& run_dir);
// The report of a run stopped after stage `through` (`seqmend run --stop-after`): the stages up to
// it, as report.partial.json and report.partial.md, without plots. report.md, the whole run's,
// stays as the report stage left it.
nlohmann::json write_partial_report(const std::string& run_dir, const std::string& through);

}  // namespace seqmend
