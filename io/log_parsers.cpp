#include "io/log_parsers.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <unordered_map>

#include "core/base/error.h"
#include "io/ingest_id_map.h"
#include "io/sequence_set.h"
#include "io/utf8.h"

namespace seqmend {
namespace {

constexpr int kMaxExamples = 5;

// Read-only view of a whole file. mmap lets the kernel stream the file in large blocks without a copy;
// an empty file cannot be mapped and is reported by the caller.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path) {
    fd_ = ::open(path.c_str(), O_RDONLY);
    if (fd_ < 0) SEQ_FAIL("ingest: cannot open '", path, "': ", std::strerror(errno));
    struct stat st {};
    if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd_);
      SEQ_FAIL("ingest: '", path, "' is not a readable regular file");
    }
    size_ = size_t(st.st_size);
    if (size_ == 0) return;
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
    if (p == MAP_FAILED) {
      ::close(fd_);
      SEQ_FAIL("ingest: cannot read '", path, "': ", std::strerror(errno));
    }
    ::madvise(p, size_, MADV_SEQUENTIAL | MADV_WILLNEED);
    data_ = static_cast<const char*>(p);
  }
  ~MappedFile() {
    if (data_) ::munmap(const_cast<char*>(data_), size_);
    if (fd_ >= 0) ::close(fd_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  std::string_view text() const { return {data_ ? data_ : "", size_}; }

 private:
  int fd_ = -1;
  const char* data_ = nullptr;
  size_t size_ = 0;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\r' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r' || s.back() == '\t')) s.remove_suffix(1);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

// Ids and times are short runs of digits; this is the hot loop of every delimited format.
bool parse_int(std::string_view s, int64_t& out) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty() || s.size() > 18 || s.front() == '-') {  // rare: let from_chars check range and sign
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size() && !s.empty();
  }
  int64_t v = 0;
  for (char c : s) {
    unsigned d = unsigned(c) - '0';
    if (d > 9) return false;
    v = v * 10 + int64_t(d);
  }
  out = v;
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// "YYYY-MM-DD", optionally "[T ]HH:MM[:SS[.fff]]" and "Z" or "+HH:MM"/"-HH:MM".
bool parse_iso8601(std::string_view s, int64_t& out) {
  auto num = [&](size_t pos, size_t len, int64_t& v) {
    if (pos + len > s.size()) return false;
    v = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      v = v * 10 + (s[i] - '0');
    }
    return true;
  };
  int64_t y, mo, d, h = 0, mi = 0, sec = 0;
  if (!num(0, 4, y) || s.size() < 10 || s[4] != '-' || !num(5, 2, mo) || s[7] != '-' || !num(8, 2, d)) return false;
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return false;
  size_t p = 10;
  if (p < s.size() && (s[p] == 'T' || s[p] == ' ')) {
    if (!num(p + 1, 2, h) || p + 3 >= s.size() || s[p + 3] != ':' || !num(p + 4, 2, mi)) return false;
    p += 6;
    if (p < s.size() && s[p] == ':') {
      if (!num(p + 1, 2, sec)) return false;
      p += 3;
      if (p < s.size() && s[p] == '.') {
        ++p;
        while (p < s.size() && s[p] >= '0' && s[p] <= '9') ++p;
      }
    }
    if (h > 23 || mi > 59 || sec > 60) return false;
  }
  int64_t offset = 0;
  if (p < s.size() && s[p] == 'Z') {
    ++p;
  } else if (p < s.size() && (s[p] == '+' || s[p] == '-')) {
    int64_t oh, om;
    if (!num(p + 1, 2, oh) || p + 3 >= s.size() || s[p + 3] != ':' || !num(p + 4, 2, om)) return false;
    offset = (s[p] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    p += 6;
  }
  if (p != s.size()) return false;
  out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset;
  return true;
}

enum class TimeUnit { kSeconds, kMilliseconds, kIso };

// Timestamps arrive as integers, as floats with a fraction ("881250949.0", RecBole's float type) or as
// ISO dates; the fraction of a second is dropped.
bool parse_timestamp(std::string_view s, TimeUnit unit, int64_t& out) {
  if (unit == TimeUnit::kIso) return parse_iso8601(s, out);
  if (!parse_int(s, out)) {
    double v;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v) || std::fabs(v) > 9e18)
      return false;
    out = int64_t(std::floor(v));
  }
  if (unit == TimeUnit::kMilliseconds) out = out >= 0 ? out / 1000 : -((-out + 999) / 1000);
  return true;
}

std::string separator_from_option(const std::string& s) {
  if (s == "tab" || s == "\\t") return "\t";
  if (s == "space") return " ";
  if (s == "comma") return ",";
  return s;
}

std::string printable(std::string_view s) { return shown(s, 40); }

// Ids are kept as text in the manifest (JSON): a string id must be UTF-8.
bool utf8_id(std::string_view s) { return utf8_error_at(s) == std::string_view::npos; }

// Collects malformed rows; strict mode turns the first into an error.
struct MalformedLog {
  ParseReport& report;
  bool strict;
  void add(int64_t line, const std::string& problem) {
    std::string where = str(report.file, ":", line, ": ", problem);
    if (strict) SEQ_FAIL("ingest: ", where, " (parse.strict=true)");
    ++report.malformed;
    if (int(report.malformed_examples.size()) < kMaxExamples) report.malformed_examples.push_back(where);
  }
};

// Column layout of a delimited format after resolving names against the header.
struct DelimitedLayout {
  std::string sep;
  bool header = false;
  int user = -1, item = -1, timestamp = -1, action = -1, rating = -1;
  std::unordered_map<std::string, int8_t> action_map;
  int num_needed() const { return 1 + std::max({user, item, timestamp, action, rating}); }
};

// Splits `line` at `sep` into at most `n` fields; returns how many were found.
int split_fields(std::string_view line, const std::string& sep, std::string_view* fields, int n) {
  int k = 0;
  size_t pos = 0;
  if (sep.size() == 1) {
    // Fields are a few bytes long: a plain byte loop beats a memchr call per field.
    const char c = sep[0];
    const char* b = line.data();
    const char* e = b + line.size();
    const char* f = b;
    for (const char* q = b; q < e; ++q) {
      if (*q != c) continue;
      fields[k++] = std::string_view(f, size_t(q - f));
      if (k == n) return k;
      f = q + 1;
    }
    fields[k++] = std::string_view(f, size_t(e - f));
    return k;
  }
  while (k < n) {
    size_t end = line.find(sep, pos);
    fields[k++] = line.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    if (end == std::string_view::npos) break;
    pos = end + sep.size();
  }
  return k;
}

// Index of a column given by a 0-based number or by name in the header ("name" also matches a RecBole
// "name:type" header); -1 for "-". `fallback` is used for "".
// A column left to its default may be `optional` (RecBole files list whichever columns they have).
int resolve_column(const std::string& given, const std::string& fallback, const char* field,
                   const std::vector<std::string>& header, const std::string& file, bool optional = false) {
  const std::string& want = given.empty() ? fallback : given;
  optional = optional && given.empty();
  if (want == "-" || want.empty()) return -1;
  int64_t idx;
  if (parse_int(want, idx)) {
    SEQ_CHECK(idx >= 0 && idx < 1000, "ingest: column index ", idx, " for '", field, "' is out of range");
    return int(idx);
  }
  if (header.empty())
    SEQ_FAIL("ingest: ", file, ": column '", want, "' for ", field,
             " is given by name but the file has no header (set parse.header=true or give a 0-based index)");
  for (size_t i = 0; i < header.size(); ++i) {
    std::string_view h = header[i];
    if (h == want || h.substr(0, h.find(':')) == want) return int(i);
  }
  if (optional) return -1;
  std::string names;
  for (auto& h : header) names += (names.empty() ? "" : ", ") + printable(h);
  SEQ_FAIL("ingest: ", file, ":1: missing column '", want, "' for ", field, "; the header has ", header.size(),
           " column(s): ", names, " (wrong separator? set parse.separator, or parse.columns.", field, ")");
}

void add_action_entries(DelimitedLayout& layout, const std::vector<std::string>& entries) {
  for (auto& e : entries) {
    size_t eq = e.rfind('=');
    SEQ_CHECK(eq != std::string::npos && eq > 0, "ingest: parse.action_map entry '", e,
              "' is not of the form raw=action");
    std::string name = e.substr(eq + 1);
    int code = action_code_from_name(name);
    int64_t numeric;
    if (code < 0 && parse_int(name, numeric) && numeric >= 0 && numeric < 128) code = int(numeric);
    SEQ_CHECK(code >= 0, "ingest: parse.action_map entry '", e, "': unknown action '", name,
              "' (view, click, cart, buy, favorite or a code 0..127)");
    layout.action_map[e.substr(0, eq)] = int8_t(code);
  }
}

DelimitedLayout resolve_layout(const IngestOptions& opts, std::string_view text, const std::string& file) {
  const IngestParseOptions& p = opts.parse;
  DelimitedLayout L;
  struct Defaults {
    const char *sep, *user, *item, *timestamp, *action, *rating;
    bool header;
  } d{};
  std::string_view first_line = text.substr(0, text.find('\n'));
  if (opts.format == "movielens") {
    // u.data is tab-separated, ratings.dat uses "::"; both are user item rating timestamp.
    bool colons = first_line.find("::") != std::string_view::npos;
    d = {colons ? "::" : "\t", "0", "1", "3", "-", "2", false};
  } else if (opts.format == "recbole") {
    d = {"\t", "user_id", "item_id", "timestamp", "-", "rating", true};
  } else if (opts.format == "taobao") {
    d = {",", "0", "1", "4", "3", "-", false};  // user, item, category, behaviour, timestamp
  } else {
    SEQ_CHECK(opts.format == "csv", "ingest: unknown format '", opts.format, "'");
    d = {",", "user_id", "item_id", "timestamp", "-", "-", p.header};
  }
  L.sep = p.separator.empty() ? d.sep : separator_from_option(p.separator);
  L.header = d.header;
  std::vector<std::string> header;
  if (L.header) {
    std::string_view fields[256];
    int n = split_fields(first_line, L.sep, fields, 256);
    for (int i = 0; i < n; ++i) header.emplace_back(trim(fields[i]));
  }
  const IngestColumns& c = p.columns;
  L.user = resolve_column(c.user, d.user, "user", header, file);
  L.item = resolve_column(c.item, d.item, "item", header, file);
  const bool recbole = opts.format == "recbole";
  L.timestamp = resolve_column(c.timestamp, d.timestamp, "timestamp", header, file, recbole);
  L.action = resolve_column(c.action, d.action, "action", header, file);
  L.rating = resolve_column(c.rating, d.rating, "rating", header, file, recbole);
  SEQ_CHECK(L.user >= 0 && L.item >= 0, "ingest: ", file, ": the user and item columns are required");
  add_action_entries(L, p.action_map);
  return L;
}

TimeUnit time_unit(const std::string& s) {
  if (s == "seconds") return TimeUnit::kSeconds;
  if (s == "milliseconds") return TimeUnit::kMilliseconds;
  SEQ_CHECK(s == "iso8601", "ingest: unknown parse.timestamp_unit '", s, "'");
  return TimeUnit::kIso;
}

// Calls fn(line_number, line) for every line of `text` starting at `first_line` (1-based numbering).
template <typename Fn>
void for_each_line(std::string_view text, Fn&& fn) {
  const char* p = text.data();
  const char* end = p + text.size();
  int64_t number = 0;
  while (p < end) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', size_t(end - p)));
    const char* eol = nl ? nl : end;
    std::string_view line(p, size_t(eol - p));
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    fn(++number, line);
    p = nl ? nl + 1 : end;
  }
}

bool is_blank(std::string_view line) {
  for (char c : line)
    if (c != ' ' && c != '\t') return false;
  return true;
}

void check_malformed_share(const ParseReport& r, double max_fraction) {
  std::string first = r.malformed_examples.empty() ? "" : "; first: " + r.malformed_examples[0];
  SEQ_CHECK(r.events > 0, "ingest: ", r.file, ": no valid rows (", r.data_lines, " data line(s), ", r.malformed,
            " malformed", first, ")");
  SEQ_CHECK(double(r.malformed) <= max_fraction * double(r.data_lines), "ingest: ", r.file, ": ", r.malformed,
            " of ", r.data_lines, " data lines are malformed, more than parse.max_malformed_fraction=",
            max_fraction, first);
}

EventTable parse_delimited(std::string_view text, const IngestOptions& opts, ParseReport& report) {
  const IngestParseOptions& p = opts.parse;
  DelimitedLayout L = resolve_layout(opts, text, report.file);
  const TimeUnit unit = time_unit(p.timestamp_unit);
  const int need = L.num_needed();
  SEQ_CHECK(need <= 64, "ingest: column index ", need - 1, " is beyond the 64 columns read");

  EventTable t;
  IdInterner users(t.users, p.string_ids), items(t.items, p.string_ids);
  // A typical row is 20-40 bytes; reserving from the file size avoids regrowing the columns.
  size_t guess = text.size() / 24 + 16;
  t.user.reserve(guess);
  t.item.reserve(guess);
  if (L.timestamp >= 0) t.timestamp.reserve(guess);
  if (L.action >= 0) t.action.reserve(guess);
  if (L.rating >= 0) t.rating.reserve(guess);
  MalformedLog bad{report, p.strict};
  const char* id_hint = " is not an integer id (set parse.string_ids=true for token ids)";

  std::string_view f[64];
  for_each_line(text, [&](int64_t number, std::string_view line) {
    report.lines = number;
    if (L.header && number == 1) return;
    if (is_blank(line)) return;
    ++report.data_lines;
    int n = split_fields(line, L.sep, f, need);
    if (n < need) {
      bad.add(number, str("expected at least ", need, " fields separated by '", printable(L.sep), "' but found ", n,
                          " in '", printable(line), "' (wrong separator? set parse.separator)"));
      return;
    }
    int32_t u, it;
    std::string_view su = trim(f[L.user]), si = trim(f[L.item]);
    if (p.string_ids) {
      if (su.empty() || si.empty()) return bad.add(number, "empty user or item id");
      if (!utf8_id(su)) return bad.add(number, str("user id '", printable(su), "' is not valid UTF-8"));
      if (!utf8_id(si)) return bad.add(number, str("item id '", printable(si), "' is not valid UTF-8"));
      u = users.intern(su);
      it = items.intern(si);
    } else {
      int64_t ru, ri;
      if (!parse_int(su, ru)) return bad.add(number, str("user '", printable(su), "'", id_hint));
      if (!parse_int(si, ri)) return bad.add(number, str("item '", printable(si), "'", id_hint));
      u = users.intern(ru);
      it = items.intern(ri);
    }
    int64_t ts = 0;
    if (L.timestamp >= 0) {
      std::string_view s = trim(f[L.timestamp]);
      if (!parse_timestamp(s, unit, ts))
        return bad.add(number, str("timestamp '", printable(s), "' is not a ", p.timestamp_unit, " time"));
      if (ts < p.min_timestamp || ts > p.max_timestamp)
        return bad.add(number, str("timestamp ", ts, " is outside [parse.min_timestamp=", p.min_timestamp,
                                   ", parse.max_timestamp=", p.max_timestamp, "]"));
    }
    int8_t act = 0;
    if (L.action >= 0) {
      std::string_view s = trim(f[L.action]);
      int code = -1;
      if (!L.action_map.empty()) {
        auto hit = L.action_map.find(std::string(s));
        if (hit != L.action_map.end()) code = hit->second;
      }
      int64_t numeric;
      if (code < 0) code = action_code_from_name(s);
      if (code < 0 && parse_int(s, numeric) && numeric >= 0 && numeric < 128) code = int(numeric);
      if (code < 0) return bad.add(number, str("unknown action '", printable(s), "' (add it to parse.action_map)"));
      act = int8_t(code);
    }
    float rating = 0;
    if (L.rating >= 0) {
      std::string_view s = trim(f[L.rating]);
      auto [q, ec] = std::from_chars(s.data(), s.data() + s.size(), rating);
      if (s.empty() || ec != std::errc() || q != s.data() + s.size() || !std::isfinite(rating))
        return bad.add(number, str("rating '", printable(s), "' is not a number"));
    }
    t.user.push_back(u);
    t.item.push_back(it);
    if (L.timestamp >= 0) t.timestamp.push_back(ts);
    if (L.action >= 0) t.action.push_back(act);
    if (L.rating >= 0) t.rating.push_back(rating);
    ++report.events;
  });
  return t;
}

// One sequence per line: items in order, optionally preceded by the user id. Without a user column
// the line number (1-based, counting data lines) is the user id.
EventTable parse_seqline(std::string_view text, const IngestOptions& opts, ParseReport& report) {
  const IngestParseOptions& p = opts.parse;
  std::string sep = p.separator.empty() ? "space" : p.separator;
  sep = separator_from_option(sep);
  const bool whitespace = sep == " " || sep == "\t";
  EventTable t;
  // Without a user column the user id is the line number, an integer even when item ids are tokens.
  IdInterner users(t.users, p.string_ids && p.user_first), items(t.items, p.string_ids);
  MalformedLog bad{report, p.strict};
  std::vector<int32_t> line_items;
  for_each_line(text, [&](int64_t number, std::string_view line) {
    report.lines = number;
    if (is_blank(line)) return;
    ++report.data_lines;
    line_items.clear();
    std::string_view user_token;
    bool have_user = !p.user_first;
    size_t pos = 0;
    while (pos <= line.size()) {
      size_t end;
      if (whitespace) {
        while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t')) ++pos;
        if (pos == line.size()) break;
        end = pos;
        while (end < line.size() && line[end] != ' ' && line[end] != '\t') ++end;
      } else {
        end = line.find(sep, pos);
        if (end == std::string_view::npos) end = line.size();
      }
      std::string_view tok = trim(line.substr(pos, end - pos));
      pos = end + (whitespace ? 0 : sep.size());
      if (!have_user) {
        user_token = tok;
        have_user = true;
        continue;
      }
      if (tok.empty()) continue;
      if (p.string_ids) {
        if (!utf8_id(tok)) return bad.add(number, str("item id '", printable(tok), "' is not valid UTF-8"));
        line_items.push_back(items.intern(tok));
      } else {
        int64_t id;
        if (!parse_int(tok, id))
          return bad.add(number, str("item '", printable(tok), "' is not an integer id (set parse.string_ids=true)"));
        line_items.push_back(items.intern(id));
      }
      if (end >= line.size()) break;
    }
    if (line_items.empty()) return bad.add(number, "no items on the line");
    int32_t u;
    if (!p.user_first) {
      u = users.intern(report.data_lines);
    } else if (p.string_ids) {
      if (!utf8_id(user_token)) return bad.add(number, str("user id '", printable(user_token), "' is not valid UTF-8"));
      u = users.intern(user_token);
    } else {
      int64_t id;
      if (!parse_int(user_token, id))
        return bad.add(number, str("user '", printable(user_token), "' is not an integer id (parse.user_first=true)"));
      u = users.intern(id);
    }
    t.user.insert(t.user.end(), line_items.size(), u);
    t.item.insert(t.item.end(), line_items.begin(), line_items.end());
    report.events += int64_t(line_items.size());
  });
  return t;
}

}  // namespace

int action_code_from_name(std::string_view name) {
  if (name == "view" || name == "pv") return kActionView;
  if (name == "click") return kActionClick;
  if (name == "cart") return kActionCart;
  if (name == "buy") return kActionBuy;
  if (name == "favorite" || name == "fav") return kActionFavorite;
  if (name == "none") return kActionNone;
  return -1;
}

std::string resolve_log_path(const std::string& format, const std::string& path) {
  namespace fs = std::filesystem;
  SEQ_CHECK(!path.empty(), "ingest: no input given (--input PATH)");
  std::error_code ec;
  if (format == "recbole" && fs::is_directory(path, ec)) {
    std::vector<std::string> found;
    for (auto& e : fs::directory_iterator(path, ec))
      if (e.path().extension() == ".inter") found.push_back(e.path().string());
    SEQ_CHECK(found.size() == 1, "ingest: '", path, "' is a folder with ", found.size(),
              " .inter files; give the .inter file itself");
    return found[0];
  }
  SEQ_CHECK(fs::exists(path, ec), "ingest: cannot open '", path, "': no such file");
  SEQ_CHECK(!fs::is_directory(path, ec), "ingest: '", path, "' is a folder; give the log file");
  return path;
}

EventTable parse_log_text(std::string_view text, const std::string& file_name, const IngestOptions& opts,
                          ParseReport& report) {
  report = ParseReport{};
  report.file = file_name;
  // A UTF-8 byte-order mark (spreadsheet exports) is not part of the first column's name.
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  SEQ_CHECK(text.find_first_not_of("\r\n \t") != std::string_view::npos, "ingest: ", file_name,
            ": empty file (no rows)");
  EventTable t = opts.format == "seqline" ? parse_seqline(text, opts, report) : parse_delimited(text, opts, report);
  check_malformed_share(report, opts.parse.strict ? 0.0 : opts.parse.max_malformed_fraction);
  return t;
}

EventTable parse_log(const IngestOptions& opts, ParseReport& report) {
  std::string path = resolve_log_path(opts.format, opts.input);
  MappedFile file(path);
  return parse_log_text(file.text(), path, opts, report);
}

}  // namespace seqmend
