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
// Errors name the key path (optim.lr), the file and line:column of the value, and for a misspelt
// key the nearest valid name.
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
  virtual void field(const char* key, std::vector<int64_t>& x, const char* doc) = 0;
  virtual void field(const char* key, std::vector<double>& x, const char* doc) = 0;
  virtual void field(const char* key, std::vector<std::string>& x, const char* doc) = 0;
  virtual void choice(const char* key, std::string& x, std::initializer_list<const char*> choices,
                      const char* doc) = 0;

  // Narrower numeric types go through the wide ones (range-checked into the narrow type too).
  void field(const char* key, int& x, const char* doc, int64_t lo = std::numeric_limits<int>::min(),
             int64_t hi = std::numeric_limits<int>::max());
  void field(const char* key, float& x, const char* doc,
             double lo = -std::numeric_limits<float>::max(), double hi = std::numeric_limits<float>::max());
  void field(const char* key, uint64_t& x, const char* doc);

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
};

// Reads `path` (may be empty: defaults only) then applies `overrides` ("a.b=value", YAML scalars or
// flow sequences), validating everything against the struct's visit description. Throws
// seqmend::Error with key path, file:line:column and suggestions.
template <typename S>
S load_config(const std::string& path, const std::vector<std::string>& overrides = {});

// Resolved config as YAML text (every field, defaults included), and the same written atomically.
template <typename S>
std::string config_to_yaml(S& cfg);
template <typename S>
void write_config(S& cfg, const std::string& path);

}  // namespace seqmend

#include "io/config_impl.h"
