// A directory that appears whole or not at all, written by one writer at a time: shard sets,
// corrupted and repaired sets, anything a reader must never see half-made.
//
//   PublishedDir out("runs/x/set", {.overwrite = false, .what = "ingest"});
//   write everything under out.path()     // a fresh hidden sibling, "runs/x/.set.tmp-<pid>-<n>"
//   out.commit();                         // fsync the tree, swap it into place, fsync the parent
//
// One writer: an exclusive flock on the sibling ".set.lock" (kept, it holds the writer's pid),
// taken in the constructor and held until destruction; a second writer fails at once with "'DIR'
// is being written by pid N". Leftovers of a writer that died (temporary siblings) are removed by
// the next one, which says so on stderr.
// An existing DIR: empty, it is replaced; not empty, it is an error unless `overwrite`, and then it
// stays whole until the new tree is complete: renameat2(RENAME_EXCHANGE) swaps the two atomically
// and the old tree is removed after. Where the file system cannot exchange, the old tree is renamed
// aside to ".set.old-<pid>-<n>" first; a crash between the two renames leaves it there, and the next
// writer puts it back before anything else.
// Destroying an uncommitted PublishedDir (an error, a signal handled by unwinding) removes its
// temporary tree; a killed process leaves it to the next writer.
#pragma once

#include <string>

namespace seqmend {

struct PublishOptions {
  bool overwrite = false;  // replace a non-empty DIR (only once the new one is complete)
  bool fsync = true;       // fsync every file and directory of the tree before it is published
  std::string what = "output";  // names the writer in messages ("ingest", "repair", ...)
  std::string hint = "choose a new directory or pass --overwrite";  // for "DIR is not empty"
};

class PublishedDir {
 public:
  PublishedDir(std::string dir, PublishOptions options = {});
  ~PublishedDir();
  PublishedDir(const PublishedDir&) = delete;
  PublishedDir& operator=(const PublishedDir&) = delete;

  const std::string& path() const { return temp_; }  // where to write; empty directory at first
  const std::string& dir() const { return dir_; }     // where it will be
  void commit();

 private:
  std::string dir_, temp_, lock_path_;
  PublishOptions options_;
  int lock_fd_ = -1;
  bool committed_ = false;
};

}  // namespace seqmend
