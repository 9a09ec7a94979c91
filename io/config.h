// Typed experiment configs read from YAML. A config struct describes its fields once, in a visit
// method; the same description reads YAML (with defaults, ranges, unknown-key detection and
// "did you mean" hints), applies key.sub=value overrides, and writes the resolved YAML back out:
//
//   struct OptimConfig {
//     double lr = 1e-3;
//     std::string schedule = "cosine";
//     void visit(ConfigVisitor& v) {
//       v.field("lr", lr, "peak learning rate", 0.0, 10.0);
//       v.choice("schedule", schedule, {"constant", "linear", "cosine"}, "learning-rate schedule");
//     }
//   };
//   struct PretrainConfig { OptimConfig optim; ...
//     void visit(ConfigVisitor& v) { v.section("optim", optim, "optimizer"); ... } };
//
//   auto cfg = load_config<PretrainConfig>("pretrain.yaml", {"optim.lr=3e-4"});
//   write_config(cfg, run_dir + "/config.yaml");  // every field, defaults included
//
// Errors name the key path (optim.lr), the file and line:column of the value, and for a misspelt
// key the nearest valid name. Rules the readers apply (see ARCHITECTURE.md, "Configs"):
// - a key absent from the file keeps the struct's default; a key the struct does not describe is an
//   error (so a typo never silently leaves a default in place);
// - numbers are range-checked into [lo, hi] and into the C++ type (int, float, uint64_t), NaN never
//   passes; integers must be written as integers (no 1e6 for an int field);
// - bools are true/false; a quoted scalar ("0.1") is a string, not a number;
// - string fields take any scalar; an empty value (`key:`) is an error, write "" for an empty string.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

namespace seqmend {

class ConfigVisitor {
 public:
  virtual ~ConfigVisitor() = default;

  virtual void field(const char* key, int64_t& x, const char* doc,
                     int64_t lo = std::numeric_limits<int64_t>::min(),
                     int64_t hi = std::numeric_limits<int64_t>::max()) = 0;
  virtual void field(const char* key, double& x, const char* doc,
                     double lo = -std::numeric_limits<double>::infinity(),
                     double hi = std::numeric_limits<double>::infinity()) = 0;
  virtual void field(const char* key, bool& x, const char* doc) = 0;
  virtual void field(const char* key, std::string& x, const char* doc) = 0;
  // Sequence fields: every element is checked against [lo, hi].
  virtual void field(const char* key, std::vector<int64_t>& x, const char* doc,
                     int64_t lo = std::numeric_limits<int64_t>::min(),
                     int64_t hi = std::numeric_limits<int64_t>::max()) = 0;
  virtual void field(const char* key, std::vector<double>& x, const char* doc,
                     double lo = -std::numeric_limits<double>::infinity(),
                     double hi = std::numeric_limits<double>::infinity()) = 0;
  virtual void field(const char* key, std::vector<std::string>& x, const char* doc) = 0;
  virtual void choice(const char* key, std::string& x, std::initializer_list<const char*> choices,
                      const char* doc) = 0;

  // A key the struct no longer describes but that files written before it was replaced still hold
  // (a run's config.yaml, a checkpoint's model_yaml). The Reader reads it when the source gives it
  // and returns true, and it is no unknown key; the Writer and the Reference skip it, so it is never
  // written or listed. Describe it after `use_instead`, the key that replaced it, with `x` holding
  // what that key implies: a source giving both keys with values that disagree is an error.
  virtual bool retired(const char* key, bool& x, const char* use_instead) {
    (void)key, (void)x, (void)use_instead;
    return false;
  }

  // Narrower numeric types go through the wide ones (range-checked into the narrow type too).
  void field(const char* key, int& x, const char* doc, int64_t lo = std::numeric_limits<int>::min(),
             int64_t hi = std::numeric_limits<int>::max());
  void field(const char* key, float& x, const char* doc,
             double lo = -std::numeric_limits<float>::max(), double hi = std::numeric_limits<float>::max());
  void field(const char* key, uint64_t& x, const char* doc, uint64_t lo = 0,
             uint64_t hi = std::numeric_limits<uint64_t>::max()) {
    field_u64(key, x, doc, lo, hi);
  }
  void field(const char* key, std::vector<int>& x, const char* doc,
             int64_t lo = std::numeric_limits<int>::min(), int64_t hi = std::numeric_limits<int>::max());

  template <typename S>
  void section(const char* key, S& s, const char* doc) {
    if (enter(key, doc)) {
      s.visit(*this);
      leave();
    }
  }

 protected:
  // Returns false when the visitor does not descend (it never happens for the built-in visitors).
  virtual bool enter(const char* key, const char* doc) = 0;
  virtual void leave() = 0;

  // uint64_t does not fit int64_t (seeds use the full range), and a float written through double
  // would print as 0.10000000149011612: both get their own hook; the defaults go through the wide
  // types so a visitor only overrides what it must.
  virtual void field_u64(const char* key, uint64_t& x, const char* doc, uint64_t lo, uint64_t hi) = 0;
  virtual void field_float(const char* key, float& x, const char* doc, double lo, double hi);
};

// Reads `path` (may be empty: defaults only) then applies `overrides` ("a.b=value", YAML scalars or
// flow sequences), validating everything against the struct's visit description. Throws
// seqmend::Error with key path, file:line:column and suggestions.
template <typename S>
S load_config(const std::string& path, const std::vector<std::string>& overrides = {});

// An override written in another file than the config (a sweep file's grid value): its errors name
// where the key and the value were written, as errors in a config file do, instead of quoting the
// override text.
struct LocatedOverride {
  std::string text;      // "a.b=value", as on the command line
  std::string key_at;    // "sweep.yaml:4:3": unknown or duplicate keys
  std::string value_at;  // "sweep.yaml:4:18": wrong types, out-of-range values
};
template <typename S>
S load_config_located(const std::string& path, const std::vector<LocatedOverride>& overrides);
// Same, the config given as YAML text; its errors name `origin` as the file (a config embedded in
// another file keeps its lines and columns there).
template <typename S>
S load_config_text(const std::string& text, const std::string& origin,
                   const std::vector<LocatedOverride>& overrides = {});

// One top-level section of a YAML file (`model:` of a run's config.yaml) as S. The file's other keys
// are not read: a run's own stage config may have gained or lost keys since, which must not stop a
// later stage from using the section. An absent section is an error unless `optional` (then S's
// defaults).
template <typename S>
S load_config_section(const std::string& path, const std::string& key, bool optional = false);

// Resolved config as YAML text (every field, defaults included, docs as comments), and the same
// written atomically (temp file in the same directory, fsync, rename).
template <typename S>
std::string config_to_yaml(S& cfg);
template <typename S>
void write_config(S& cfg, const std::string& path);

// One line per key: "optim.lr  (float in [0, 10], default 0.001)  peak learning rate"; for --help.
template <typename S>
std::string config_reference(S& cfg);

}  // namespace seqmend

#include "io/config_impl.h"
