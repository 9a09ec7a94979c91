// The model for rec_eval_mpi_test.cpp, built in a translation unit of its own: core/model.h (through
// core/tensor.h) and distributed/communicator.h both declare seqmend::DType, so the test that needs
// a communicator cannot include the model's header. No tests here.
#include <memory>

#include "core/model.h"

namespace seqmend {

std::shared_ptr<ItemTransformer> rec_eval_mpi_test_model(int64_t num_items) {
  ModelConfig c;
  c.num_items = num_items;
  c.max_len = 12;
  c.d_model = 32;
  c.num_layers = 2;
  c.num_heads = 2;
  c.seed = 17;  // every rank initialises the same parameters
  return std::make_shared<ItemTransformer>(c);
}

}  // namespace seqmend
