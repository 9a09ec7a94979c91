// Durable file replacement: a reader of `path` sees either the old content or the new one, never a
// torn file, even if the process or the machine dies mid-write. The recipe: write a temporary file
// in the same directory (rename is atomic only within one file system), fsync it, rename it over
// the target, fsync the directory so the rename itself survives a crash.
#pragma once

#include <string>
#include <string_view>

namespace seqmend {

// Replaces `path` with `data`. Throws seqmend::Error naming the path and the failing call; on
// failure the temporary file is removed and `path` is untouched.
void write_file_atomic(const std::string& path, std::string_view data);

// For writers that need a file name of their own (HDF5, a checkpoint written in pieces): write to
// temp_path(), then commit(). Destroying an uncommitted AtomicFile removes the temporary file.
//
//   AtomicFile f(dir + "/model.h5");
//   write_hdf5(f.temp_path(), ...);
//   f.commit();  // fsync temp, rename over model.h5, fsync dir
class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return temp_; }
  void commit();

 private:
  std::string path_, temp_;
  bool committed_ = false;
};

// Why a write failed, for the first words of a message: strerror(err) with a lowercase first letter,
// and whether it is a lack of room or permission the user must fix (full disk, quota, file too
// large, read-only file system) — such failures say "<cause> writing FILE" before anything else.
std::string failure_cause(int err);
bool is_out_of_room(int err);

// fsync on a directory, so that entries created or renamed in it are durable.
void fsync_directory(const std::string& dir);

}  // namespace seqmend
