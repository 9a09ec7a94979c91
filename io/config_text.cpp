#include "io/config_text.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

namespace seqmend::config_detail {
namespace {

bool all_of(std::string_view s, const char* allowed) {
  return s.find_first_not_of(allowed) == std::string_view::npos;
}

std::string lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = char(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

// Unsigned magnitude with 0x/0o/decimal prefix handling; `s` carries no sign.
Parse parse_magnitude(std::string_view s, uint64_t& out) {
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
    if (!all_of(s, "0123456789abcdefABCDEF")) return Parse::bad;
  } else if (s.size() > 2 && s[0] == '0' && s[1] == 'o') {
    base = 8;
    s.remove_prefix(2);
    if (!all_of(s, "01234567")) return Parse::bad;
  } else if (s.empty() || !all_of(s, "0123456789")) {
    return Parse::bad;
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
  if (ec == std::errc::result_out_of_range) return Parse::out_of_range;
  return (ec == std::errc() && p == s.data() + s.size()) ? Parse::ok : Parse::bad;
}

template <typename F>
Parse parse_floating(std::string_view s, F& out) {
  bool neg = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == ".inf" || s == ".Inf" || s == ".INF") {
    out = neg ? -std::numeric_limits<F>::infinity() : std::numeric_limits<F>::infinity();
    return Parse::ok;
  }
  if (s == ".nan" || s == ".NaN" || s == ".NAN") {
    out = std::numeric_limits<F>::quiet_NaN();
    return Parse::ok;
  }
  // from_chars would also take "inf", "nan" and hex floats; YAML does not.
  if (s.empty() || !all_of(s, "0123456789.eE+-")) return Parse::bad;
  auto digit = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; };
  if (!digit(s[0]) && !(s[0] == '.' && s.size() > 1 && digit(s[1]))) return Parse::bad;
  F v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::general);
  if (p != s.data() + s.size()) return Parse::bad;
  if (ec == std::errc::result_out_of_range) return Parse::out_of_range;
  if (ec != std::errc()) return Parse::bad;
  out = neg ? -v : v;
  return Parse::ok;
}

template <typename F>
std::string format_floating(F x) {
  if (std::isnan(x)) return ".nan";
  if (std::isinf(x)) return x > 0 ? ".inf" : "-.inf";
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, x);  // shortest round-trip form
  std::string s(buf, p);
  size_t e = s.find_first_of("eE");
  if (s.find('.') == std::string::npos) s.insert(e == std::string::npos ? s.size() : e, ".0");
  return s;
}

}  // namespace

Parse parse_int(std::string_view s, int64_t& out) {
  bool neg = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  uint64_t m = 0;
  Parse r = parse_magnitude(s, m);
  if (r != Parse::ok) return r;
  const uint64_t limit = neg ? uint64_t(std::numeric_limits<int64_t>::max()) + 1
                             : uint64_t(std::numeric_limits<int64_t>::max());
  if (m > limit) return Parse::out_of_range;
  out = neg ? int64_t(0 - m) : int64_t(m);
  return Parse::ok;
}

Parse parse_u64(std::string_view s, uint64_t& out) {
  bool neg = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  uint64_t m = 0;
  Parse r = parse_magnitude(s, m);
  if (r != Parse::ok) return r;
  if (neg && m != 0) return Parse::out_of_range;
  out = m;
  return Parse::ok;
}

Parse parse_double(std::string_view s, double& out) { return parse_floating(s, out); }
Parse parse_float(std::string_view s, float& out) { return parse_floating(s, out); }

bool parse_bool(std::string_view s, bool& out) {
  if (s == "true" || s == "True" || s == "TRUE") return out = true, true;
  if (s == "false" || s == "False" || s == "FALSE") return out = false, true;
  return false;
}

std::string format_double(double x) { return format_floating(x); }
std::string format_float(float x) { return format_floating(x); }

std::string format_string(const std::string& s) {
  static const char* kSafe =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-+";
  int64_t i;
  double d;
  bool b;
  const std::string l = lower(s);
  // YAML 1.1 readers also turn yes/no/on/off/y/n into bools, and ~/null into null.
  bool ambiguous = parse_int(s, i) != Parse::bad || parse_double(s, d) != Parse::bad || parse_bool(s, b) ||
                   l == "yes" || l == "no" || l == "on" || l == "off" || l == "y" || l == "n" ||
                   l == "null" || l == "~";
  bool plain = !s.empty() && all_of(s, kSafe) && (std::isalnum(static_cast<unsigned char>(s[0])) ||
                                                  s[0] == '_' || s[0] == '/' || s[0] == '.') &&
               !ambiguous;
  if (plain) return s;
  std::string q = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': q += "\\\""; break;
      case '\\': q += "\\\\"; break;
      case '\n': q += "\\n"; break;
      case '\t': q += "\\t"; break;
      case '\r': q += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          q += buf;
        } else {
          q += char(c);  // UTF-8 passes through: YAML is UTF-8
        }
    }
  }
  return q + "\"";
}

size_t edit_distance(std::string_view a, std::string_view b) {
  const size_t n = a.size(), m = b.size();
  std::vector<size_t> d((n + 1) * (m + 1));
  auto at = [&](size_t i, size_t j) -> size_t& { return d[i * (m + 1) + j]; };
  for (size_t i = 0; i <= n; ++i) at(i, 0) = i;
  for (size_t j = 0; j <= m; ++j) at(0, j) = j;
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      at(i, j) = std::min({at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        at(i, j) = std::min(at(i, j), at(i - 2, j - 2) + 1);
    }
  }
  return at(n, m);
}

std::string nearest(const std::string& name, const std::vector<std::string>& candidates) {
  // Short names need a tighter bound: "lr" is two edits from "wd" but is no typo of it.
  const size_t limit = name.size() <= 3 ? 1 : name.size() <= 6 ? 2 : 3;
  const std::string l = lower(name);
  std::string best;
  size_t best_d = limit + 1;
  for (const auto& c : candidates) {
    size_t dist = edit_distance(l, lower(c));
    // ... and an edit may not be half the word: "x" is one edit from "b" but no typo of it.
    if (dist < best_d && 2 * dist < std::max(name.size(), c.size())) best_d = dist, best = c;
  }
  return best;
}

std::string join(const std::vector<std::string>& items, const char* sep) {
  std::string r;
  for (size_t i = 0; i < items.size(); ++i) r += (i ? sep : "") + items[i];
  return r;
}

}  // namespace seqmend::config_detail
