#include "experiments/run/checkpoint.h"

#include <hdf5.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "core/base/error.h"
#include "io/hdf5_support.h"
#include "io/atomic_file.h"
#include "io/fault_injection.h"
#include "io/config.h"
#include "io/shard_file.h"  // hdf5_mutex

#ifndef SEQMEND_VERSION
#define SEQMEND_VERSION "unknown"
#endif

namespace seqmend {
namespace fs = std::filesystem;
namespace {

constexpr const char* kFormat = "seqmend-checkpoint";
constexpr int64_t kFormatVersion = 1;

using H5Handle = hdf5::Handle;
using H5Quiet = hdf5::Quiet;

template <typename R>
R h5(R result, const std::string& path, const std::string& what) {
  return hdf5::check(result, "checkpoint " + path, what);
}

template <typename T>
hid_t mem_type() {
  return hdf5::native_type<T>();
}
using hdf5::file_type;

// Chunked (fletcher32 needs chunks) with a checksum per chunk; no compression: float weights barely
// compress and a checkpoint must be quick to write inside Slurm's signal grace period.
template <typename T>
void write_dataset(hid_t file, const std::string& name, const T* data, hsize_t n, const std::string& path) {
  const std::string what = "writing dataset '" + name + "'";
  H5Handle space(h5(H5Screate_simple(1, &n, nullptr), path, what), H5Sclose);
  H5Handle dcpl(h5(H5Pcreate(H5P_DATASET_CREATE), path, what), H5Pclose);
  h5(H5Pset_obj_track_times(dcpl, false), path, what);
  if (n > 0) {
    hsize_t chunk = std::min<hsize_t>(n, hsize_t(1) << 20);
    h5(H5Pset_chunk(dcpl, 1, &chunk), path, what);
    h5(H5Pset_fletcher32(dcpl), path, what);
  }
  H5Handle lcpl(h5(H5Pcreate(H5P_LINK_CREATE), path, what), H5Pclose);
  h5(H5Pset_create_intermediate_group(lcpl, 1), path, what);
  H5Handle ds(h5(H5Dcreate2(file, name.c_str(), file_type<T>(), space, lcpl, dcpl, H5P_DEFAULT), path, what),
              H5Dclose);
  if (n > 0) h5(H5Dwrite(ds, mem_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data), path, what);
}

template <typename T>
std::vector<T> read_dataset(hid_t file, const std::string& name, const std::string& path) {
  const std::string what = "reading dataset '" + name + "'";
  htri_t exists = H5Lexists(file, name.substr(0, name.find('/')).c_str(), H5P_DEFAULT);
  if (exists > 0 && name.find('/') != std::string::npos) exists = H5Lexists(file, name.c_str(), H5P_DEFAULT);
  SEQ_CHECK(exists > 0, "checkpoint ", path, ": missing dataset '", name, "' (truncated, or not a checkpoint)");
  H5Handle ds(h5(H5Dopen2(file, name.c_str(), H5P_DEFAULT), path, what), H5Dclose);
  H5Handle space(h5(H5Dget_space(ds), path, what), H5Sclose);
  SEQ_CHECK(h5(H5Sget_simple_extent_ndims(space), path, what) == 1, "checkpoint ", path, ": dataset '", name,
            "' is not one-dimensional");
  hsize_t n = 0;
  h5(H5Sget_simple_extent_dims(space, &n, nullptr), path, what);
  std::vector<T> out(n);
  if (n > 0) h5(H5Dread(ds, mem_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()), path, what);
  return out;
}

// Reads a float dataset of exactly n elements straight into `dst`.
void read_floats_into(hid_t file, const char* name, float* dst, int64_t n, const std::string& path) {
  const std::string what = str("reading dataset '", name, "'");
  SEQ_CHECK(H5Lexists(file, name, H5P_DEFAULT) > 0, "checkpoint ", path, ": missing dataset '", name,
            "' (truncated, or not a checkpoint)");
  H5Handle ds(h5(H5Dopen2(file, name, H5P_DEFAULT), path, what), H5Dclose);
  H5Handle space(h5(H5Dget_space(ds), path, what), H5Sclose);
  hsize_t len = 0;
  SEQ_CHECK(h5(H5Sget_simple_extent_ndims(space), path, what) == 1, "checkpoint ", path, ": '", name,
            "' is not one-dimensional");
  h5(H5Sget_simple_extent_dims(space, &len, nullptr), path, what);
  SEQ_CHECK(int64_t(len) == n, "checkpoint ", path, ": dataset '", name, "' has ", len,
            " floats, this model has ", n, " (a different model?)");
  if (n > 0) h5(H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst), path, what);
}

void put_attr(hid_t obj, const char* name, int64_t v, const std::string& path) {
  hdf5::write_attr(obj, name, v, "checkpoint " + path);
}

void put_attr(hid_t obj, const char* name, const std::string& v, const std::string& path) {
  hdf5::write_attr(obj, name, v, "checkpoint " + path);
}

int64_t read_attr_int(hid_t obj, const char* name, const std::string& path) {
  return hdf5::read_attr_int(obj, name, "checkpoint " + path, "truncated, or not a checkpoint");
}

std::string read_attr_str(hid_t obj, const char* name, const std::string& path) {
  return hdf5::read_attr_str(obj, name, "checkpoint " + path, "truncated, or not a checkpoint");
}

// Everything besides the three flat buffers, in the form it is stored.
struct Tables {
  std::vector<char> names;     // parameter names, each ending in '\0'
  std::vector<int64_t> offset, numel, ndim, dims;  // per parameter; dims concatenated
  std::vector<char> keys;      // counter names, each ending in '\0'
  std::vector<uint64_t> values;
};

Tables tables_of(const ParamBuffer& pb, const TrainingState& st) {
  Tables t;
  for (const auto& e : pb.entries()) {
    t.names.insert(t.names.end(), e.name.begin(), e.name.end());
    t.names.push_back('\0');
    t.offset.push_back(e.offset);
    t.numel.push_back(e.numel);
    t.ndim.push_back(int64_t(e.shape.size()));
    t.dims.insert(t.dims.end(), e.shape.begin(), e.shape.end());
  }
  for (const auto& [k, v] : st.counters) {
    t.keys.insert(t.keys.end(), k.begin(), k.end());
    t.keys.push_back('\0');
    t.values.push_back(v);
  }
  return t;
}

std::vector<std::string> split_names(const std::vector<char>& b) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i < b.size(); ++i)
    if (b[i] == '\0') {
      out.emplace_back(b.data() + start, i - start);
      start = i + 1;
    }
  return out;
}

// CRC-32 over every stored byte that matters, in a fixed order.
class Crc {
 public:
  void add(const void* p, size_t n) {
    const auto* b = static_cast<const Bytef*>(p);
    while (n > 0) {  // zlib takes uInt lengths
      uInt k = uInt(std::min<size_t>(n, size_t(1) << 30));
      crc_ = crc32(crc_, b, k);
      b += k;
      n -= k;
    }
  }
  template <typename T>
  void add(const std::vector<T>& v) {
    add(v.data(), v.size() * sizeof(T));
  }
  void add(const std::string& s) { add(s.data(), s.size() + 1); }  // '\0' separates neighbours
  void add(int64_t v) { add(&v, sizeof v); }
  uint32_t value() const { return uint32_t(crc_); }

 private:
  uLong crc_ = crc32(0L, Z_NULL, 0);
};

uint32_t content_crc(const float* p, const float* m, const float* v, int64_t n, const Tables& t,
                     const TrainingState& st) {
  Crc c;
  c.add(p, size_t(n) * 4);
  c.add(m, size_t(n) * 4);
  c.add(v, size_t(n) * 4);
  c.add(t.names);
  c.add(t.offset);
  c.add(t.numel);
  c.add(t.ndim);
  c.add(t.dims);
  c.add(t.keys);
  c.add(t.values);
  c.add(st.step);
  c.add(st.epoch);
  c.add(st.config_yaml);
  c.add(st.model_yaml);
  c.add(st.version);
  for (const auto& [k, a] : st.arrays) {
    c.add(k);
    c.add(a);
  }
  for (const auto& [k, t] : st.texts) {
    c.add(k);
    c.add(t);
  }
  return c.value();
}

std::string shape_text(const ParamEntry& e) { return str(shape_str(e.shape), " at offset ", e.offset); }

}  // namespace

void CheckpointConfig::visit(ConfigVisitor& v) {
  v.field("every", every, "optimizer steps between checkpoints (0: only on a stop signal and at the end)", 0);
  v.field("keep", keep, "newest checkpoints kept in the run directory", 1);
  v.field("fallback_on_damage", fallback_on_damage,
          "on resume, a damaged newest checkpoint: false = error, true = warn and take the previous one");
  v.field("debug_pause_before_rename_ms", debug_pause_before_rename_ms,
          "test hook: pause between writing a checkpoint's temporary file and renaming it", 0, 600000);
}

void TrainingState::put_rng(const std::string& name, const Rng& r) {
  counters[name + ".key"] = r.key;
  counters[name + ".counter"] = r.counter;
}

Rng TrainingState::get_rng(const std::string& name) const {
  Rng r;
  r.key = counter(name + ".key");
  r.counter = counter(name + ".counter");
  return r;
}

uint64_t TrainingState::counter(const std::string& key) const {
  auto it = counters.find(key);
  SEQ_CHECK(it != counters.end(), "checkpoint state: no counter '", key,
            "' (written by an older seqmend, or by a different stage?)");
  return it->second;
}

void TrainingState::put_double(const std::string& key, double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  counters[key] = bits;
}

double TrainingState::get_double(const std::string& key) const {
  uint64_t bits = counter(key);
  double v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

std::string checkpoint_file_name(int64_t step) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "ckpt-%06lld.h5", static_cast<long long>(step));
  return buf;
}

void write_checkpoint(const std::string& path, ParamBuffer& pb, const TrainingState& st_in,
                      int64_t pause_before_rename_ms) {
  SEQ_CHECK(pb.allocated(), "write_checkpoint ", path, ": parameters not allocated");
  TrainingState st = st_in;
  st.version = SEQMEND_VERSION;
  const int64_t n = pb.numel();
  // Written from host memory: a model on the GPU is staged through host copies.
  const Tensor hp = pb.params().cpu(), hm = pb.adam_m().cpu(), hv = pb.adam_v().cpu();
  const float* p = hp.data<float>();
  const float* m = hm.data<float>();  // zeros before the first optimizer step
  const float* v = hv.data<float>();
  const Tables t = tables_of(pb, st);
  const uint32_t crc = content_crc(p, m, v, n, t, st);

  AtomicFile out(path);
  {
    const std::string& tmp = out.temp_path();
    std::lock_guard<std::mutex> lock(hdf5_mutex());
    H5Quiet quiet;
    H5Handle file(h5(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), tmp, "creating file"),
                  H5Fclose);
    put_attr(file, "format", std::string(kFormat), tmp);
    put_attr(file, "format_version", kFormatVersion, tmp);
    put_attr(file, "seqmend_version", st.version, tmp);
    put_attr(file, "step", st.step, tmp);
    put_attr(file, "epoch", st.epoch, tmp);
    put_attr(file, "config_yaml", st.config_yaml, tmp);
    put_attr(file, "model_yaml", st.model_yaml, tmp);
    put_attr(file, "crc32", int64_t(crc), tmp);
    auto fault_check = [&](FaultOp op) {
      if (fault_point(op, path)) SEQ_FAIL("checkpoint ", fault_message(op, path));
    };
    fault_check(FaultOp::write);
    write_dataset(file, "params", p, hsize_t(n), tmp);
    fault_check(FaultOp::write);
    write_dataset(file, "adam_m", m, hsize_t(n), tmp);
    write_dataset(file, "adam_v", v, hsize_t(n), tmp);
    write_dataset(file, "layout/names", t.names.data(), t.names.size(), tmp);
    write_dataset(file, "layout/offset", t.offset.data(), t.offset.size(), tmp);
    write_dataset(file, "layout/numel", t.numel.data(), t.numel.size(), tmp);
    write_dataset(file, "layout/ndim", t.ndim.data(), t.ndim.size(), tmp);
    write_dataset(file, "layout/dims", t.dims.data(), t.dims.size(), tmp);
    write_dataset(file, "state/keys", t.keys.data(), t.keys.size(), tmp);
    write_dataset(file, "state/values", t.values.data(), t.values.size(), tmp);
    for (const auto& [k, a] : st.arrays) write_dataset(file, "arrays/" + k, a.data(), a.size(), tmp);
    nlohmann::json texts(st.texts);
    put_attr(file, "texts_json", texts.dump(), tmp);
    fault_check(FaultOp::close);
    h5(file.close(), tmp, "closing file");
  }
  if (pause_before_rename_ms > 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_before_rename_ms));
  out.commit();
}

void check_checkpoint_file(const std::string& path) {
  if (!fs::is_regular_file(path)) SEQ_FAIL("checkpoint ", path, ": no such file");
  std::lock_guard<std::mutex> lock(hdf5_mutex());
  H5Quiet quiet;
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    SEQ_FAIL("checkpoint ", path, ": not a seqmend checkpoint (not an HDF5 file)");
  }
  H5Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (file < 0)
    SEQ_FAIL("checkpoint ", path, ": not a readable HDF5 file (truncated or damaged): ", hdf5::error_stack());
  if (H5Aexists(file, "format") <= 0 || read_attr_str(file, "format", path) != kFormat)
    SEQ_FAIL("checkpoint ", path, ": not a seqmend checkpoint (an HDF5 file without format = ", kFormat, ")");
}

TrainingState read_checkpoint(const std::string& path, ParamBuffer& pb) {
  SEQ_CHECK(pb.allocated(), "read_checkpoint ", path, ": parameters not allocated");
  SEQ_CHECK(fs::exists(path), "checkpoint ", path, ": no such file");
  std::lock_guard<std::mutex> lock(hdf5_mutex());
  H5Quiet quiet;
  H5Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (file < 0)
    SEQ_FAIL("checkpoint ", path, ": not a readable HDF5 file (truncated or damaged): ", hdf5::error_stack());
  SEQ_CHECK(read_attr_str(file, "format", path) == kFormat, "checkpoint ", path, ": not a seqmend checkpoint");
  const int64_t fv = read_attr_int(file, "format_version", path);
  SEQ_CHECK(fv == kFormatVersion, "checkpoint ", path, ": format version ", fv, ", this seqmend reads ",
            kFormatVersion);
  TrainingState st;
  st.version = read_attr_str(file, "seqmend_version", path);
  st.step = read_attr_int(file, "step", path);
  st.epoch = read_attr_int(file, "epoch", path);
  st.config_yaml = read_attr_str(file, "config_yaml", path);
  st.model_yaml = read_attr_str(file, "model_yaml", path);
  const uint32_t stored = uint32_t(read_attr_int(file, "crc32", path));

  Tables t;
  t.names = read_dataset<char>(file, "layout/names", path);
  t.offset = read_dataset<int64_t>(file, "layout/offset", path);
  t.numel = read_dataset<int64_t>(file, "layout/numel", path);
  t.ndim = read_dataset<int64_t>(file, "layout/ndim", path);
  t.dims = read_dataset<int64_t>(file, "layout/dims", path);
  t.keys = read_dataset<char>(file, "state/keys", path);
  t.values = read_dataset<uint64_t>(file, "state/values", path);

  // The layout must be this model's, entry by entry, before any bytes land in its buffers.
  const auto names = split_names(t.names);
  const auto& entries = pb.entries();
  SEQ_CHECK(names.size() == t.offset.size() && names.size() == t.numel.size() && names.size() == t.ndim.size(),
            "checkpoint ", path, ": layout tables disagree in length (damaged)");
  size_t d = 0;
  for (size_t i = 0; i < std::max(names.size(), entries.size()); ++i) {
    SEQ_CHECK(i < names.size() && i < entries.size(), "checkpoint ", path, ": holds ", names.size(),
              " parameters, this model has ", entries.size(), " (a different model.* config?)");
    const ParamEntry& e = entries[i];
    SEQ_CHECK(d + size_t(std::max<int64_t>(t.ndim[i], 0)) <= t.dims.size(), "checkpoint ", path,
              ": layout/dims too short (damaged)");
    Shape s(t.dims.begin() + int64_t(d), t.dims.begin() + int64_t(d) + t.ndim[i]);
    d += size_t(t.ndim[i]);
    SEQ_CHECK(names[i] == e.name && s == e.shape && t.offset[i] == e.offset, "checkpoint ", path,
              ": parameter ", i, " is '", names[i], "' ", shape_str(s), " at offset ", t.offset[i],
              " in the file but '", e.name, "' ", shape_text(e), " in this model (a different model.* config?)");
  }
  {
    auto texts = nlohmann::json::parse(read_attr_str(file, "texts_json", path), nullptr, false);
    SEQ_CHECK(texts.is_object(), "checkpoint ", path, ": attribute 'texts_json' is not a JSON object (damaged)");
    for (const auto& [k, v] : texts.items()) {
      SEQ_CHECK(v.is_string(), "checkpoint ", path, ": texts_json['", k, "'] is not a string");
      st.texts[k] = v.get<std::string>();
    }
    if (H5Lexists(file, "arrays", H5P_DEFAULT) > 0) {
      H5Handle g(h5(H5Gopen2(file, "arrays", H5P_DEFAULT), path, "opening group 'arrays'"), H5Gclose);
      H5G_info_t info;
      h5(H5Gget_info(g, &info), path, "listing group 'arrays'");
      for (hsize_t i = 0; i < info.nlinks; ++i) {
        char name[256] = {0};
        h5(H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name, H5P_DEFAULT), path,
           "listing group 'arrays'");
        st.arrays[name] = read_dataset<float>(file, std::string("arrays/") + name, path);
      }
    }
  }
  const auto keys = split_names(t.keys);
  SEQ_CHECK(keys.size() == t.values.size(), "checkpoint ", path, ": state tables disagree in length (damaged)");
  for (size_t i = 0; i < keys.size(); ++i) st.counters[keys[i]] = t.values[i];

  const int64_t n = pb.numel();
  // Read into host memory (the buffers themselves on the CPU), checked, then copied to a GPU model.
  const bool host = pb.params().device() == Device::CPU;
  Tensor hp = host ? pb.params() : Tensor::empty({n}), hm = host ? pb.adam_m() : Tensor::empty({n}),
         hv = host ? pb.adam_v() : Tensor::empty({n});
  float* p = hp.data<float>();
  float* m = hm.data<float>();
  float* v = hv.data<float>();
  read_floats_into(file, "params", p, n, path);
  read_floats_into(file, "adam_m", m, n, path);
  read_floats_into(file, "adam_v", v, n, path);
  const uint32_t actual = content_crc(p, m, v, n, t, st);
  if (actual != stored)
    SEQ_FAIL("checksum mismatch in ", path, ": stored crc32 ", stored, ", contents give ", actual);
  if (!host) {
    const Device dev = pb.params().device();
    copy_bytes(pb.params().raw(), dev, p, Device::CPU, hp.nbytes());
    copy_bytes(pb.adam_m().raw(), dev, m, Device::CPU, hm.nbytes());
    copy_bytes(pb.adam_v().raw(), dev, v, Device::CPU, hv.nbytes());
  }
  return st;
}

std::vector<CheckpointFile> list_checkpoints(const std::string& dir) {
  std::vector<CheckpointFile> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  static const std::regex re(R"(ckpt-(\d+)\.h5)");
  for (const auto& de : fs::directory_iterator(dir, ec)) {
    std::smatch mm;
    const std::string name = de.path().filename().string();
    if (std::regex_match(name, mm, re)) out.push_back({(fs::path(dir) / name).string(), std::stoll(mm[1])});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.step > b.step; });
  return out;
}

Checkpointer::Checkpointer(std::string run_dir, CheckpointConfig cfg, int rank)
    : dir_(std::move(run_dir)), cfg_(cfg), rank_(rank) {}

std::string Checkpointer::save(ParamBuffer& pb, const TrainingState& st) const {
  const std::string path = (fs::path(dir_) / checkpoint_file_name(st.step)).string();
  if (rank_ != 0) return path;
  write_checkpoint(path, pb, st, cfg_.debug_pause_before_rename_ms);
  // The marker is for people and tools (restore lists the directory): it can lag the newest file by
  // one if the process dies here, never point at a torn one.
  write_file_atomic((fs::path(dir_) / "latest").string(), checkpoint_file_name(st.step) + "\n");
  // Files newer than this one are not this run's to prune (restore ignores them: `latest` is older).
  auto files = list_checkpoints(dir_);
  files.erase(std::remove_if(files.begin(), files.end(), [&](const CheckpointFile& c) { return c.step > st.step; }),
              files.end());
  for (size_t i = size_t(std::max<int64_t>(cfg_.keep, 1)); i < files.size(); ++i) {
    std::error_code ec;
    fs::remove(files[i].path, ec);
    if (ec) std::fprintf(stderr, "seqmend: warning: could not remove old checkpoint %s: %s\n",
                         files[i].path.c_str(), ec.message().c_str());
  }
  return path;
}

std::optional<TrainingState> Checkpointer::restore(
    ParamBuffer& pb, const std::string& model_yaml,
    const std::function<std::string(const std::string&)>& as_written_now) const {
  restored_.clear();
  if (rank_ == 0) {  // temporaries of a writer killed mid-write: never complete, never read
    std::error_code ec;
    if (fs::is_directory(dir_, ec))
      for (const auto& de : fs::directory_iterator(dir_, ec)) {
        const std::string name = de.path().filename().string();
        if (name.rfind(".ckpt-", 0) == 0 && name.find(".h5.tmp.") != std::string::npos) fs::remove(de.path(), ec);
      }
  }
  std::vector<CheckpointFile> files = list_checkpoints(dir_);
  // `latest` names this run's newest checkpoint. A newer file than that one was renamed into place
  // by a writer that died before updating the marker, or belongs to another run: never resumed from.
  std::string latest;
  {
    std::ifstream f((fs::path(dir_) / "latest").string());
    std::getline(f, latest);
  }
  const auto named = std::find_if(files.begin(), files.end(),
                                  [&](const CheckpointFile& c) { return fs::path(c.path).filename() == latest; });
  if (named != files.end() && named != files.begin()) {
    if (rank_ == 0)
      for (auto it = files.begin(); it != named; ++it)
        std::fprintf(stderr, "seqmend: warning: ignoring %s, newer than the checkpoint `latest` names (%s)\n",
                     it->path.c_str(), latest.c_str());
    files.erase(files.begin(), named);
  }
  for (size_t i = 0; i < files.size(); ++i) {
    TrainingState st;
    try {
      st = read_checkpoint(files[i].path, pb);
    } catch (const Error& e) {
      const std::string next = i + 1 < files.size() ? files[i + 1].path : std::string();
      if (!cfg_.fallback_on_damage)
        SEQ_FAIL(e.what(), "\nHINT: ",
                 next.empty() ? std::string("there is no older checkpoint; remove the file to start over")
                              : "the previous checkpoint " + next +
                                    " is still there: set checkpoint.fallback_on_damage=true to resume from it");
      if (rank_ == 0) {
        // Out of the listing (kept for inspection), so pruning never keeps it over intact ones.
        std::error_code ec;
        fs::rename(files[i].path, files[i].path + ".damaged", ec);
        std::fprintf(stderr, "seqmend: warning: skipping damaged checkpoint (renamed to %s.damaged): %s\n",
                     files[i].path.c_str(), e.what());
      }
      continue;
    }
    const std::string stored = as_written_now ? as_written_now(st.model_yaml) : st.model_yaml;
    SEQ_CHECK(stored == model_yaml, "checkpoint ", files[i].path,
              ": written for different model hyper-parameters; stored:\n", st.model_yaml, "\nthis run:\n",
              model_yaml);
    restored_ = files[i].path;
    return st;
  }
  if (!files.empty())
    SEQ_FAIL("resume: no intact checkpoint in ", dir_, " (", files.size(), " damaged ones)");
  return std::nullopt;
}

void truncate_metrics_after(const std::string& path, int64_t step) {
  std::ifstream in(path);
  if (!in) return;
  std::string line, kept;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    // A torn last line (the process died mid-write) is dropped with the steps after the checkpoint.
    if (j.is_discarded()) continue;
    if (j.is_object() && j.contains("step") && j["step"].is_number_integer() && j["step"].get<int64_t>() > step)
      continue;
    kept += line;
    kept += '\n';
  }
  write_file_atomic(path, kept);
}

}  // namespace seqmend
