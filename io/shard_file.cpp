#include "io/shard_file.h"

#include <hdf5.h>

#include <algorithm>
#include <type_traits>

#include "core/base/error.h"
#include "io/fault_injection.h"
#include "io/hdf5_support.h"

namespace seqmend {
namespace {

using H5Handle = hdf5::Handle;
using H5Quiet = hdf5::Quiet;
using hdf5::file_type;
using hdf5::native_type;

template <typename R>
R h5(R result, const std::string& path, const std::string& what) {
  return hdf5::check(result, path, what);
}

// The fault points of an HDF5 file we write: each dataset, the final flush and the close.
void fault_check(FaultOp op, const std::string& path) {
  if (fault_point(op, path)) SEQ_FAIL(path, ": ", fault_message(op, path));
}

template <typename T>
void write_dataset(hid_t file, const char* name, const std::vector<T>& data, const ShardOptions& o,
                   const std::string& path) {
  const std::string what = str("writing dataset '", name, "'");
  hsize_t n = data.size();
  H5Handle space(h5(H5Screate_simple(1, &n, nullptr), path, what), H5Sclose);
  H5Handle dcpl(h5(H5Pcreate(H5P_DATASET_CREATE), path, what), H5Pclose);
  // No modification times: the same data gives the same bytes, hence the same checksum.
  h5(H5Pset_obj_track_times(dcpl, false), path, what);
  // Filters need chunks, and a zero-length dataset has none to damage: it stays contiguous.
  if (n > 0) {
    hsize_t chunk = std::min<hsize_t>(n, hsize_t(std::max<int64_t>(1, o.chunk_elements)));
    h5(H5Pset_chunk(dcpl, 1, &chunk), path, what);
    h5(H5Pset_shuffle(dcpl), path, what);
    h5(H5Pset_deflate(dcpl, unsigned(std::clamp(o.compression_level, 1, 9))), path, what);
    h5(H5Pset_fletcher32(dcpl), path, what);  // last, so it checks the bytes as stored
  }
  H5Handle ds(h5(H5Dcreate2(file, name, file_type<T>(), space, H5P_DEFAULT, dcpl, H5P_DEFAULT), path, what),
              H5Dclose);
  if (n > 0) h5(H5Dwrite(ds, native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()), path, what);
}

using hdf5::write_attr;

int64_t read_attr_int(hid_t obj, const char* name, const std::string& path) {
  return hdf5::read_attr_int(obj, name, path, "not a seqmend shard?");
}

std::string read_attr_str(hid_t obj, const char* name, const std::string& path) {
  return hdf5::read_attr_str(obj, name, path, "not a seqmend shard?");
}

bool has_dataset(hid_t file, const char* name, const std::string& path) {
  return h5(H5Lexists(file, name, H5P_DEFAULT), path, str("looking for dataset '", name, "'")) > 0;
}

template <typename T>
void read_dataset(hid_t file, const char* name, int64_t expected_len, std::vector<T>& out, const std::string& path) {
  const std::string what = str("reading dataset '", name, "'");
  SEQ_CHECK(has_dataset(file, name, path), path, ": missing dataset '", name, "'");
  H5Handle ds(h5(H5Dopen2(file, name, H5P_DEFAULT), path, what), H5Dclose);
  H5Handle type(h5(H5Dget_type(ds), path, what), H5Tclose);
  SEQ_CHECK(H5Tget_class(type) == H5T_INTEGER && H5Tget_size(type) == sizeof(T), path, ": dataset '", name,
            "' should be a ", sizeof(T) * 8, "-bit integer, found a different type of ", H5Tget_size(type),
            " bytes");
  H5Handle space(h5(H5Dget_space(ds), path, what), H5Sclose);
  int rank = h5(H5Sget_simple_extent_ndims(space), path, what);
  SEQ_CHECK(rank == 1, path, ": dataset '", name, "' has ", rank, " dimensions, expected 1");
  hsize_t n = 0;
  h5(H5Sget_simple_extent_dims(space, &n, nullptr), path, what);
  SEQ_CHECK(int64_t(n) == expected_len, path, ": dataset '", name, "' has ", n, " entries, expected ",
            expected_len);
  out.resize(n);
  if (n > 0) h5(H5Dread(ds, native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()), path, what);
}

}  // namespace

std::mutex& hdf5_mutex() {
  static std::mutex m;
  return m;
}

std::vector<std::string> ShardColumns::names() const {
  std::vector<std::string> n{"offsets", "item", "user"};
  if (timestamp) n.push_back("timestamp");
  if (action) n.push_back("action");
  if (label) n.push_back("label");
  if (seq_label) n.push_back("seq_label");
  return n;
}

ShardColumns ShardColumns::from_names(const std::vector<std::string>& names, const std::string& where) {
  ShardColumns c;
  bool offsets = false, item = false, user = false;
  for (const auto& n : names) {
    if (n == "offsets") offsets = true;
    else if (n == "item") item = true;
    else if (n == "user") user = true;
    else if (n == "timestamp") c.timestamp = true;
    else if (n == "action") c.action = true;
    else if (n == "label") c.label = true;
    else if (n == "seq_label") c.seq_label = true;
    else SEQ_FAIL(where, ": unknown column '", n, "' (known: offsets item user timestamp action label seq_label)");
  }
  SEQ_CHECK(offsets && item && user, where, ": columns must include offsets, item and user");
  return c;
}

ShardColumns ShardColumns::of(const SequenceSet& s) {
  return {s.has_timestamps(), s.has_actions(), s.has_labels(), !s.seq_label.empty()};
}

void append_sequences(SequenceSet& dst, const SequenceSet& src, int64_t begin, int64_t end) {
  if (begin >= end) return;
  const int64_t e0 = src.offsets[size_t(begin)], e1 = src.offsets[size_t(end)];
  const int64_t base = dst.offsets.back() - e0;
  for (int64_t s = begin + 1; s <= end; ++s) dst.offsets.push_back(base + src.offsets[size_t(s)]);
  auto events = [&](auto& d, const auto& v) {
    if (!v.empty()) d.insert(d.end(), v.begin() + e0, v.begin() + e1);
  };
  auto seqs = [&](auto& d, const auto& v) {
    if (!v.empty()) d.insert(d.end(), v.begin() + begin, v.begin() + end);
  };
  events(dst.item, src.item);
  events(dst.timestamp, src.timestamp);
  events(dst.action, src.action);
  events(dst.label, src.label);
  seqs(dst.user, src.user);
  seqs(dst.seq_label, src.seq_label);
}

void write_shard_file(const std::string& path, const SequenceSet& s, const ShardIdentity& id,
                      const ShardOptions& options, bool fail_midway) {
  std::lock_guard<std::mutex> lock(hdf5_mutex());
  H5Quiet quiet;
  SEQ_CHECK(H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0, path, ": this HDF5 library has no deflate filter");
  H5Handle file(h5(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), path, "creating file"),
                H5Fclose);
  write_attr(file, "format", std::string("seqmend-shard"), path);
  write_attr(file, "format_version", int64_t(kShardFormatVersion), path);
  write_attr(file, "split", id.split, path);
  write_attr(file, "shard_index", id.index, path);
  write_attr(file, "num_sequences", s.num_sequences(), path);
  write_attr(file, "num_events", s.num_events(), path);
  write_attr(file, "num_items", id.num_items, path);
  fault_check(FaultOp::write, path);
  write_dataset(file, "offsets", s.offsets, options, path);
  fault_check(FaultOp::write, path);
  write_dataset(file, "item", s.item, options, path);
  if (fail_midway) SEQ_FAIL(path, ": simulated failure while writing the shard (ShardOptions::fail_in_shard)");
  fault_check(FaultOp::write, path);
  write_dataset(file, "user", s.user, options, path);
  if (id.columns.timestamp) write_dataset(file, "timestamp", s.timestamp, options, path);
  if (id.columns.action) write_dataset(file, "action", s.action, options, path);
  if (id.columns.label) write_dataset(file, "label", s.label, options, path);
  if (id.columns.seq_label) write_dataset(file, "seq_label", s.seq_label, options, path);
  fault_check(FaultOp::fsync, path);
  h5(H5Fflush(file, H5F_SCOPE_LOCAL), path, "flushing");
  fault_check(FaultOp::close, path);
  h5(file.close(), path, "closing");
}

namespace {

// Checks the attributes that say which shard `file` is against the manifest's `id`.
void check_shard_identity(hid_t file, const ShardIdentity& id, const std::string& path) {
  int64_t version = read_attr_int(file, "format_version", path);
  SEQ_CHECK(version == kShardFormatVersion, path, ": format version ", version, ", expected ",
            kShardFormatVersion, " (HINT: rewrite the shard set with this seqmend version)");
  std::string split = read_attr_str(file, "split", path);
  SEQ_CHECK(split == id.split, path, ": shard belongs to split '", split, "', the manifest lists it under '",
            id.split, "'");
  int64_t index = read_attr_int(file, "shard_index", path);
  SEQ_CHECK(index == id.index, path, ": shard index ", index, ", the manifest lists it as ", id.index);
  int64_t n = read_attr_int(file, "num_sequences", path), e = read_attr_int(file, "num_events", path);
  SEQ_CHECK(n == id.sequences && e == id.events, path, ": shard holds ", n, " sequences / ", e,
            " events, the manifest says ", id.sequences, " / ", id.events);
}

void check_offsets_span(const std::vector<int64_t>& offsets, const ShardIdentity& id, const std::string& path) {
  SEQ_CHECK(offsets.front() == 0 && offsets.back() == id.events, path, ": offsets run from ", offsets.front(),
            " to ", offsets.back(), ", expected 0 to ", id.events);
}

}  // namespace

std::vector<int64_t> read_shard_offsets(const std::string& path, const ShardIdentity& id) {
  std::vector<int64_t> offsets;
  {
    std::lock_guard<std::mutex> lock(hdf5_mutex());
    H5Quiet quiet;
    H5Handle file(h5(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), path, "opening shard"), H5Fclose);
    check_shard_identity(file, id, path);
    read_dataset(file, "offsets", id.sequences + 1, offsets, path);
  }
  check_offsets_span(offsets, id, path);
  for (size_t i = 1; i < offsets.size(); ++i)
    SEQ_CHECK(offsets[i] >= offsets[i - 1], path, ": offsets decrease at sequence ", i - 1, " (", offsets[i - 1],
              " then ", offsets[i], ")");
  return offsets;
}

SequenceSet read_shard_file(const std::string& path, const ShardIdentity& id) {
  SequenceSet s;
  {
    std::lock_guard<std::mutex> lock(hdf5_mutex());
    H5Quiet quiet;
    H5Handle file(h5(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), path, "opening shard"), H5Fclose);
    check_shard_identity(file, id, path);
    const int64_t n = id.sequences, e = id.events;
    const ShardColumns& c = id.columns;
    for (auto [name, want] : {std::pair{"timestamp", c.timestamp}, std::pair{"action", c.action},
                              std::pair{"label", c.label}, std::pair{"seq_label", c.seq_label}})
      SEQ_CHECK(has_dataset(file, name, path) == want, path, ": column '", name, "' is ",
                want ? "missing" : "present", " but the manifest says it is ", want ? "stored" : "not stored");
    read_dataset(file, "offsets", n + 1, s.offsets, path);
    read_dataset(file, "item", e, s.item, path);
    read_dataset(file, "user", n, s.user, path);
    if (c.timestamp) read_dataset(file, "timestamp", e, s.timestamp, path);
    if (c.action) read_dataset(file, "action", e, s.action, path);
    if (c.label) read_dataset(file, "label", e, s.label, path);
    if (c.seq_label) read_dataset(file, "seq_label", n, s.seq_label, path);
  }
  check_offsets_span(s.offsets, id, path);
  try {
    s.validate(id.num_items);
  } catch (const Error& err) {
    SEQ_FAIL(path, ": ", err.what());
  }
  if (id.num_users > 0)
    for (size_t i = 0; i < s.user.size(); ++i)
      SEQ_CHECK(s.user[i] >= 0 && s.user[i] < id.num_users, path, ": sequence ", i, " has user id ", s.user[i],
                " outside [0, ", id.num_users, ")");
  return s;
}

}  // namespace seqmend
