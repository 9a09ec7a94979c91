#include "io/file_checksum.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "core/base/error.h"

namespace seqmend {

int64_t file_size(const std::string& path) {
  struct stat st {};
  SEQ_CHECK(::stat(path.c_str(), &st) == 0, path, ": cannot stat: ", std::strerror(errno));
  return int64_t(st.st_size);
}

uint32_t file_crc32(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  SEQ_CHECK(fd >= 0, path, ": cannot open for checksum: ", std::strerror(errno));
  std::vector<unsigned char> buf(1 << 20);
  uLong crc = crc32(0L, Z_NULL, 0);
  for (;;) {
    ssize_t r = ::read(fd, buf.data(), buf.size());
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      int err = errno;
      ::close(fd);
      SEQ_FAIL(path, ": reading for checksum: ", std::strerror(err));
    }
    if (r == 0) break;
    crc = crc32(crc, buf.data(), uInt(r));
  }
  ::close(fd);
  return uint32_t(crc);
}

}  // namespace seqmend
