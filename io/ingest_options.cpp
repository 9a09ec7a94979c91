#include "io/ingest_options.h"

#include "io/config.h"

namespace seqmend {

// Each column: a header name or a 0-based index; "" = the format's default, "-" = absent.
void IngestColumns::visit(ConfigVisitor& v) {
  v.field("user", user, "user id column (name or 0-based index)");
  v.field("item", item, "item id column (name or 0-based index)");
  v.field("timestamp", timestamp, "timestamp column; \"-\" = none");
  v.field("action", action, "action column; \"-\" = none");
  v.field("rating", rating, "rating column; \"-\" = none");
}

void IngestParseOptions::visit(ConfigVisitor& v) {
  v.field("separator", separator, "field separator: \"\" = format default, tab, space, comma, or the text itself");
  v.field("header", header, "csv: the first line names the columns");
  v.section("columns", columns, "where each field is (csv; other formats have fixed defaults)");
  v.field("action_map", action_map, "raw=action pairs, e.g. [pv=view, 2=buy]");
  v.field("user_first", user_first, "seqline: the first token of a line is the user id");
  v.field("string_ids", string_ids, "user and item ids are arbitrary tokens instead of integers");
  v.choice("timestamp_unit", timestamp_unit, {"seconds", "milliseconds", "iso8601"}, "how timestamps are written");
  v.field("min_timestamp", min_timestamp, "rows with an earlier time (seconds) are malformed");
  v.field("max_timestamp", max_timestamp, "rows with a later time (seconds) are malformed");
  v.field("strict", strict, "stop at the first malformed row instead of skipping it");
  v.field("max_malformed_fraction", max_malformed_fraction, "more malformed rows than this share is an error", 0.0,
          1.0);
}

void IngestCleanOptions::visit(ConfigVisitor& v) {
  v.field("keep_actions", keep_actions, "keep only these actions (view, click, cart, buy, favorite); [] = all");
  v.field("dedupe", dedupe, "drop exact duplicate events (same user, item, time, action, rating)");
  v.choice("rating", rating, {"ignore", "threshold", "action"},
           "ratings: ignore, keep rows >= rating_threshold, or store as action 10 + rating");
  v.field("rating_threshold", rating_threshold, "rating=threshold keeps rows with rating >= this");
  v.field("min_user_events", min_user_events, "k-core: events a user needs (0 = off)", 0);
  v.field("min_item_events", min_item_events, "k-core: events an item needs (0 = off)", 0);
  v.field("min_seq_len", min_seq_len, "drop users with fewer events (after k-core)", 0);
  v.field("max_seq_len", max_seq_len, "keep each user's most recent events (0 = all)", 0);
  v.choice("item_order", item_order, {"first_appearance", "frequency"},
           "item ids 1..V by first appearance after sorting, or by descending frequency");
}

void IngestSplitOptions::visit(ConfigVisitor& v) {
  v.choice("method", method, {"leave_one_out", "temporal"}, "how to split into train/valid/test");
  v.field("valid_time", valid_time, "temporal: validation cut (seconds; 0 = from valid_fraction)", 0);
  v.field("test_time", test_time, "temporal: test cut (seconds; 0 = from test_fraction)", 0);
  v.field("valid_fraction", valid_fraction, "temporal: share of events in [valid cut, test cut)", 0.0, 1.0);
  v.field("test_fraction", test_fraction, "temporal: share of events at or after the test cut", 0.0, 1.0);
}

void IngestOptions::visit(ConfigVisitor& v) {
  v.choice("format", format, {"movielens", "recbole", "taobao", "seqline", "csv"}, "input log format");
  v.field("input", input, "input file (recbole: or a folder with one .inter file)");
  v.field("dataset", dataset, "name recorded in the manifest (\"\" = input file name)");
  v.field("events_per_shard", events_per_shard, "largest shard, in events", 1);
  v.field("target_shards", target_shards,
          "shards per split, so that many ranks read in parallel (0 = shards of events_per_shard)", 0, 1 << 20);
  v.field("min_events_per_shard", min_events_per_shard, "smallest shard the target may make, in events", 1);
  v.field("fsync", fsync, "fsync the written files (off only for throw-away data)");
  v.field("compression_level", compression_level, "deflate level of the shards", 1, 9);
  v.section("parse", parse, "reading the log");
  v.section("clean", clean, "cleaning steps, in order");
  v.section("split", split, "train/valid/test split");
}

}  // namespace seqmend
