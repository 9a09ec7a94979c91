// `seqmend run FILE`: the whole pipeline in one run directory, one subdirectory per stage:
//
//   run_dir: runs/quickstart
//   data: simulate            # or ingest: which stage makes the data
//   simulate: {...}           # SimulateConfig (experiments/cli/simulate_stage.h); output paths are set here
//   ingest: {...}             # IngestOptions (io/ingest_options.h)
//   corrupt: {...}            # with data: ingest only: CorruptConfig (experiments/cli/corrupt_stage.h); the
//                             # data stage then ingests to data/ingest and writes the corrupted set,
//                             # clean/ and repair_truth.tsv to data/set, as simulate does
//   pretrain: {...}           # PretrainConfig without data_dir/run_dir
//   finetune: {...}           # the detector stage's config without data_dir/run_dir/encoder_checkpoint
//   detect: {...}             # scores every split of the data (detect/<split>/)
//   repair: {...}             # RepairStageConfig without the paths (experiments/cli/repair_stage.h)
//   evaluate: {...}           # EvaluateConfig without the paths (experiments/cli/evaluate_stage.h)
//
// Order: data → pretrain → finetune → detect → repair → evaluate → report. Before running a stage,
// its section is written to <stage>/section.yaml (the corrupt section to data/corrupt.yaml) and
// resolved by the stage's own config struct (so errors name that file, line and key); the stage's
// key is a hash of that resolved config (both sections for ingest + corrupt) and of the keys of the
// stages it reads from. <stage>/done.json holds the key after a stage succeeds: a stage
// whose key matches is skipped on a re-run, a changed config re-runs it and everything after it.
//
// Stopping and resuming (a Slurm job signalled before its time limit and requeued, a sweep stopping
// its points): SIGUSR1 or SIGTERM makes a training stage (pretrain, finetune, evaluate) checkpoint
// at its next step boundary and end; any other stage runs to its end. Either way no later stage
// starts, the stopped stage gets no done.json, and `seqmend run` exits 75. <stage>/started.json
// holds the key a stage was last started under: run again with that key (the same file and
// inputs), the finished stages are skipped and the stopped one resumes from its newest checkpoint
// (evaluate: its finished trainings are kept, the stopped one resumes), giving the numbers an
// uninterrupted run gives. A changed key or --force starts the stage afresh.
//
// Under mpirun: every rank reads the file and computes the keys; rank 0 alone runs the
// single-process stages (data, report) while the others wait; pretrain, finetune, detect, repair
// and evaluate run on all ranks. Ranks agree after every stage (a failure on one ends all of them
// with the same message).
//
// The stages themselves are in experiments/cli/pipeline_stages.h.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace seqmend {

class DataParallelGroup;

// The stage names in pipeline order ("data" is simulate or ingest, by the file's `data` key).
const std::vector<std::string>& pipeline_stage_order();

struct PipelineSpec {
  std::string file;                              // the pipeline YAML
  std::string run_dir;
  std::string data = "simulate";                 // simulate | ingest
  std::map<std::string, std::string> sections;   // stage name → its section as YAML text
};

// Reads and checks the top level (known keys only, run_dir required, data in {simulate, ingest}, a
// corrupt section only with data: ingest).
PipelineSpec read_pipeline_spec(const std::string& path);

// What a stage function gets. `dir` exists; `config_file` is <dir>/section.yaml (the stage's section
// of the pipeline file). Paths of earlier stages: `stage_dirs` (name → directory; "data" included).
struct StageContext {
  std::string name;
  std::string dir;
  std::string config_file;
  std::string run_dir;
  std::map<std::string, std::string> stage_dirs;
  DataParallelGroup* group = nullptr;
  int rank = 0;
  int world = 1;
  // This stage was started before under the same key and did not finish (stopped, killed or
  // failed): a training stage resumes from its checkpoints where it has any.
  bool resume = false;
};

// A stage in two parts: `resolve` returns the resolved config as YAML (cheap; every rank calls it,
// its text enters the stage key), `run` does the work and returns a summary kept in done.json.
// `all_ranks`: run on every rank (collective stages); otherwise rank 0 alone.
struct PipelineStage {
  std::function<std::string(const StageContext&)> resolve;
  std::function<nlohmann::json(const StageContext&)> run;
  bool all_ranks = false;
  // Files under the stage directory (relative) whose CRC-32 goes into done.json's `outputs`, so a
  // later stage's key changes when this stage's results change.
  std::vector<std::string> outputs;
};

struct PipelineOptions {
  bool force = false;             // run every stage even when its key matches
  std::string stop_after;         // "" = all stages; else the last stage to run
};

// Runs the pipeline; returns {"stages": [{name, dir, key, skipped, seconds, summary}...]}
// (the same on every rank), with "stopped": <stage> when a stop signal ended it in or before that
// stage (the stage's entry then has "stopped": true, if it ran). A run that options.stop_after
// ended before the report stage writes report.partial.md of the stages that ran (report.h) and
// names it in "partial_report". Throws seqmend::Error naming the stage that failed.
nlohmann::json run_pipeline(const PipelineSpec& spec, DataParallelGroup& group, const PipelineOptions& options = {});

// Resolves every stage's config as run_pipeline would, running nothing: the section files are laid
// out under `scratch_dir` (created, left for the caller to remove). Throws the first error, naming
// the stage. `seqmend sweep` checks every point's pipeline before any point starts.
void check_pipeline_configs(const PipelineSpec& spec, const std::string& scratch_dir);

// A stable 64-bit FNV-1a hash of `bytes`, as 16 hex digits (stage keys).
std::string stage_key_hash(const std::string& bytes);

}  // namespace seqmend
