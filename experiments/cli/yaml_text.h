// YAML written back as it was read. yaml-cpp's emitter drops the quotes of a quoted scalar ("0.1"
// becomes 0.1, 'yes' becomes yes), which turns a string into a number or a bool for the config
// reader (io/config.h: a quoted scalar is a string); the sweep's overrides and the point pipeline
// files go through these instead.
#pragma once

#include <string>

#include <yaml-cpp/yaml.h>

namespace seqmend {

// Whether the scalar was quoted (or tagged !!str) in its file.
bool yaml_quoted(const YAML::Node& n);

// A value as one line of YAML (scalars as read, sequences and mappings in flow style); `in_flow`:
// inside a flow collection, where a plain `a,b` would split.
std::string yaml_value_text(const YAML::Node& n, bool in_flow = false);

// A mapping as block YAML, nested mappings indented, other values as yaml_value_text.
std::string yaml_block_text(const YAML::Node& map);

// Sets root[a][b]...[z] = value for the dotted key "a.b.z", creating the mappings on the way (a
// non-mapping on the way is replaced).
void yaml_set_dotted(YAML::Node& root, const std::string& dotted, const YAML::Node& value);

}  // namespace seqmend
