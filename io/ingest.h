// `seqmend ingest` as a library call: parse a log, clean it, split it and write a shard set.
// ingest_prepare does everything in memory (tests and the benchmark inspect its result);
// ingest_to_dir also writes the shard set and either leaves a complete directory or none at all.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "io/ingest_options.h"
#include "io/shard_set.h"
#include "io/splits.h"

namespace seqmend {

struct IngestResult {
  SplitSets splits;
  ManifestInfo info;      // item and user tables, extra = {"ingest": report, "split": splits.info}
  nlohmann::json report;  // per step: events, users and items left, plus what the step removed
};

IngestResult ingest_prepare(const IngestOptions& opts);

// Writes the shard set to `out_dir` and returns its manifest, published whole (io/published_dir.h):
// `out_dir` must not exist or be empty unless `overwrite`, and a previous set there stays intact
// until the new one is complete; a concurrent writer of the same directory is refused; a failure
// or a signal leaves the previous state (and at most a hidden temporary sibling, removed by the
// next writer).
nlohmann::json ingest_to_dir(const IngestOptions& opts, const std::string& out_dir, bool overwrite = false);

// The report as an aligned table for the terminal.
std::string format_ingest_report(const nlohmann::json& report);

}  // namespace seqmend
