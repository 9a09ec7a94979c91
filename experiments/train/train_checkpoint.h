// Checkpoints and resume for the training loop (experiments/train/trainer.h), whatever its
// objective: which parts of a run go into a checkpoint (experiments/run/checkpoint.h) and when they
// are written.
//
//   Trainer trainer(cfg, comm, &run);          // or Trainer(objective, loop, comm, &run)
//   TrainCheckpoints ckpts(trainer, run, *group, cfg.checkpoint);
//   if (cfg.resume) ckpts.resume();   // every rank loads the newest checkpoint of run_dir
//   ckpts.install();                  // saves every checkpoint.every steps and after the last one
//   auto results = trainer.run();     // results.json written after that last checkpoint
//   if (results["stopped"]) { ckpts.save_now(); return kExitStoppedForRequeue; }
//
// What is saved: the objective's checkpoint_buffer() (parameters and AdamW moments), LoopProgress
// (step, evaluation and early-stopping record, best parameters, time and token totals), and the
// data position. The loader's order, the masks, the injected anomalies and the dropout are pure
// functions of (seed, step), so the step plus a check that seed, global batch and data are
// unchanged fix the data stream exactly.
#pragma once

#include <cstdint>
#include <string>

#include "experiments/run/checkpoint.h"

namespace seqmend {

class DataParallelGroup;
class RunDir;
class ShardSet;
class Trainer;

// The trainer's state as a checkpoint holds it, and back. apply_* throws naming the key when the
// checkpoint's data position does not fit this run (a different seed or global batch size).
TrainingState training_state(Trainer& t);
void apply_training_state(Trainer& t, const TrainingState& st, const std::string& from);

// Which training data: FNV-1a over the train shards' CRC-32s and sizes (the manifest's record of
// their bytes), so a resume on other data with the same sample count is refused too.
uint64_t train_split_fingerprint(const ShardSet& set);

// A start without resume into `run_dir`: another run's checkpoints, `latest`, metrics.jsonl or
// results.json there would mix with this run's (metrics appended to the other's, a later --resume
// from the other run's checkpoint, pruning that deletes this run's own). Refused, naming what is
// there, unless `overwrite`, which removes them (rank 0) first. Every rank looks: a refusal is
// unanimous on a shared directory, and with overwrite nobody refuses. `stage` prefixes messages.
void claim_run_dir(const std::string& run_dir, bool overwrite, int rank, const std::string& stage = "pretrain");

class TrainCheckpoints {
 public:
  TrainCheckpoints(Trainer& t, RunDir& run, DataParallelGroup& group, const CheckpointConfig& cfg);

  // Collective. Loads the newest checkpoint of the run directory (none: a fresh start, said on
  // stdout) and cuts metrics.jsonl back to the restored step, so the repeated steps are logged
  // once. Returns the restored step, or -1.
  int64_t resume();
  // Installs the trainer's hooks: a checkpoint every `checkpoint.every` steps, and one after the
  // last step before results.json is written (a failing write leaves no results claiming it).
  void install();
  // Collective: rank 0 writes the checkpoint of the current step (unless it was just written or
  // restored); every rank waits for it, so no rank exits while rank 0 is still writing.
  void save_now();

 private:
  Trainer& t_;
  RunDir& run_;
  DataParallelGroup& group_;
  Checkpointer ckpt_;
  int64_t last_saved_ = -1;
};

}  // namespace seqmend
