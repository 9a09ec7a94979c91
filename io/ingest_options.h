// Options of `seqmend ingest`: how to read a log (format, separator, column mapping), how to clean it
// and how to split it. Every field is a config key (ingest YAML or key=value override); empty strings
// mean "the format's default" so one struct serves every format. The defaults:
//   movielens  user item rating timestamp by position, no header; tab (u.data) or "::" (ratings.dat),
//              told apart by the first line
//   recbole    tab, header `name:type`; user_id, item_id by name, rating and timestamp when present
//   taobao     comma, no header: user item category behaviour(pv|buy|cart|fav) timestamp
//   csv        comma, header; user_id item_id timestamp by name, no action or rating unless mapped
//   seqline    one sequence per line, items separated by spaces/tabs; no timestamps (order = file)
// Fields are not CSV-quoted: one pair of surrounding double quotes is stripped, nothing more.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace seqmend {

class ConfigVisitor;

// Which source column holds each field: a header name, or a 0-based index written as digits.
// "" = the format's default, "-" = the source has no such column.
struct IngestColumns {
  std::string user;
  std::string item;
  std::string timestamp;
  std::string action;
  std::string rating;
  void visit(ConfigVisitor& v);
};

struct IngestParseOptions {
  std::string separator;  // "" = format default; "tab" or "\t" for a tab, "space", ",", "::", …
  bool header = true;     // csv: the first line names the columns
  IngestColumns columns;
  // "raw=action" pairs, e.g. "pv=view", "2=buy". Without an entry, a raw value is read as an action
  // name (view, click, cart, buy, favorite and the Taobao spellings pv, fav) or as a numeric code.
  std::vector<std::string> action_map;
  bool user_first = false;  // seqline: the first token of each line is the user id
  bool string_ids = false;  // ids are arbitrary tokens, not integers
  std::string timestamp_unit = "seconds";  // seconds | milliseconds | iso8601
  int64_t min_timestamp = 0;               // rows outside [min, max] (seconds) are malformed
  int64_t max_timestamp = 4102444800;      // 2100-01-01
  bool strict = false;                     // the first malformed row is an error
  double max_malformed_fraction = 0.01;    // more malformed rows than this is an error
  void visit(ConfigVisitor& v);
};

struct IngestCleanOptions {
  std::vector<std::string> keep_actions;  // keep only these action names (empty = all)
  bool dedupe = true;                     // drop exact duplicate events
  std::string rating = "action";          // ignore | threshold | action
  double rating_threshold = 4.0;          // rating=threshold keeps rows with rating >= this
  int64_t min_user_events = 0;            // k-core: users need this many events (0 = off)
  int64_t min_item_events = 0;            // k-core: items need this many events (0 = off)
  int64_t min_seq_len = 1;                // drop users with fewer events (after k-core)
  int64_t max_seq_len = 0;                // keep each user's most recent events (0 = all)
  std::string item_order = "first_appearance";  // first_appearance | frequency
  void visit(ConfigVisitor& v);
};

struct IngestSplitOptions {
  std::string method = "leave_one_out";  // leave_one_out | temporal
  // temporal: cut times in seconds; 0 = derive from the event-time quantiles below.
  int64_t valid_time = 0;
  int64_t test_time = 0;
  double valid_fraction = 0.1;  // share of events (by time) in [valid cut, test cut)
  double test_fraction = 0.1;   // share of events at or after the test cut
  void visit(ConfigVisitor& v);
};

struct IngestOptions {
  std::string format = "csv";  // movielens | recbole | taobao | seqline | csv
  std::string input;           // a file (recbole: also a folder holding one .inter file)
  std::string dataset;         // name recorded in the manifest; "" = the input's base name
  int64_t events_per_shard = 400000;  // shard size limit handed to the writer
  int64_t target_shards = 64;         // shards per split, for parallel reading (ShardOptions)
  int64_t min_events_per_shard = 8192;
  bool fsync = true;                  // fsync shards and manifest (off only for throw-away data)
  int64_t compression_level = 1;      // deflate level of the shards, 1..9
  IngestParseOptions parse;
  IngestCleanOptions clean;
  IngestSplitOptions split;
  void visit(ConfigVisitor& v);
};

}  // namespace seqmend
