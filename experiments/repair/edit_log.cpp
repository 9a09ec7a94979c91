#include "experiments/repair/edit_log.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/base/error.h"

namespace seqmend {
namespace {

constexpr const char* kHeader =
    "split,sequence,user,position,op,old_item,new_item,old_timestamp,new_timestamp,old_action,new_action,"
    "old_label,score,probability";
constexpr int kColumns = 14;

int64_t parse_int(const std::string& s, const std::string& what, int64_t line, const char* column, int64_t lo,
                  int64_t hi) {
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, 10);
  SEQ_CHECK(!s.empty() && errno == 0 && *end == '\0' && v >= lo && v <= hi, what, ":", line, ": column ", column,
            ": '", s, "' is not an integer in [", lo, ", ", hi, "]");
  return v;
}

float parse_float(const std::string& s, const std::string& what, int64_t line, const char* column) {
  char* end = nullptr;
  errno = 0;
  float v = std::strtof(s.c_str(), &end);
  SEQ_CHECK(!s.empty() && errno == 0 && *end == '\0', what, ":", line, ": column ", column, ": '", s,
            "' is not a number");
  return v;
}

}  // namespace

const char* edit_op_name(EditOp op) {
  switch (op) {
    case EditOp::kDelete: return "delete";
    case EditOp::kReplace: return "replace";
    case EditOp::kInsert: return "insert";
    case EditOp::kQuarantine: return "quarantine";
  }
  return "unknown";
}

EditOp parse_edit_op(const std::string& name) {
  for (EditOp op : {EditOp::kDelete, EditOp::kReplace, EditOp::kInsert, EditOp::kQuarantine})
    if (name == edit_op_name(op)) return op;
  SEQ_FAIL("edit log: unknown operation '", name, "' (delete | replace | insert | quarantine)");
}

std::string edit_log_csv(const EditLog& log) {
  std::string out = std::string(kHeader) + "\n";
  char buf[512];
  for (const auto& [split, edits] : log)
    for (const Edit& e : edits) {
      // %.9g round-trips a float exactly.
      std::snprintf(buf, sizeof buf, ",%lld,%lld,%lld,%s,%d,%d,%lld,%lld,%d,%d,%d,%.9g,%.9g\n",
                    (long long)e.sequence, (long long)e.user, (long long)e.position, edit_op_name(e.op), e.old_item,
                    e.new_item, (long long)e.old_timestamp, (long long)e.new_timestamp, int(e.old_action),
                    int(e.new_action), int(e.old_label), double(e.score), double(e.probability));
      out += split;
      out += buf;
    }
  return out;
}

EditLog parse_edit_log_csv(const std::string& text, const std::string& what) {
  EditLog log;
  std::istringstream in(text);
  std::string line;
  int64_t lineno = 0;
  SEQ_CHECK(std::getline(in, line) && line == kHeader, what, ":1: expected the header '", kHeader, "', got '",
            line, "'");
  ++lineno;
  constexpr int64_t i8lo = -128, i8hi = 127, i32lo = INT32_MIN, i32hi = INT32_MAX;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty()) continue;
    std::vector<std::string> f;
    std::stringstream ls(line);
    std::string cell;
    while (std::getline(ls, cell, ',')) f.push_back(cell);
    if (!line.empty() && line.back() == ',') f.push_back("");
    SEQ_CHECK(int(f.size()) == kColumns, what, ":", lineno, ": ", f.size(), " fields, expected ", kColumns);
    Edit e;
    e.sequence = parse_int(f[1], what, lineno, "sequence", 0, INT64_MAX);
    e.user = parse_int(f[2], what, lineno, "user", 0, INT64_MAX);
    e.position = parse_int(f[3], what, lineno, "position", -1, INT64_MAX);
    try {
      e.op = parse_edit_op(f[4]);
    } catch (const Error& err) {
      SEQ_FAIL(what, ":", lineno, ": column op: ", err.what());
    }
    e.old_item = int32_t(parse_int(f[5], what, lineno, "old_item", i32lo, i32hi));
    e.new_item = int32_t(parse_int(f[6], what, lineno, "new_item", i32lo, i32hi));
    e.old_timestamp = parse_int(f[7], what, lineno, "old_timestamp", INT64_MIN, INT64_MAX);
    e.new_timestamp = parse_int(f[8], what, lineno, "new_timestamp", INT64_MIN, INT64_MAX);
    e.old_action = int8_t(parse_int(f[9], what, lineno, "old_action", i8lo, i8hi));
    e.new_action = int8_t(parse_int(f[10], what, lineno, "new_action", i8lo, i8hi));
    e.old_label = int8_t(parse_int(f[11], what, lineno, "old_label", i8lo, i8hi));
    e.score = parse_float(f[12], what, lineno, "score");
    e.probability = parse_float(f[13], what, lineno, "probability");
    log[f[0]].push_back(e);
  }
  return log;
}

EditLog read_edit_log(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  SEQ_CHECK(bool(f), "cannot open '", path, "'");
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_edit_log_csv(ss.str(), path);
}

}  // namespace seqmend
