// The encoder's convolutions by pixels: eight output channels per vector, one pixel each
// (metaheb/encoder_kernel.cpp).
#include "encoder_lanes.h"

namespace metaheb_encoder {

#ifdef METAHEB_AVX2
// A layer of eight output channels, one pixel per vector: lane o carries output channel o's
// chain, each tap's eight weights in one vector and the input value broadcast to all lanes (the
// same chain per output as ConvPool's, so the same bits). Only the pixels the pool keeps are
// computed, J pooled columns at a time: 4 J accumulators in registers, every tap's weight vector
// loaded once for them, and no weight table larger than the level-one cache.
template <int C, int K, int S>
struct PixelConvPool {
    static constexpr int O = 8, J = 3, TAPS = K * K * C;
    int W;                // the input's width; ``x`` is [H][W][C], this agent's
    const float* x;
    const __m256* taps;  // [TAPS]: the eight output channels' weights of each tap

    // One tap for every accumulator: its input values broadcast (pixel (di, 2 j + dj) of the
    // block at offset ``at``), times the tap's weights; the first tap's product starts the chain.
    template <bool first>
    static inline void tap(const float* at, int64_t row_step, __m256 w, __m256 (&acc)[J][2][2]) {
        for (int j = 0; j < J; ++j)
            for (int di = 0; di < 2; ++di)
                for (int dj = 0; dj < 2; ++dj) {
                    const __m256 in = _mm256_broadcast_ss(at + di * row_step + (2 * j + dj) * S * C);
                    acc[j][di][dj] = first ? _mm256_mul_ps(in, w) : _mm256_fmadd_ps(in, w, acc[j][di][dj]);
                }
    }

    // Pooled outputs (i, j0 .. j0 + J - 1), each the 2x2 max of its conv pixels, into v[J].
    inline void block(int i, int j0, __m256* v) const {
        __m256 acc[J][2][2];
        const int64_t row_step = S * W * C;  // from conv row 2i to 2i + 1
        const float* corner = x + (static_cast<int64_t>(2 * i * S) * W + 2 * j0 * S) * C;
        tap<true>(corner, row_step, taps[0], acc);
        for (int kh = 0; kh < K; ++kh) {
            const __m256* w = taps + kh * K * C;
            const float* row = corner + static_cast<int64_t>(kh) * W * C;
#pragma GCC unroll 30
            for (int t = kh == 0 ? 1 : 0; t < K * C; ++t) tap<false>(row + t, row_step, w[t], acc);
        }
        for (int j = 0; j < J; ++j)  // max_pool_2x2: rows first, then columns
            v[j] = nan_max8(nan_max8(acc[j][0][0], acc[j][1][0]), nan_max8(acc[j][0][1], acc[j][1][1]));
    }
};

// One agent's input (C, H, W) at any strides into [H][W][C].
template <int C>
void pixels_of(const float* in, const int64_t* strides, int H, int W, float* x) {
    const int64_t s_c = strides[1], s_h = strides[2], s_w = strides[3];
    for (int h = 0; h < H; ++h) {
        const float* row = in + h * s_h;
        float* to = x + static_cast<int64_t>(h) * W * C;
        if (s_c == 1) {  // channels last: each pixel's channels are side by side already
            for (int w = 0; w < W; ++w)
                for (int c = 0; c < C; ++c) to[w * C + c] = row[w * s_w + c];
        } else {
            for (int w = 0; w < W; ++w)
                for (int c = 0; c < C; ++c) to[w * C + c] = row[c * s_c + w * s_w];
        }
    }
}

// Whether an input of H x W has the J pooled columns (and a pooled row) a block computes.
template <int K, int S>
bool pixels_fit(int H, int W) {
    return ((H - K) / S + 1) / 2 >= 1 && ((W - K) / S + 1) / 2 >= PixelConvPool<1, K, S>::J;
}

template <int C, int K, int S>
void run_pixels(const float* in, const int64_t* in_strides, int P, int H, int W, const float* kernels,
                float* out, const int64_t* out_strides, RationalTanh act) {
    using Layer = PixelConvPool<C, K, S>;
    constexpr int O = Layer::O, J = Layer::J;
    const int PH = ((H - K) / S + 1) / 2, PW = ((W - K) / S + 1) / 2;
    static thread_local std::vector<float> x;
    static thread_local std::vector<__m256> taps;
    x.resize(static_cast<size_t>(H) * W * C);
    taps.resize(Layer::TAPS);
    for (int p = 0; p < P; ++p) {
        const float* kernel = kernels + p * O * C * K * K;
        for (int kh = 0, tap = 0; kh < K; ++kh)
            for (int kw = 0; kw < K; ++kw)
                for (int c = 0; c < C; ++c, ++tap) {
                    alignas(32) float lanes[O];
                    for (int o = 0; o < O; ++o) lanes[o] = kernel[((o * C + c) * K + kh) * K + kw];
                    taps[tap] = _mm256_load_ps(lanes);
                }
        pixels_of<C>(in + p * in_strides[0], in_strides, H, W, x.data());
        const Layer layer{W, x.data(), taps.data()};
        float* pooled = out + p * out_strides[0];
        for (int i = 0; i < PH; ++i) {
            for (int j0 = 0; j0 < PW; j0 += J) {
                const int start = j0 + J <= PW ? j0 : PW - J;  // the last block overlaps, alike
                __m256 v[J];
                layer.block(i, start, v);
                act.apply<J>(v);
                for (int j = 0; j < J; ++j) {
                    float* at = pooled + i * out_strides[2] + (start + j) * out_strides[3];
                    if (out_strides[1] == 1) {  // channels last: the pixel's channels in one store
                        _mm256_storeu_ps(at, v[j]);
                        continue;
                    }
                    alignas(32) float lanes[O];
                    _mm256_store_ps(lanes, v[j]);
                    for (int o = 0; o < O; ++o) at[o * out_strides[1]] = lanes[o];
                }
            }
        }
    }
}
#endif

}  // namespace metaheb_encoder
