// A batch of MuJoCo simulations stepped in one call, and the state the Ant's observation reads
// copied out in one call (metaheb/tasks/mujoco_batch.py).
//
// Each simulation is its own mjModel and mjData, stepped by the mj_step of the libmujoco the
// Python bindings load, in the order a Python loop over the batch would step them: the same
// state, bit for bit, without the bindings' per-call overhead.
#include <mujoco/mujoco.h>

#include <csetjmp>
#include <cstdint>
#include <cstring>

namespace {

thread_local std::jmp_buf error_jump;
thread_local char error_message[1024];

// MuJoCo's error handler (mju_user_error) during a call: jumps back to the call with the
// message, instead of the default handler's exit of the process.
void on_error(const char* message) {
  std::strncpy(error_message, message, sizeof error_message - 1);
  std::longjmp(error_jump, 1);
}

}  // namespace

extern "C" {

// The version of the libmujoco this library is linked against (mj_version's integer).
int linked_version() { return mj_version(); }

// The message of the last error a call returned (empty before any).
const char* last_error() { return error_message; }

// For simulation k: ctrl <- actions[k * action_stride : + nu], then mj_step `nstep` times.
// Returns 0, or 1 + k where simulation k raised an MuJoCo error (``last_error`` says which);
// the simulations before it were stepped.
int64_t step_batch(const mjModel* const* models, mjData* const* datas, int64_t count,
                   const double* actions, int64_t action_stride, int64_t nstep) {
  void (*previous_handler)(const char*) = mju_user_error;
  volatile int64_t k = 0;  // volatile: read after a longjmp
  if (setjmp(error_jump) != 0) {
    mju_user_error = previous_handler;
    return 1 + k;
  }
  mju_user_error = on_error;
  for (; k < count; k = k + 1) {
    const mjModel* model = models[k];
    mjData* data = datas[k];
    std::memcpy(data->ctrl, actions + k * action_stride, sizeof(mjtNum) * model->nu);
    for (int64_t step = 0; step < nstep; ++step) {
      mj_step(model, data);
    }
  }
  mju_user_error = previous_handler;
  return 0;
}

// Copies each simulation's qpos (count, nq) and qvel (count, nv) and, where the pointers are not
// null, its body positions xpos (count, nbody, 3) and its feet's floor contacts: feet[k, s] = 1
// where a contact pairs `floor` with a geom g whose foot_slot[g] = s < 4, else 0 (count, 4).
// The models share nq, nv and nbody (one body a batch).
int64_t gather_state(const mjModel* const* models, mjData* const* datas, int64_t count,
                     double* qpos, double* qvel, double* xpos, double* feet, int64_t floor,
                     const int64_t* foot_slot) {
  for (int64_t k = 0; k < count; ++k) {
    const mjModel* model = models[k];
    const mjData* data = datas[k];
    std::memcpy(qpos + k * model->nq, data->qpos, sizeof(mjtNum) * model->nq);
    std::memcpy(qvel + k * model->nv, data->qvel, sizeof(mjtNum) * model->nv);
    if (xpos != nullptr) {
      std::memcpy(xpos + k * 3 * model->nbody, data->xpos, sizeof(mjtNum) * 3 * model->nbody);
    }
    if (feet == nullptr) {
      continue;
    }
    double* touching = feet + 4 * k;
    touching[0] = touching[1] = touching[2] = touching[3] = 0.0;
    for (int c = 0; c < data->ncon; ++c) {
      const int first = data->contact[c].geom[0], second = data->contact[c].geom[1];
      if (first != floor && second != floor) {
        continue;
      }
      const int64_t slot = foot_slot[first == floor ? second : first];
      if (slot < 4) {
        touching[slot] = 1.0;
      }
    }
  }
  return 0;
}

}  // extern "C"
