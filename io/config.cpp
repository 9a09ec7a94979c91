// The parts of io/config.h that do not read YAML: the narrow-type adapters, the writer that
// prints a resolved config back out, and the one-line-per-key reference for --help.
#include "io/config.h"

#include <algorithm>

#include "core/base/error.h"
#include "io/config_text.h"

namespace seqmend {

void ConfigVisitor::field(const char* key, int& x, const char* doc, int64_t lo, int64_t hi) {
  int64_t wide = x;
  field(key, wide, doc, std::max<int64_t>(lo, std::numeric_limits<int>::min()),
        std::min<int64_t>(hi, std::numeric_limits<int>::max()));
  x = int(wide);  // in range: the wide field checked against the clamped bounds
}

void ConfigVisitor::field(const char* key, float& x, const char* doc, double lo, double hi) {
  field_float(key, x, doc, std::max<double>(lo, -std::numeric_limits<float>::max()),
              std::min<double>(hi, std::numeric_limits<float>::max()));
}

void ConfigVisitor::field_float(const char* key, float& x, const char* doc, double lo, double hi) {
  double wide = x;
  field(key, wide, doc, lo, hi);
  x = float(wide);
}

void ConfigVisitor::field(const char* key, std::vector<int>& x, const char* doc, int64_t lo, int64_t hi) {
  std::vector<int64_t> wide(x.begin(), x.end());
  field(key, wide, doc, std::max<int64_t>(lo, std::numeric_limits<int>::min()),
        std::min<int64_t>(hi, std::numeric_limits<int>::max()));
  x.assign(wide.begin(), wide.end());
}

namespace config_detail {
namespace {

// A doc string as a one-line comment.
std::string comment(const char* doc) {
  std::string s = doc ? doc : "";
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s.empty() ? "" : "  # " + s;
}

template <typename T, typename F>
std::string flow(const std::vector<T>& xs, F fmt) {
  std::string s = "[";
  for (size_t i = 0; i < xs.size(); ++i) s += (i ? ", " : "") + fmt(xs[i]);
  return s + "]";
}

std::string fmt_int(int64_t v) { return std::to_string(v); }

std::string range_text(int64_t lo, int64_t hi, int64_t type_lo, int64_t type_hi) {
  if (lo <= type_lo && hi >= type_hi) return "";
  return str(" in [", lo <= type_lo ? "-inf" : std::to_string(lo), ", ",
             hi >= type_hi ? "inf" : std::to_string(hi), "]");
}

std::string range_text(double lo, double hi, double type_max) {
  if (lo <= -type_max && hi >= type_max) return "";
  return str(" in [", lo <= -type_max ? "-inf" : format_double(lo), ", ",
             hi >= type_max ? "inf" : format_double(hi), "]");
}

}  // namespace

// ---- Writer ---------------------------------------------------------------------------------

struct Writer::State {
  std::string out;
  int depth = 0;
  std::string indent() const { return std::string(size_t(2 * depth), ' '); }
  void line(const char* key, const std::string& value, const std::string& note) {
    out += indent() + key + ": " + value + note + "\n";
  }
};

Writer::Writer() : st_(std::make_unique<State>()) {}
Writer::~Writer() = default;
std::string Writer::yaml() { return st_->out; }

void Writer::field(const char* key, int64_t& x, const char* doc, int64_t, int64_t) {
  st_->line(key, std::to_string(x), comment(doc));
}
void Writer::field(const char* key, double& x, const char* doc, double, double) {
  st_->line(key, format_double(x), comment(doc));
}
void Writer::field_float(const char* key, float& x, const char* doc, double, double) {
  st_->line(key, format_float(x), comment(doc));
}
void Writer::field_u64(const char* key, uint64_t& x, const char* doc, uint64_t, uint64_t) {
  st_->line(key, std::to_string(x), comment(doc));
}
void Writer::field(const char* key, bool& x, const char* doc) {
  st_->line(key, x ? "true" : "false", comment(doc));
}
void Writer::field(const char* key, std::string& x, const char* doc) {
  st_->line(key, format_string(x), comment(doc));
}
void Writer::field(const char* key, std::vector<int64_t>& x, const char* doc, int64_t, int64_t) {
  st_->line(key, flow(x, fmt_int), comment(doc));
}
void Writer::field(const char* key, std::vector<double>& x, const char* doc, double, double) {
  st_->line(key, flow(x, format_double), comment(doc));
}
void Writer::field(const char* key, std::vector<std::string>& x, const char* doc) {
  st_->line(key, flow(x, format_string), comment(doc));
}
void Writer::choice(const char* key, std::string& x, std::initializer_list<const char*> choices,
                    const char* doc) {
  std::vector<std::string> names(choices.begin(), choices.end());
  st_->line(key, format_string(x), comment(doc) + (doc && *doc ? " " : "  # ") + "(" + join(names, "|") + ")");
}
bool Writer::enter(const char* key, const char* doc) {
  if (doc && *doc) st_->out += st_->indent() + "# " + comment(doc).substr(4) + "\n";
  st_->out += st_->indent() + key + ":\n";
  ++st_->depth;
  return true;
}
void Writer::leave() { --st_->depth; }

// ---- Reference ------------------------------------------------------------------------------

void Reference::line(const char* key, const std::string& type, const std::string& value, const char* doc) {
  std::string full;
  for (const auto& p : path_) full += p + ".";
  full += key;
  out_ += str("  ", full, " = ", value, "  (", type, ")", doc && *doc ? "  " : "", doc ? doc : "", "\n");
}

void Reference::field(const char* key, int64_t& x, const char* doc, int64_t lo, int64_t hi) {
  line(key, "int" + range_text(lo, hi, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()),
       std::to_string(x), doc);
}
void Reference::field(const char* key, double& x, const char* doc, double lo, double hi) {
  line(key, "float" + range_text(lo, hi, std::numeric_limits<double>::infinity()), format_double(x), doc);
}
void Reference::field_float(const char* key, float& x, const char* doc, double lo, double hi) {
  line(key, "float" + range_text(lo, hi, std::numeric_limits<float>::max()), format_float(x), doc);
}
void Reference::field_u64(const char* key, uint64_t& x, const char* doc, uint64_t lo, uint64_t hi) {
  bool full = lo == 0 && hi == std::numeric_limits<uint64_t>::max();
  line(key, full ? std::string("unsigned int") : str("unsigned int in [", lo, ", ", hi, "]"), std::to_string(x), doc);
}
void Reference::field(const char* key, bool& x, const char* doc) { line(key, "bool", x ? "true" : "false", doc); }
void Reference::field(const char* key, std::string& x, const char* doc) {
  line(key, "string", format_string(x), doc);
}
void Reference::field(const char* key, std::vector<int64_t>& x, const char* doc, int64_t lo, int64_t hi) {
  line(key,
       "list of int" + range_text(lo, hi, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()),
       flow(x, fmt_int), doc);
}
void Reference::field(const char* key, std::vector<double>& x, const char* doc, double lo, double hi) {
  line(key, "list of float" + range_text(lo, hi, std::numeric_limits<double>::infinity()),
       flow(x, format_double), doc);
}
void Reference::field(const char* key, std::vector<std::string>& x, const char* doc) {
  line(key, "list of string", flow(x, format_string), doc);
}
void Reference::choice(const char* key, std::string& x, std::initializer_list<const char*> choices,
                       const char* doc) {
  std::vector<std::string> names(choices.begin(), choices.end());
  line(key, "one of " + join(names, "|"), format_string(x), doc);
}
bool Reference::enter(const char* key, const char*) {
  path_.push_back(key);
  return true;
}
void Reference::leave() { path_.pop_back(); }

}  // namespace config_detail
}  // namespace seqmend
