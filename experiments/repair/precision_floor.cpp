#include "experiments/repair/precision_floor.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "core/base/error.h"
#include "experiments/eval/detection_metrics.h"

namespace seqmend {

namespace {

bool reaches(double precision, double floor) { return std::isfinite(precision) && precision >= floor; }

std::string two_digits(const nlohmann::json& x) {
  if (!x.is_number() || !std::isfinite(x.get<double>())) return "–";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", x.get<double>());
  return buf;
}

}  // namespace

nlohmann::json apply_precision_floor(const HeadPrecision& expected, RepairConfig& cfg) {
  const double floor = cfg.min_expected_precision;
  SEQ_CHECK(floor >= 0 && floor <= 1, "repair: min_expected_precision ", floor, " is outside [0, 1]");
  nlohmann::json out = {{"min_expected_precision", floor}};
  if (floor == 0) return out;
  auto kind = [&](const char* name, bool& on, double precision) {
    const bool was = on;
    on = on && reaches(precision, floor);
    out[name] = {{"expected_precision", json_number(precision)}, {"on", on}};
    if (was && !on)
      out[name]["why"] = std::isfinite(precision) ? "head below the floor" : "head precision unknown (re-run detect)";
  };
  kind("delete", cfg.delete_events, expected.event);
  kind("replace", cfg.replace, expected.event);
  if (cfg.replace) {
    cfg.replace_min_prob = std::max(cfg.replace_min_prob, floor / expected.event);
    out["replace"]["min_prob"] = cfg.replace_min_prob;
  }
  kind("backfill", cfg.backfill, expected.gap);
  if (cfg.backfill) {
    cfg.backfill_min_prob = std::max(cfg.backfill_min_prob, floor / expected.gap);
    out["backfill"]["min_prob"] = cfg.backfill_min_prob;
  }
  kind("quarantine", cfg.quarantine, expected.sequence);
  return out;
}

std::string precision_floor_summary(const nlohmann::json& decision) {
  if (!decision.is_object() || decision.value("min_expected_precision", 0.0) <= 0) return "";
  std::string out;
  for (const char* kind : {"delete", "replace", "backfill", "quarantine"}) {
    if (!decision.contains(kind) || !decision[kind].is_object()) continue;
    const nlohmann::json& k = decision[kind];
    std::string detail = "head " + two_digits(k.value("expected_precision", nlohmann::json()));
    if (k.contains("min_prob")) detail += ", predictions at probability ≥ " + two_digits(k["min_prob"]);
    if (k.contains("why")) detail += "; " + k["why"].get<std::string>();
    out += (out.empty() ? "" : ", ") + std::string(kind) + (k.value("on", false) ? " on" : " off") + " (" + detail + ")";
  }
  return out;
}

}  // namespace seqmend
