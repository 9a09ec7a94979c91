// The edit log of a repair: one row per change, enough to undo the repair exactly
// (experiments/repair/repair.h, undo_repair). Stored next to a repaired shard set as DIR/edits.csv (see
// io/FORMAT.md, "Repaired shard sets"), one file for all splits:
//
//   split,sequence,user,position,op,old_item,new_item,old_timestamp,new_timestamp,old_action,
//   new_action,old_label,score,probability
//
// Rows are ordered by split (as written), sequence, position; at one position an insert comes
// before the delete/replace of the event it precedes.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace seqmend {

enum class EditOp : int8_t {
  kDelete = 0,      // the event at `position` was removed (its columns are in old_*)
  kReplace = 1,     // the event at `position` now has new_item (timestamp, action, label kept)
  kInsert = 2,      // new_item was inserted just before the event at `position` (a backfilled gap)
  kQuarantine = 3,  // the whole sequence moved to the quarantine set (position -1, items 0)
};
const char* edit_op_name(EditOp op);
EditOp parse_edit_op(const std::string& name);  // throws naming the bad value

struct Edit {
  int64_t sequence = 0;  // index of the sequence in the input split
  int64_t user = 0;      // its user id (remapped, as in the shards)
  int64_t position = 0;  // event position in the input sequence (see EditOp); -1 for quarantine
  EditOp op = EditOp::kDelete;
  int32_t old_item = 0;        // delete, replace
  int32_t new_item = 0;        // replace, insert
  int64_t old_timestamp = 0;   // delete (0 when the set has no timestamps)
  int64_t new_timestamp = 0;   // insert
  int8_t old_action = 0;       // delete
  int8_t new_action = 0;       // insert
  int8_t old_label = 0;        // delete
  float score = 0;             // the detector score that triggered the edit
  float probability = 0;       // the predictor's probability for new_item (replace, insert)

  bool operator==(const Edit&) const = default;
};

// Edits per split name.
using EditLog = std::map<std::string, std::vector<Edit>>;

std::string edit_log_csv(const EditLog& log);
// Parses edit_log_csv's output; errors name the file (`what`), the line and the bad field.
EditLog parse_edit_log_csv(const std::string& text, const std::string& what = "edits.csv");
// Reads and parses the file at `path` (errors name it).
EditLog read_edit_log(const std::string& path);

}  // namespace seqmend
