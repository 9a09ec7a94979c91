#include "experiments/cli/report.h"

#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <utility>
#include <vector>

#include "core/base/error.h"
#include "experiments/cli/pipeline.h"
#include "experiments/repair/precision_floor.h"
#include "io/atomic_file.h"
#include "io/json_file.h"

namespace fs = std::filesystem;

namespace seqmend {

namespace {

// Missing pieces (a stage that has not run, an older file) read as null rather than throwing.
nlohmann::json at(const nlohmann::json& j, const std::string& key) {
  return j.is_object() && j.contains(key) ? j[key] : nlohmann::json(nullptr);
}
std::string text_at(const nlohmann::json& j, const std::string& key) {
  nlohmann::json v = at(j, key);
  return v.is_string() ? v.get<std::string>() : v.is_null() ? std::string("?") : v.dump();
}

std::string num(const nlohmann::json& x, int digits = 4) {
  if (!x.is_number()) return "–";
  if (x.is_number_integer()) return std::to_string(x.get<int64_t>());
  double v = x.get<double>();
  if (!std::isfinite(v)) return "–";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// NDCG@10 on `split` of every training of `set`, in seed order (empty when absent).
std::vector<double> ndcg_by_seed(const nlohmann::json& rec, const char* set, const char* split) {
  std::vector<double> out;
  for (const auto& run : at(at(at(rec, "sets"), set), "runs")) {
    const nlohmann::json v = at(at(run, split), "ndcg@10");
    if (v.is_number()) out.push_back(v.get<double>());
  }
  return out;
}

// Mean and standard error of the per-seed differences a_k − b_k (seed k of each set shares data
// order and initial weights, so pairing removes part of the training luck).
std::pair<double, double> paired_difference(const std::vector<double>& a, const std::vector<double>& b) {
  const size_t n = std::min(a.size(), b.size());
  double mean = 0.0, var = 0.0;
  for (size_t k = 0; k < n; ++k) mean += (a[k] - b[k]) / double(n);
  for (size_t k = 0; k < n; ++k) var += (a[k] - b[k] - mean) * (a[k] - b[k] - mean) / double(n - 1);
  return {mean, std::sqrt(var / double(n))};
}

// Says whether the corruption's cost (clean − raw) stands out from the noise the recovered share
// divides by: with several seeds, from the spread of the paired per-seed NDCG@10 differences; with
// one, from the standard error of HR@10 over the test users.
void recommendation_noise_note(std::ostringstream& md, const nlohmann::json& rec) {
  if (ndcg_by_seed(rec, "raw", "test").size() >= 2) {
    for (const char* split : {"test", "valid"}) {
      const std::vector<double> raw = ndcg_by_seed(rec, "raw", split), rep = ndcg_by_seed(rec, "repaired", split),
                                clean = ndcg_by_seed(rec, "clean", split);
      if (raw.size() < 2 || clean.size() != raw.size()) continue;
      const auto [cost, cost_se] = paired_difference(clean, raw);
      md << "\n" << split << " NDCG@10 differences over " << raw.size()
         << " seeds (mean ± standard error, paired by seed): clean − raw " << num(cost) << " ± " << num(cost_se);
      if (rep.size() == raw.size()) {
        const auto [gain, gain_se] = paired_difference(rep, raw);
        md << ", repaired − raw " << num(gain) << " ± " << num(gain_se);
      }
      md << ".\n";
      if (cost <= 2.0 * cost_se)
        md << "\nNote: on the " << split << " split the corruption's cost is within two standard errors of zero, "
           << "so the recovered share there is mostly training noise; more seeds (evaluate.seeds) or more "
              "users make it meaningful.\n";
    }
    return;
  }
  const nlohmann::json raw_t = at(at(at(rec, "sets"), "raw"), "test"), clean_t = at(at(at(rec, "sets"), "clean"), "test");
  const nlohmann::json raw_hr = at(raw_t, "hr@10"), clean_hr = at(clean_t, "hr@10"), users = at(clean_t, "num_users");
  if (raw_hr.is_number() && clean_hr.is_number() && users.is_number() && users.get<double>() > 0) {
    // The standard error of one HR@10 over the test users: a raw-to-clean difference within two of
    // them is what another seed could give, and the share divides by it.
    const double p = clean_hr.get<double>(), gap = p - raw_hr.get<double>();
    const double se = std::sqrt(p * (1.0 - p) / users.get<double>());
    if (gap <= 2.0 * se)
      md << "\nNote: the clean data beat the raw data by " << num(gap) << " HR@10, within two standard errors of "
         << "HR@10 over " << users.get<int64_t>() << " test users (" << num(se) << " each), so the recovered "
         << "share is mostly run-to-run noise here; more users, or evaluate.seeds > 1, make it meaningful.\n";
  }
}

// The paired bootstrap over users (evaluate.json "paired_users"): how far the differences could
// move had other users been the targets, which the seeds' spread does not show.
void paired_users_note(std::ostringstream& md, const nlohmann::json& rec) {
  const nlohmann::json paired = at(rec, "paired_users");
  if (!paired.is_object() || paired.empty()) return;
  double level = 0.95;
  for (const auto& [split, metrics] : paired.items())
    for (const auto& [metric, b] : metrics.items())
      if (at(b, "level").is_number()) level = at(b, "level").get<double>();
  md << "\nOver users (paired bootstrap: each user's metric averaged over the seeds, users drawn with "
        "replacement; mean [" << num(100 * level, 0) << " % interval]). An interval that holds 0 means "
        "another draw of target users could reverse the sign:\n\n| split | metric | users | repaired − raw | clean − raw | "
        "recovered share |\n|---|---|---|---|---|---|\n";
  auto interval = [](const nlohmann::json& d) {
    if (!d.is_object()) return std::string("–");
    return num(at(d, "mean")) + " [" + num(at(d, "low")) + ", " + num(at(d, "high")) + "]";
  };
  for (const char* split : {"valid", "test"}) {
    const nlohmann::json metrics = at(paired, split);  // held: items() must not outlive it
    for (const auto& [metric, b] : metrics.items()) {
      const nlohmann::json share = at(b, "recovered_share");
      std::string share_text = "–";
      if (share.is_object()) {
        share_text = num(at(share, "value"), 2);
        share_text += at(share, "low").is_number()
                          ? " [" + num(at(share, "low"), 2) + ", " + num(at(share, "high"), 2) + "]"
                          : " (cost within noise: no interval)";
      }
      md << "| " << split << " | " << metric << " | " << num(at(b, "users")) << " | "
         << interval(at(b, "repaired_minus_raw")) << " | " << interval(at(b, "clean_minus_raw")) << " | "
         << share_text << " |\n";
    }
  }
}

std::string default_script() {
  // The source tree's tools/ (the binary lives in <build>/experiments), then the working directory.
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  std::vector<fs::path> candidates;
  if (!ec) {
    for (fs::path p = exe.parent_path(); !p.empty() && p != p.root_path(); p = p.parent_path())
      candidates.push_back(p / "tools/plot_report.py");
  }
  candidates.push_back(fs::current_path(ec) / "tools/plot_report.py");
  for (const auto& c : candidates)
    if (fs::is_regular_file(c)) return c.string();
  return "";
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

nlohmann::json collect_report(const std::string& run_dir, const std::string& through) {
  nlohmann::json r = {{"run_dir", run_dir}};
  const auto& order = pipeline_stage_order();
  size_t end = order.size();  // the stages order[0, end) ran
  if (!through.empty()) {
    const auto it = std::find(order.begin(), order.end(), through);
    SEQ_CHECK(it != order.end(), "report: '", through, "' is not a stage");
    end = size_t(it - order.begin()) + 1;
    r["stopped_after"] = through;
  }
  auto ran = [&](const std::string& stage) {
    return size_t(std::find(order.begin(), order.end(), stage) - order.begin()) < end;
  };
  nlohmann::json manifest = read_json_or_null(run_dir + "/data/set/manifest.json");
  nlohmann::json data = nlohmann::json::object();
  if (manifest.is_object()) {
    data["num_items"] = at(manifest, "num_items");
    nlohmann::json splits = nlohmann::json::object();
    const nlohmann::json manifest_splits = at(manifest, "splits");  // items() must not outlive its json
    for (const auto& [name, s] : manifest_splits.items())
      splits[name] = {{"sequences", at(s, "sequences")},
                      {"events", at(s, "events")}};
    data["splits"] = splits;
    nlohmann::json extra = manifest.value("extra", nlohmann::json::object());
    if (extra.contains("simulate")) data["simulate"] = extra["simulate"];
    if (extra.contains("corrupt")) data["corrupt"] = extra["corrupt"];
    if (extra.contains("ingest")) data["ingest_summary"] = true;
  }
  r["data"] = data;
  nlohmann::json detection = nlohmann::json::object();
  for (const char* split : {"train", "valid", "test"}) {
    if (!ran("detect")) break;
    nlohmann::json d = read_json_or_null(run_dir + "/detect/" + split + "/detection.json");
    if (!d.is_null()) detection[split] = d;
  }
  r["detection"] = detection;
  r["audit"] = ran("audit") ? read_json_or_null(run_dir + "/audit/audit.json") : nlohmann::json();
  nlohmann::json repair = ran("repair") ? read_json_or_null(run_dir + "/repair/set/repair.json") : nlohmann::json();
  r["repair"] = repair.is_object() ? nlohmann::json{{"stats", at(repair, "stats")},
                                                    {"thresholds", at(repair, "thresholds")},
                                                    {"extra", at(repair, "extra")}}
                                   : nlohmann::json(nullptr);
  r["recommendation"] = ran("evaluate") ? read_json_or_null(run_dir + "/evaluate/run/evaluate.json") : nlohmann::json();
  r["pretrain"] = ran("pretrain") ? read_json_or_null(run_dir + "/pretrain/run/results.json") : nlohmann::json();
  const nlohmann::json finetune =
      ran("finetune") ? read_json_or_null(run_dir + "/finetune/run/results.json") : nlohmann::json();
  if (finetune.is_object() && finetune.contains("calibration")) r["calibration"] = finetune["calibration"];
  return r;
}

namespace {

// What fine-tuning's calibration expects of each edit before any truth is seen (thresholds.h): for
// log_precision heads the expected precision and recall on the log's own events, otherwise the
// figures on the calibration labels; and the noise kind the mixed injections were weighed by.
void format_calibration_md(std::ostringstream& md, const nlohmann::json& cal) {
  if (!cal.is_object()) return;
  md << "\nCalibration (`finetune/run/results.json`: expected before any truth is seen; `hidden share` "
        "marks a threshold for the log's own events, whose share of anomalies it estimates; the expected "
        "precision is the lower of the tail ratio's and the mixture fit's, experiments/detect/score_mixture.h):\n\n"
        "| head (edit) | threshold | expected precision | expected recall | hidden share | note |\n"
        "|---|---|---|---|---|---|\n";
  const std::pair<const char*, const char*> heads[] = {
      {"event", "event (delete)"}, {"gap", "gap (backfill)"}, {"sequence", "sequence (quarantine)"}};
  for (const auto& [head, edit] : heads) {
    const nlohmann::json h = at(cal, head);
    if (!h.is_object()) continue;
    std::string note = h.value("degenerate", false)        ? "nothing to calibrate on: no edits"
                       : h.value("below_min_share", false) ? "hidden share below min_hidden_share: taken as clean, no edits"
                       : !h.value("target_reached", true)  ? "target out of reach: no edits"
                                                               : "";
    if (h.contains("best_expected_precision"))
      note += " (best expected precision " + num(at(h, "best_expected_precision"), 2) + ")";
    const nlohmann::json mix = at(h, "mixture");
    if (mix.is_object() && mix.value("fitted", false))
      note += std::string(note.empty() ? "" : "; ") + "mixture fit: share " + num(at(mix, "share"), 3) +
              ", genuine sd " + num(at(mix, "genuine_sd"), 2);
    md << "| " << edit << " | " << num(at(h, "threshold")) << " | " << num(at(h, "precision"), 2) << " | "
       << num(at(h, "recall"), 2) << " | " << (h.contains("hidden_share") ? num(at(h, "hidden_share"), 3) : "–")
       << " | " << note << " |\n";
  }
  const nlohmann::json kind = at(cal, "noise_kind");
  if (kind.is_object())
    md << "\nNoise kind: the log's events flagged at the " << num(100 * kind.value("anchor", 0.0), 0)
       << " % anchor look " << num(at(kind, "uniform_share"), 2)
       << " uniform-drawn (the rest popularity-drawn)"
       << (kind.value("informative", false) ? "" : "; no evidence either way, so even odds") << "; the mixed "
       << "injections were weighed to that mix (experiments/detect/noise_kind.h).\n";
}

// Repair's precision floor (experiments/repair/precision_floor.h): which edit kinds it let through.
void format_precision_floor_md(std::ostringstream& md, const nlohmann::json& extra) {
  const nlohmann::json pf = at(extra, "precision_floor");
  if (!pf.is_object() || pf.value("min_expected_precision", 0.0) <= 0) return;
  md << "\nPrecision floor " << num(at(pf, "min_expected_precision"), 2)
     << " (`repair.min_expected_precision`): an edit is made only where its expected precision reaches it — "
     << precision_floor_summary(pf) << ".\n";
}

// The audit (experiments/cli/audit_stage.h): detection and repair graded against the truth, with a
// plain statement of where that truth came from.
void format_audit_md(std::ostringstream& md, const nlohmann::json& audit) {
  md << "\n## Against the truth\n\n";
  if (!audit.is_object()) {
    md << "No audit (audit/audit.json missing).\n";
    return;
  }
  const std::string truth = text_at(audit, "truth");
  if (truth == "hidden")
    md << "**Hidden truth.** These figures come from the labels kept apart in `" << text_at(audit, "truth_dir")
       << "`, which no stage before the audit opened: pretraining, fine-tuning (which labels only the anomalies it "
          "injects itself), calibration, detection and repair saw the unlabelled log alone.\n\n";
  else if (truth == "visible")
    md << "**Visible truth.** The anomalies were injected into data whose labels the stages could see; the "
          "detector was fine-tuned on the same kind of injected labels.\n\n";
  else {
    md << "No truth to grade against: " << text_at(audit, "note") << "\n";
    return;
  }
  md << "| split | scores | events graded | ROC-AUC | PR-AUC | precision | recall |\n|---|---|---|---|---|---|---|\n";
  const nlohmann::json splits = at(audit, "splits");
  for (const auto& [split, s] : splits.items()) {
    auto row = [&](const std::string& name, const nlohmann::json& head) {
      const nlohmann::json o = at(head, "overall");
      if (!o.is_object()) return;
      md << "| " << split << " | " << name << " | " << num(at(o, "positives")) << " of "
         << num(o.value("positives", 0) + o.value("negatives", 0)) << " | " << num(at(o, "roc_auc")) << " | "
         << num(at(o, "pr_auc")) << " | " << num(at(o, "precision")) << " | " << num(at(o, "recall")) << " |\n";
    };
    const nlohmann::json det = at(s, "detection"), fl = at(s, "floors");
    row("event head (fused)", at(det, "event"));
    row("gap head (fused)", at(det, "gap"));
    row("sequence head", at(det, "sequence"));
    row("floor: surprisal, events", at(at(fl, "surprisal"), "event"));
    row("floor: surprisal, gaps", at(at(fl, "surprisal"), "gap"));
    row("floor: popularity, events", at(at(fl, "popularity"), "event"));
  }
  const nlohmann::json repair = at(audit, "repair");
  if (repair.is_object() && !repair.empty()) {
    md << "\nRepair edits against the truth:\n\n| split | deletes | delete precision | anomaly recall | backfills | "
          "backfill precision | gap recall | backfill item right |\n|---|---|---|---|---|---|---|---|\n";
    for (const auto& [split, st] : repair.items()) {
      const nlohmann::json c = at(st, "counts"), l = at(st, "labels"), t = at(st, "truth");
      md << "| " << split << " | " << num(at(c, "delete")) << " | " << num(at(l, "delete_precision")) << " | "
         << num(at(l, "anomaly_recall")) << " | " << num(at(c, "insert")) << " | " << num(at(l, "insert_precision"))
         << " | " << num(at(l, "gap_recall")) << " | " << num(at(t, "backfill_accuracy")) << " |\n";
    }
  }
}

}  // namespace

std::string format_report_md(const nlohmann::json& r) {
  std::ostringstream md;
  md << "# seqmend pipeline report\n\nRun directory: `" << text_at(r, "run_dir") << "`\n\n";
  if (r.contains("stopped_after"))
    md << "**Partial report**: the run stopped after `" << text_at(r, "stopped_after")
       << "` (`--stop-after`). The stages after it did not run, and nothing they may have left from an "
          "earlier run is shown; without `--stop-after` they run and `report.md` holds the whole report.\n\n";
  md << "## Data\n\n";
  const nlohmann::json data = at(r, "data");
  if (data.contains("splits")) {
    md << "| split | sequences | events |\n|---|---|---|\n";
    const nlohmann::json splits = at(data, "splits");
    for (const auto& [name, s] : splits.items())
      md << "| " << name << " | " << num(s["sequences"]) << " | " << num(s["events"]) << " |\n";
    md << "\nItems: " << num(at(data, "num_items")) << "\n";
    if (data.contains("simulate")) md << "\nSimulation summary: `" << at(data, "simulate").dump() << "`\n";
    if (data.contains("corrupt")) md << "\nInjected into real data: `" << at(data, "corrupt").dump() << "`\n";
  } else {
    md << "No data manifest found (the data stage has not run).\n";
  }

  md << "\n## Detection\n\n";
  const nlohmann::json detection = at(r, "detection");
  if (!detection.is_object() || detection.empty())
    md << "No detection results against labels in the data (detect/<split>/detection.json missing: a noisy log "
          "has none; see \"Against the truth\" for the audit).\n";
  else
    md << "Against the anomaly labels stored in the data the stages saw (anomalies injected into known data).\n\n";
  for (const auto& [split, d] : detection.items()) {
    md << "Split `" << split << "`:\n\n| head | positives | negatives | ROC-AUC | PR-AUC | precision | recall | F1 |\n"
       << "|---|---|---|---|---|---|---|---|\n";
    for (const auto& [head, h] : d.items()) {
      if (!h.is_object() || !h.contains("overall")) continue;
      const auto& o = h["overall"];
      md << "| " << head << " | " << num(at(o, "positives")) << " | "
         << num(at(o, "negatives")) << " | " << num(at(o, "roc_auc")) << " | "
         << num(at(o, "pr_auc")) << " | " << num(at(o, "precision")) << " | "
         << num(at(o, "recall")) << " | " << num(at(o, "f1")) << " |\n";
    }
    md << "\n";
  }

  md << "\n## Repair\n\n";
  const nlohmann::json repair = at(r, "repair");
  if (!repair.is_object()) {
    md << "No repair results (repair/set/repair.json missing).\n";
  } else {
    md << "Predictor: " << text_at(at(repair, "extra"), "predictor") << "; thresholds: `"
       << at(repair, "thresholds").dump() << "`\n\n| split | delete | replace | insert | quarantine | events in | events out |\n"
       << "|---|---|---|---|---|---|---|\n";
    const nlohmann::json stats = at(repair, "stats");
    for (const auto& [split, s] : stats.items()) {
      nlohmann::json c = at(s, "counts");
      md << "| " << split << " | " << num(at(c, "delete")) << " | "
         << num(at(c, "replace")) << " | " << num(at(c, "insert")) << " | "
         << num(at(c, "quarantine")) << " | " << num(at(c, "events_in"))
         << " | " << num(at(c, "events_out")) << " |\n";
    }
  }
  format_calibration_md(md, at(r, "calibration"));
  format_precision_floor_md(md, at(at(r, "repair"), "extra"));

  format_audit_md(md, at(r, "audit"));

  md << "\n## Recommendation\n\n";
  const nlohmann::json rec = at(r, "recommendation");
  if (!rec.is_object()) {
    md << "No recommendation results (evaluate/run/evaluate.json missing).\n";
  } else {
    const nlohmann::json seeds = at(rec, "seeds");
    md << "Every model trained with the same pretrain config and budget"
       << (seeds.is_number() && seeds.get<int64_t>() > 1 ? "; the mean of " + std::to_string(seeds.get<int64_t>()) +
                                                               " trainings (seeds) per set"
                                                         : std::string())
       << "; test targets from `" << text_at(rec, "test_targets") << "`"
       << (text_at(rec, "test_inputs") == "own"
               ? ", each model predicting them from its own data's histories (raw for raw, repaired for repaired)"
               : std::string())
       << ". The valid targets are held out too (and pick each training's best checkpoint, for every "
          "set alike).\n\n| training data | HR@10 | NDCG@10 | valid HR@10 | valid NDCG@10 |\n|---|---|---|---|---|\n";
    for (const char* set : {"raw", "repaired", "clean"}) {
      if (at(at(rec, "sets"), set).is_null()) continue;
      const nlohmann::json t = at(at(at(rec, "sets"), set), "test"), v = at(at(at(rec, "sets"), set), "valid");
      md << "| " << set << " | " << num(at(t, "hr@10")) << " | " << num(at(t, "ndcg@10")) << " | "
         << num(at(v, "hr@10")) << " | " << num(at(v, "ndcg@10")) << " |\n";
    }
    const nlohmann::json share = at(rec, "recovered_share"), share_valid = at(rec, "recovered_share_valid");
    md << "\nRecovered share (repaired − raw) / (clean − raw): HR@10 " << num(at(share, "hr@10"))
       << ", NDCG@10 " << num(at(share, "ndcg@10"));
    if (share_valid.is_object())
      md << " (valid split: HR@10 " << num(at(share_valid, "hr@10")) << ", NDCG@10 "
         << num(at(share_valid, "ndcg@10")) << ")";
    md << "\n";
    const nlohmann::json by_seed = at(rec, "recovered_share_by_seed");
    if (at(by_seed, "ndcg@10").size() > 1) {
      md << "\nPer seed (seed k of each set shares data order and initial weights):";
      for (const auto& [key, label] : {std::pair{"hr@10", " HR@10"}, std::pair{"ndcg@10", "; NDCG@10"}}) {
        md << label;
        const char* sep = " ";
        for (const auto& v : at(by_seed, key)) {
          md << sep << num(v);
          sep = " / ";
        }
      }
      md << "\n";
    }
    recommendation_noise_note(md, rec);
    paired_users_note(md, rec);
  }

  md << "\n## Plots\n\n";
  std::string note = text_at(r, "plots_note");
  if (!note.empty()) md << "No plots: " << note << "\n";
  for (const auto& p : at(r, "plots")) {
    std::string f = p.get<std::string>();
    md << "![" << f << "](plots/" << f << ")\n";
  }
  return md.str();
}

std::string make_report_plots(const std::string& run_dir, const std::string& python, const std::string& script) {
  std::string py = python.empty() ? "/usr/bin/python3" : python;
  std::string sc = script.empty() ? default_script() : script;
  if (!fs::exists(py)) return py + " is not installed";
  if (sc.empty() || !fs::is_regular_file(sc)) return "tools/plot_report.py not found";
  std::string cmd = shell_quote(py) + " " + shell_quote(sc) + " " + shell_quote(run_dir) + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return "could not start " + py;
  std::string out;
  char buf[512];
  while (fgets(buf, sizeof buf, p)) out += buf;
  int status = pclose(p);
  if (status == -1 || !WIFEXITED(status)) return "the plot script did not finish";
  int code = WEXITSTATUS(status);
  if (code == 3) return "matplotlib is not installed for " + py + " (tools/install-deps.sh installs python3-matplotlib)";
  if (code != 0) return "the plot script failed (exit " + std::to_string(code) + "): " + out.substr(0, 400);
  return "";
}

nlohmann::json write_partial_report(const std::string& run_dir, const std::string& through) {
  nlohmann::json r = collect_report(run_dir, through);
  r["plots"] = nlohmann::json::array();
  r["plots_note"] = "plots come with the whole run's report";
  write_file_atomic(run_dir + "/report.partial.json", r.dump(2) + "\n");
  write_file_atomic(run_dir + "/report.partial.md", format_report_md(r));
  return r;
}

nlohmann::json write_report(const std::string& run_dir) {
  nlohmann::json r = collect_report(run_dir);
  std::string note = make_report_plots(run_dir);
  nlohmann::json plots = nlohmann::json::array();
  std::error_code ec;
  if (note.empty() && fs::is_directory(run_dir + "/plots")) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(run_dir + "/plots", ec))
      if (e.path().extension() == ".png") names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    for (auto& n : names) plots.push_back(n);
  }
  r["plots"] = plots;
  r["plots_note"] = note;
  write_file_atomic(run_dir + "/report.json", r.dump(2) + "\n");
  write_file_atomic(run_dir + "/report.md", format_report_md(r));
  return r;
}

}  // namespace seqmend
