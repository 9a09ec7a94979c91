#include "kernels/gather_rows.h"

#include <cstring>

#include "core/base/error.h"
#include "kernels/dispatch.h"

namespace seqmend {

static void check_sizes(const char* op, int64_t R, int C, int64_t N) {
  SEQ_CHECK(R >= 0 && C > 0 && N >= 0, op, ": bad sizes R=", R, " C=", C, " N=", N);
}

// Reads every row index, so the CPU alone does it; the CUDA twin trusts the caller (gather_rows.h).
static void check_rows(const char* op, const int64_t* rows, int64_t R, int64_t N) {
  for (int64_t r = 0; r < R; ++r)
    SEQ_CHECK(rows[r] >= 0 && rows[r] < N, op, ": row ", r, " asks for token ", rows[r],
              " of a batch with N=", N, " tokens");
}

void gather_rows(Device dev, float* dst, const float* src, const int64_t* rows, int64_t R, int C,
                 int64_t N) {
  check_sizes("gather_rows", R, C, N);
  if (dev == Device::CUDA) SEQ_CUDA_TWIN(gather_rows, dst, src, rows, R, C, N);
  check_rows("gather_rows", rows, R, N);
  for (int64_t r = 0; r < R; ++r)
    std::memcpy(dst + r * C, src + rows[r] * C, sizeof(float) * size_t(C));
}

void scatter_rows(Device dev, float* dst, const float* src, const int64_t* rows, int64_t R, int C,
                  int64_t N) {
  check_sizes("scatter_rows", R, C, N);
  if (dev == Device::CUDA) SEQ_CUDA_TWIN(scatter_rows, dst, src, rows, R, C, N);
  check_rows("scatter_rows", rows, R, N);
  for (int64_t r = 0; r < R; ++r)
    std::memcpy(dst + rows[r] * C, src + r * C, sizeof(float) * size_t(C));
}

}  // namespace seqmend
