// The pipeline's stages (experiments/cli/pipeline.h), one adapter per stage: each
// reads its section file with the stage's own config struct and sets the paths the pipeline owns.
#pragma once

#include "experiments/cli/pipeline.h"

namespace seqmend {

PipelineStage simulate_pipeline_stage();  // data/: SimulateConfig → the corrupted set, clean/, repair_truth.tsv
PipelineStage ingest_pipeline_stage();    // data/: IngestOptions → a shard set
// data/: IngestOptions → data/ingest, then CorruptConfig (the `corrupt:` section) → the corrupted set,
// clean/, repair_truth.tsv in data/set, as simulate_pipeline_stage writes them.
PipelineStage ingest_corrupt_pipeline_stage();
PipelineStage pretrain_pipeline_stage();  // pretrain/: PretrainConfig on data/, checkpoint at the end
PipelineStage finetune_pipeline_stage();  // finetune/run: the detector on pretrain/run
PipelineStage detect_pipeline_stage();    // detect/<split>/: scores.h5 (+ detection.json) of every split
PipelineStage repair_pipeline_stage();    // repair/set: data/set repaired with detect/<split>/scores.h5
// audit/audit.json: detection and repair graded against the truth (data/set.truth when the data stage
// hid it, else data/set's own labels); the first stage allowed to open data/set.truth.
PipelineStage audit_pipeline_stage();
PipelineStage evaluate_pipeline_stage();  // evaluate/run: raw vs repaired vs clean recommender
PipelineStage report_pipeline_stage();    // report.md, report.json, plots/ in the run directory

// Where a stage finds the data stage's shard set (data/set; the data dir itself holds the stage's
// bookkeeping files).
std::string pipeline_data_set(const StageContext& ctx);

// Where the data stage keeps the truth when its config hides it (data/set.truth).
std::string pipeline_truth_dir(const StageContext& ctx);

// The file holding the pipeline's `corrupt:` section, in the data stage's directory.
std::string pipeline_corrupt_section(const std::string& data_stage_dir);

}  // namespace seqmend
