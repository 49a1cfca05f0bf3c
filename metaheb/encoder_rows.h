// The encoder's convolutions by output rows: eight outputs of a row per vector, every output
// channel from one load of the input, on polyphase planes (metaheb/encoder_kernel.cpp).
#include "encoder_lanes.h"

namespace metaheb_encoder {

template <int C, int K, int S, int O>
struct ConvPool {
    int H, W, Wp, OW;
    const float* planes;  // [C][H][S][Wp]
    const float* kernel;  // [O][C][K][K], this agent's

    inline const float* at(int c, int row, int kw, int w0) const {
        return planes + ((static_cast<int64_t>(c) * H + row) * S + kw % S) * Wp + w0 + kw / S;
    }

    // Outputs w0 .. w0 + L - 1 of output row h, every output channel, into out[o * OW + w].
    template <int L>
    inline void block(int h, int w0, float* out) const {
        float acc[O][L];
        const float* x0 = at(0, h * S, 0, w0);
        for (int o = 0; o < O; ++o) {
            const float k = kernel[o * C * K * K];
            for (int l = 0; l < L; ++l) acc[o][l] = x0[l] * k;
        }
        for (int kh = 0; kh < K; ++kh) {
            for (int kw = 0; kw < K; ++kw) {
                for (int c = 0; c < C; ++c) {
                    if (kh == 0 && kw == 0 && c == 0) continue;
                    const float* x = at(c, h * S + kh, kw, w0);
                    for (int o = 0; o < O; ++o) {
                        const float k = kernel[((o * C + c) * K + kh) * K + kw];
                        for (int l = 0; l < L; ++l) acc[o][l] = std::fma(x[l], k, acc[o][l]);
                    }
                }
            }
        }
        for (int o = 0; o < O; ++o)
            for (int l = 0; l < L; ++l) out[o * OW + w0 + l] = acc[o][l];
    }

#ifdef METAHEB_AVX2
    const __m256* wide;  // [tap][O]: each weight in all eight lanes, taps in the chain's order

    // block<8> for the outputs at each of B starts, the accumulators in registers and each
    // weight loaded once for the B blocks (the same operations in the same order).
    template <int B>
    inline void blocks8(int h, const int* starts, float* out) const {
        __m256 acc[B][O];
        for (int b = 0; b < B; ++b) {
            const __m256 x0 = _mm256_loadu_ps(at(0, h * S, 0, starts[b]));
            for (int o = 0; o < O; ++o) acc[b][o] = _mm256_mul_ps(x0, wide[o]);
        }
        const __m256* weights = wide + O;
        for (int kh = 0; kh < K; ++kh) {
            for (int kw = 0; kw < K; ++kw) {
                for (int c = 0; c < C; ++c) {
                    if (kh == 0 && kw == 0 && c == 0) continue;
                    for (int b = 0; b < B; ++b) {
                        const __m256 x = _mm256_loadu_ps(at(c, h * S + kh, kw, starts[b]));
                        for (int o = 0; o < O; ++o) acc[b][o] = _mm256_fmadd_ps(x, weights[o], acc[b][o]);
                    }
                    weights += O;
                }
            }
        }
        for (int b = 0; b < B; ++b)
            for (int o = 0; o < O; ++o) _mm256_storeu_ps(out + o * OW + starts[b], acc[b][o]);
    }

    void row(int h, float* out) const {
        if (OW < 8) {
            for (int w0 = 0; w0 < OW; ++w0) block<1>(h, w0, out);
            return;
        }
        // Blocks of eight outputs; the last overlaps the one before it (computed twice, alike).
        constexpr int B = O <= 6 ? 2 : 1;  // accumulators that fit in sixteen registers
        const int count = (OW + 7) / 8;
        int starts[B];
        int block = 0;
        for (; block + B <= count; block += B) {
            for (int b = 0; b < B; ++b) starts[b] = 8 * (block + b) + 8 <= OW ? 8 * (block + b) : OW - 8;
            blocks8<B>(h, starts, out);
        }
        for (; block < count; ++block) {
            starts[0] = 8 * block + 8 <= OW ? 8 * block : OW - 8;
            blocks8<1>(h, starts, out);
        }
    }
#else
    void row(int h, float* out) const {
        for (int w0 = 0; w0 < OW; ++w0) block<1>(h, w0, out);
    }
#endif

};

// Two conv rows [O][OW] pooled 2x2 into output row ``out`` (channel stride s_o, column stride
// s_j): the max of each row pair first, then of each column pair, as max_pool_2x2 does, then
// ``act``. Where a pixel's channels sit side by side (s_o = 1, channels last), eight pooled
// columns of every channel are turned into eight pixels' channels and each pixel is stored in
// one write.
template <int O>
void pool_rows(const float* upper, const float* lower, int OW, float* out, int64_t s_o,
               int64_t s_j, RationalTanh act) {
    const int PW = OW / 2;
    int done = 0;
#ifdef METAHEB_AVX2
    if (s_o == 1 && O <= 8) {
        for (; done + 8 <= PW; done += 8) {
            __m256 block[8];
            for (int o = 0; o < 8; ++o)
                block[o] = o < O ? pool8(upper + o * OW, lower + o * OW, done) : _mm256_setzero_ps();
            act.apply<O>(block);
            transpose8(block);
            for (int l = 0; l < 8; ++l) store_first<O>(out + (done + l) * s_j, block[l]);
        }
    }
#endif
    for (int o = 0; o < O; ++o) {
        const float* a = upper + o * OW;
        const float* b = lower + o * OW;
        float* row = out + o * s_o;
        int j = done;
#ifdef METAHEB_AVX2
        for (; j + 8 <= PW; j += 8) {
            alignas(32) float pooled[8];
            _mm256_store_ps(pooled, act(pool8(a, b, j)));
            for (int l = 0; l < 8; ++l) row[(j + l) * s_j] = pooled[l];
        }
#endif
        for (; j < PW; ++j)
            row[j * s_j] = act(nan_max(nan_max(a[2 * j], b[2 * j]), nan_max(a[2 * j + 1], b[2 * j + 1])));
    }
}

// Row h of an input whose agents' channels sit side by side in every pixel (``channels`` of
// them, column stride s_w) into the polyphase planes: channel k to plane k, column w to phase
// w % S, index w / S. Eight columns of one phase and eight channels are moved as one 8x8 block.
template <int S>
void fill_row_interleaved(const float* in_row, int64_t s_w, int channels, int W, int Wp,
                          size_t plane, float* planes_row) {
    for (int r = 0; r < S; ++r) {
        const int columns = (W - r + S - 1) / S;  // of this phase
        float* phase_row = planes_row + static_cast<size_t>(r) * Wp;
        int q = 0;
#ifdef METAHEB_AVX2
        for (; q + 8 <= columns; q += 8) {
            int k = 0;
            for (; k + 8 <= channels; k += 8) {
                __m256 block[8];
                for (int l = 0; l < 8; ++l)
                    block[l] = _mm256_loadu_ps(in_row + (r + S * (q + l)) * s_w + k);
                transpose8(block);
                for (int c = 0; c < 8; ++c) _mm256_storeu_ps(phase_row + (k + c) * plane + q, block[c]);
            }
            for (; k < channels; ++k)
                for (int l = 0; l < 8; ++l)
                    phase_row[k * plane + q + l] = in_row[(r + S * (q + l)) * s_w + k];
        }
#endif
        for (; q < columns; ++q)
            for (int k = 0; k < channels; ++k)
                phase_row[k * plane + q] = in_row[(r + S * q) * s_w + k];
    }
}

// The batch's input copied into polyphase planes [P][C][H][S][Wp]. When the agents' channels
// sit side by side in every pixel (tasks.carracing's frames, and each layer's output), agent p's
// channel c is plane p * C + c, filled row by row (``fill_row_interleaved``); otherwise in the
// input's own memory order, so each cache line is read once.
template <int C, int S>
void fill_planes(const float* in, const int64_t* in_strides, int P, int H, int W, int Wp,
                 float* planes) {
    const size_t plane = static_cast<size_t>(H) * S * Wp;
    if (in_strides[1] == 1 && in_strides[0] == C) {
        for (int h = 0; h < H; ++h)
            fill_row_interleaved<S>(in + h * in_strides[2], in_strides[3], P * C, W, Wp, plane,
                                    planes + static_cast<size_t>(h) * S * Wp);
        return;
    }
    for (int h = 0; h < H; ++h)
        for (int w = 0; w < W; ++w)
            for (int p = 0; p < P; ++p)
                for (int c = 0; c < C; ++c)
                    planes[(static_cast<size_t>(p) * C + c) * plane + (static_cast<size_t>(h) * S + w % S) * Wp + w / S] =
                        in[p * in_strides[0] + c * in_strides[1] + h * in_strides[2] + w * in_strides[3]];
}

template <int C, int K, int S, int O>
void run_rows(const float* in, const int64_t* in_strides, int P, int H, int W, const float* kernels,
         float* out, const int64_t* out_strides, RationalTanh act) {
    const int OH = (H - K) / S + 1, OW = (W - K) / S + 1, Wp = (W + S - 1) / S;
    const size_t plane_size = static_cast<size_t>(C) * H * S * Wp;
    // Buffers kept between calls (a call per layer per step): grown once, never cleared, as
    // every element a row reads is written first.
    static thread_local std::vector<float> planes, rows;
    planes.resize(plane_size * P);  // [P][C][H][S][Wp]
    fill_planes<C, S>(in, in_strides, P, H, W, Wp, planes.data());
    rows.resize(2 * static_cast<size_t>(O) * OW);
#ifdef METAHEB_AVX2
    static thread_local std::vector<__m256> wide;
    wide.resize(static_cast<size_t>(K) * K * C * O);
#endif
    float* upper = rows.data();
    float* lower = rows.data() + static_cast<size_t>(O) * OW;
    for (int p = 0; p < P; ++p) {
        const float* kernel = kernels + p * O * C * K * K;
        ConvPool<C, K, S, O> conv{H, W, Wp, OW, planes.data() + p * plane_size, kernel};
#ifdef METAHEB_AVX2
        for (int kh = 0, tap = 0; kh < K; ++kh)
            for (int kw = 0; kw < K; ++kw)
                for (int c = 0; c < C; ++c, ++tap)
                    for (int o = 0; o < O; ++o)
                        wide[tap * O + o] = _mm256_set1_ps(kernel[((o * C + c) * K + kh) * K + kw]);
        conv.wide = wide.data();
#endif
        float* pooled = out + p * out_strides[0];
        for (int i = 0; i < OH / 2; ++i) {
            conv.row(2 * i, upper);
            conv.row(2 * i + 1, lower);
            pool_rows<O>(upper, lower, OW, pooled + i * out_strides[2], out_strides[1],
                         out_strides[3], act);
        }
    }
}

}  // namespace metaheb_encoder
