// Readers for the interaction-log formats `seqmend ingest` accepts. Every delimited format (MovieLens
// u.data / ratings.dat, RecBole .inter, Taobao UserBehavior, generic CSV/TSV) is one column layout fed
// to a single fast row parser; sequence-per-line files have their own reader.
//
// Bad rows: in strict mode the first one throws "file:line: problem"; otherwise it is skipped, counted
// and the first few are kept as examples. Structural problems (unreadable or empty file, a missing
// column, more malformed rows than parse.max_malformed_fraction) always throw.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "io/event_table.h"
#include "io/ingest_options.h"

namespace seqmend {

struct ParseReport {
  std::string file;
  int64_t lines = 0;           // lines in the file, header included
  int64_t data_lines = 0;      // non-blank lines after the header
  int64_t malformed = 0;       // data lines skipped as malformed
  int64_t events = 0;          // events parsed (seqline: several per line)
  std::vector<std::string> malformed_examples;  // "file:line: problem", the first few
};

// The input file a format reads: `path` itself, or for recbole a folder's single `.inter` file.
std::string resolve_log_path(const std::string& format, const std::string& path);

// Parses opts.input according to opts.format.
EventTable parse_log(const IngestOptions& opts, ParseReport& report);

// Same on text already in memory; `file_name` only labels messages.
EventTable parse_log_text(std::string_view text, const std::string& file_name, const IngestOptions& opts,
                          ParseReport& report);

// Action code for an action name (view, click, cart, buy, favorite, pv, fav) or -1 when unknown.
int action_code_from_name(std::string_view name);

}  // namespace seqmend
