#include "experiments/eval/rank_file.h"

#include <charconv>
#include <cstdint>
#include <fstream>
#include <map>
#include <optional>
#include <string_view>
#include <utility>

#include "core/base/error.h"
#include "io/atomic_file.h"

namespace seqmend {

namespace {

constexpr const char* kHeader = "user,valid_rank,test_rank";

// A cell: blank = no rank, else a whole non-negative number; nullopt when it is neither.
std::optional<int64_t> parse_cell(std::string_view s, bool* blank) {
  *blank = s.empty();
  if (s.empty()) return -1;
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

}  // namespace

void write_rank_file(const std::string& path, const UserRanks& ranks) {
  std::map<int64_t, std::pair<int64_t, int64_t>> rows;
  for (const UserRank& r : ranks.valid) rows[r.user] = {r.rank, -1};
  for (const UserRank& r : ranks.test) rows.try_emplace(r.user, -1, -1).first->second.second = r.rank;
  std::string out = std::string(kHeader) + "\n";
  for (const auto& [u, vt] : rows)
    out += std::to_string(u) + "," + (vt.first >= 0 ? std::to_string(vt.first) : "") + "," +
           (vt.second >= 0 ? std::to_string(vt.second) : "") + "\n";
  write_file_atomic(path, out);
}

UserRanks read_rank_file(const std::string& path) {
  std::ifstream f(path);
  SEQ_CHECK(f, "ranks: ", path, " is missing");
  std::string line;
  SEQ_CHECK(std::getline(f, line) && line == kHeader, "ranks: ", path, " has no header '", kHeader, "'");
  UserRanks out;
  for (int64_t n = 2; std::getline(f, line); ++n) {
    const std::string_view row(line);
    const size_t a = row.find(','), b = a == row.npos ? row.npos : row.find(',', a + 1);
    const bool three = b != row.npos && row.find(',', b + 1) == row.npos;
    bool user_blank = true, valid_blank = true, test_blank = true;
    const auto user = three ? parse_cell(row.substr(0, a), &user_blank) : std::nullopt;
    const auto valid = three ? parse_cell(row.substr(a + 1, b - a - 1), &valid_blank) : std::nullopt;
    const auto test = three ? parse_cell(row.substr(b + 1), &test_blank) : std::nullopt;
    SEQ_CHECK(user && valid && test && !user_blank, path, ":", n,
              ": malformed row '", line, "' (want user,valid_rank,test_rank: integers, blank where no rank)");
    if (!valid_blank) out.valid.push_back({*user, *valid});
    if (!test_blank) out.test.push_back({*user, *test});
  }
  return out;
}

}  // namespace seqmend
