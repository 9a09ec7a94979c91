// Whole-file integrity facts the shard manifest records: size and zlib CRC-32.
#pragma once

#include <cstdint>
#include <string>

namespace seqmend {

// zlib CRC-32 over the whole file (same value as Python's zlib.crc32(open(path, "rb").read())).
uint32_t file_crc32(const std::string& path);

// Size in bytes; throws naming the path when it cannot be read.
int64_t file_size(const std::string& path);

}  // namespace seqmend
