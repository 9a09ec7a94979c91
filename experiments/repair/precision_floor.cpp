#include "experiments/repair/precision_floor.h"

#include <algorithm>
#include <cmath>

#include "core/base/error.h"
#include "experiments/eval/detection_metrics.h"

namespace seqmend {

namespace {

bool reaches(double precision, double floor) { return std::isfinite(precision) && precision >= floor; }

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

}  // namespace seqmend
