#include "experiments/detect/detector_checkpoint.h"

#include <cstring>
#include <filesystem>
#include <limits>

#include "core/base/error.h"
#include "experiments/run/checkpoint.h"
#include "io/config.h"
#include "io/file_checksum.h"

namespace seqmend {

namespace fs = std::filesystem;

ModelConfig model_config_from_run_config(const std::string& config_yaml_path) {
  return load_config_section<ModelConfig>(config_yaml_path, "model");
}

std::string resolve_encoder_checkpoint(const std::string& path) {
  std::error_code ec;
  SEQ_CHECK(fs::exists(path, ec), "encoder_checkpoint '", path, "' does not exist");
  if (!fs::is_directory(path, ec)) return path;
  auto list = list_checkpoints(path);
  SEQ_CHECK(!list.empty(), "encoder_checkpoint: no checkpoint in run directory '", path,
            "'. HINT: pretrain with checkpoint.every=N so that it leaves ckpt-*.h5 files");
  return list.front().path;
}

uint32_t load_encoder_checkpoint(ItemTransformer& encoder, const std::string& file, bool best) {
  TrainingState st = read_checkpoint(file, encoder.params());
  auto it = st.arrays.find("best_params");
  if (best && it != st.arrays.end()) {
    Tensor& p = encoder.params().params();
    SEQ_CHECK(int64_t(it->second.size()) == p.numel(), "encoder checkpoint '", file, "': best_params has ",
              it->second.size(), " floats, the model ", p.numel());
    copy_bytes(p.raw(), p.device(), it->second.data(), Device::CPU, sizeof(float) * it->second.size());
  }
  return file_crc32(file);
}

ParamBuffer detector_param_layout(Detector& det) {
  ParamBuffer pb;
  for (const ParamEntry& e : det.encoder().params().entries()) pb.add("encoder." + e.name, e.shape, e.init, e.decay);
  for (const ParamEntry& e : det.heads().params().entries()) pb.add("heads." + e.name, e.shape, e.init, e.decay);
  pb.allocate(Device::CPU);
  return pb;
}

void copy_detector_part(ParamBuffer& whole, ParamBuffer& part, const std::string& prefix, bool moments,
                        bool into_part) {
  auto copy = [&](Tensor& w, Tensor& p) {
    for (const ParamEntry& e : part.entries()) {
      const Tensor a = whole.view(w, prefix + e.name), b = part.view(p, e.name);
      const size_t bytes = sizeof(float) * size_t(e.numel);
      if (into_part)
        copy_bytes(b.raw(), b.device(), a.raw(), a.device(), bytes);
      else
        copy_bytes(a.raw(), a.device(), b.raw(), b.device(), bytes);
    }
  };
  copy(whole.params(), part.params());
  if (moments) {
    copy(whole.adam_m(), part.adam_m());
    copy(whole.adam_v(), part.adam_v());
  }
}

void write_detector_checkpoint(const std::string& path, Detector& det, const DetectorCheckpoint& info) {
  ParamBuffer pb = detector_param_layout(det);
  copy_detector_part(pb, det.encoder().params(), "encoder.", false, false);
  copy_detector_part(pb, det.heads().params(), "heads.", false, false);
  TrainingState st;
  st.step = info.step;
  st.texts["finetune_config"] = info.finetune_yaml;
  st.texts["thresholds"] = info.thresholds.to_json().dump();
  st.texts["calibration"] = info.calibration.dump();
  st.texts["fusion"] = info.fusion.to_json().dump();
  st.texts["encoder_checkpoint"] = info.encoder_checkpoint;
  st.counters["encoder_crc32"] = info.encoder_crc32;
  ModelConfig mc = det.encoder().config();
  st.model_yaml = config_to_yaml(mc);
  DetectorConfig dc = det.config();
  st.config_yaml = config_to_yaml(dc);
  write_checkpoint(path, pb, st);  // atomic, CRC-32 over every dataset and the state
}

static double threshold_of(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return std::numeric_limits<double>::infinity();
  return j[key].get<double>();
}

DetectorCheckpoint read_detector_checkpoint(const std::string& path, Detector& det) {
  ParamBuffer pb = detector_param_layout(det);
  TrainingState st = read_checkpoint(path, pb);
  copy_detector_part(pb, det.encoder().params(), "encoder.", false, true);
  copy_detector_part(pb, det.heads().params(), "heads.", false, true);
  DetectorCheckpoint info;
  info.step = st.step;
  auto text = [&](const char* k) { return st.texts.count(k) ? st.texts.at(k) : std::string(); };
  info.finetune_yaml = text("finetune_config");
  info.encoder_checkpoint = text("encoder_checkpoint");
  info.encoder_crc32 = uint32_t(st.counters.count("encoder_crc32") ? st.counters.at("encoder_crc32") : 0);
  const std::string th = text("thresholds");
  SEQ_CHECK(!th.empty(), "detector checkpoint '", path, "' has no thresholds");
  const auto j = nlohmann::json::parse(th);
  info.thresholds.event = threshold_of(j, "event");
  info.thresholds.gap = threshold_of(j, "gap");
  info.thresholds.sequence = threshold_of(j, "sequence");
  const std::string cal = text("calibration");
  if (!cal.empty()) info.calibration = nlohmann::json::parse(cal);
  const std::string fusion = text("fusion");
  if (!fusion.empty()) info.fusion = ScoreFusion::from_json(nlohmann::json::parse(fusion));
  return info;
}

LoadedDetector load_detector(const std::string& path_in, Device dev) {
  std::string path = path_in;
  std::error_code ec;
  if (fs::is_directory(path, ec)) path = (fs::path(path) / "detector.h5").string();
  SEQ_CHECK(fs::exists(path, ec), "detector checkpoint '", path, "' does not exist");
  const std::string cfg_path = (fs::path(path).parent_path() / "config.yaml").string();
  SEQ_CHECK(fs::exists(cfg_path, ec), "detector checkpoint '", path, "': no config.yaml beside it (", cfg_path,
            ") to take the model shape from");
  ModelConfig mc = model_config_from_run_config(cfg_path);
  DetectorConfig dc = load_config_section<DetectorConfig>(cfg_path, "detector");
  LoadedDetector out;
  out.detector = std::make_unique<Detector>(mc, dc, dev);
  out.info = read_detector_checkpoint(path, *out.detector);
  return out;
}

}  // namespace seqmend
