#include "core/train_step.h"

#include "core/base/rng.h"

namespace seqmend {

uint64_t step_dropout_seed(uint64_t run_seed, int64_t step) {
  return hash_combine(run_seed, uint64_t(step));
}

ClozeStepResult train_step(ItemTransformer& model, AdamWOptimizer& opt, const Batch& batch, int64_t step,
                           uint64_t run_seed) {
  model.params().zero_grads();
  ForwardOptions fo;
  fo.train = true;
  fo.need_grads = true;
  fo.dropout_seed = step_dropout_seed(run_seed, step);
  ClozeStepResult r;
  r.loss = model.forward(batch, fo);
  model.backward(batch);
  OptimizerStats st = opt.step(step);
  r.grad_norm = st.grad_norm;
  r.lr = st.lr;
  r.tokens = batch.N;
  r.targets = batch.M();
  return r;
}

}  // namespace seqmend
