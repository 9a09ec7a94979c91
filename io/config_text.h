// Scalar spelling shared by the config reader and writer (io/config*.cpp): what counts as an
// integer, a float, a bool in a config file, how values are printed back so that they read back
// identical, and the edit distance behind "did you mean" hints. Internal to io/ and the sweep file
// readers (experiments/cli/sweep_spec.cpp, sweep_point.cpp), which follow the same spelling rules.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace seqmend::config_detail {

enum class Parse { ok, bad, out_of_range };

// Decimal, 0x hex or 0o octal, optional sign; nothing else (no 1e6, no 1_000).
Parse parse_int(std::string_view s, int64_t& out);
Parse parse_u64(std::string_view s, uint64_t& out);
// Integers, decimals, exponents, and YAML's .inf / -.inf / .nan.
Parse parse_double(std::string_view s, double& out);
Parse parse_float(std::string_view s, float& out);
// true/True/TRUE/false/False/FALSE.
bool parse_bool(std::string_view s, bool& out);

// Shortest text that reads back to the same value, always with a '.' so that YAML 1.1 readers
// (PyYAML) see a float too: 0.001, 1.0e-05, 3.0, .inf.
std::string format_double(double x);
std::string format_float(float x);
// Plain when that reads back as the same string under any YAML schema, double-quoted otherwise.
std::string format_string(const std::string& s);

// Optimal-string-alignment (Damerau) distance: insertions, deletions, substitutions, adjacent swaps.
size_t edit_distance(std::string_view a, std::string_view b);
// The candidate closest to `name` if it is close enough to be a plausible typo, else "".
std::string nearest(const std::string& name, const std::vector<std::string>& candidates);

std::string join(const std::vector<std::string>& items, const char* sep);

}  // namespace seqmend::config_detail
