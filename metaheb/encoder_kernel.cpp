// The CarRacing encoder's convolution and 2x2 max pool, one agent at a time, with oneDNN's bits.
//
// oneDNN's direct convolution computes each output as one fused multiply-add chain over the
// kernel taps in (row, column, input channel) order, starting from the first tap's product; this
// kernel runs the same chain for every output, so it gives the same values whichever outputs it
// computes together:
// - the 3 -> 6 convolution by output rows (encoder_rows.h): eight outputs of a row per vector,
//   every output channel from one load of the input, on the input copied into polyphase planes
//   (column w of a stride-S convolution at phase w % S, index w / S);
// - the 6 -> 8 convolution by pixels (encoder_pixels.h): the eight output channels of a pixel per
//   vector, each tap's weights in one vector, only the pixels the pool keeps.
// The pool keeps torch.maximum's values (NaN if either side is NaN). Optionally each pooled
// value then goes through metaheb.rational_tanh's tanh, operation by operation as torch computes
// it there (each rounded to float32, contraction off; encoder_lanes.h). metaheb.encoder_kernel
// builds this file, checks it against torch's path once per process and falls back where it
// differs.
#include "encoder_pixels.h"
#include "encoder_rows.h"

using metaheb_encoder::RationalTanh;

// in: (P, C, H, W) float32 at the given strides; kernels: (P, O, C, K, K) contiguous;
// out: (P, O, OH / 2, OW / 2) at the given strides; tanh: null, or RationalTanh's ten numbers.
// Returns 0, or -1 for a shape not built here.
extern "C" int conv_pool(const float* in, const int64_t* in_strides, int P, int C, int H, int W,
                         const float* kernels, int O, int K, int S, float* out,
                         const int64_t* out_strides, const float* tanh) {
    const RationalTanh act{tanh};
    if (C == 3 && K == 3 && S == 1 && O == 6) {
        metaheb_encoder::run_rows<3, 3, 1, 6>(in, in_strides, P, H, W, kernels, out, out_strides,
                                             act);
    } else if (C == 6 && K == 5 && S == 2 && O == 8) {
#ifdef METAHEB_AVX2
        if (metaheb_encoder::pixels_fit<5, 2>(H, W)) {
            metaheb_encoder::run_pixels<6, 5, 2>(in, in_strides, P, H, W, kernels, out,
                                                 out_strides, act);
            return 0;
        }
#endif
        metaheb_encoder::run_rows<6, 5, 2, 8>(in, in_strides, P, H, W, kernels, out, out_strides,
                                             act);
    } else {
        return -1;
    }
    return 0;
}
