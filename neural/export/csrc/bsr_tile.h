/* One register tile of the block-sparse product, instantiated per instruction set.
 *
 * Included by bsr.c several times, each time under its own `#pragma GCC target`
 * and with these macros defined:
 *
 *   TILE_NAME  the function's name
 *   VEC        a GCC vector type of CW floats (CW = 8 or 16)
 *   CW         lanes per vector: output channels per packed chunk of a block
 *   G          chunks (vectors) of output channels per position
 *   P          positions per tile
 *   JB         input channels whose weight vectors are held in registers at once
 *              (a divisor of 8)
 *   STORE_PART(dst, v, n)  stores the first n < CW lanes of v to dst
 *
 * The tile keeps P x G accumulators in registers while it walks every stored
 * block of one block row. For each input channel j of a block, the weight
 * column W[:, j] (G vectors, packed contiguously) is loaded once and
 * multiplied with each position's input value x[p, j], broadcast from the
 * panel. The panel holds a block's inputs in groups of 8 channels, each group
 * position by position ([group][position][8]), so every address in the
 * unrolled loops below is a constant offset from one pointer.
 */

static void TILE_NAME(const tile_job *job, const float *panel, int64_t np, float *y)
{
    VEC acc[P][G];
    const float *bias = job->bias;
#pragma GCC unroll 32
    for (int p = 0; p < P; p++) {
#pragma GCC unroll 4
        for (int g = 0; g < G; g++) {
            memcpy(&acc[p][g], bias + g * CW, sizeof(VEC));
        }
    }
    const int64_t full = job->b_in / 8, rest = job->b_in % 8;
    const int64_t chunk_stride = job->b_in * CW;
    const int64_t group_stride = job->group_stride;
    for (int64_t k = job->k0; k < job->k1; k++) {
        const float *x = panel + job->slot[k] * job->slot_stride;
        const float *w = job->weights + k * job->block_stride;
        for (int64_t c = 0; c < full; c++, x += group_stride, w += 8 * CW) {
#pragma GCC unroll 8
            for (int j = 0; j < 8; j += JB) {
                VEC wv[JB][G];
#pragma GCC unroll 16
                for (int i = 0; i < JB; i++) {
#pragma GCC unroll 4
                    for (int g = 0; g < G; g++) {
                        memcpy(&wv[i][g], w + g * chunk_stride + (j + i) * CW,
                               sizeof(VEC));
                    }
                }
#pragma GCC unroll 32
                for (int p = 0; p < P; p++) {
#pragma GCC unroll 16
                    for (int i = 0; i < JB; i++) {
                        const float xv = x[p * 8 + j + i];
#pragma GCC unroll 4
                        for (int g = 0; g < G; g++) {
                            acc[p][g] += xv * wv[i][g];
                        }
                    }
                }
            }
        }
        for (int64_t j = 0; j < rest; j++) {
            VEC wv[G];
#pragma GCC unroll 4
            for (int g = 0; g < G; g++) {
                memcpy(&wv[g], w + g * chunk_stride + j * CW, sizeof(VEC));
            }
#pragma GCC unroll 32
            for (int p = 0; p < P; p++) {
                const float xv = x[p * 8 + j];
#pragma GCC unroll 4
                for (int g = 0; g < G; g++) {
                    acc[p][g] += xv * wv[g];
                }
            }
        }
    }
    const int64_t lanes = job->lanes;
    for (int64_t p = 0; p < P && p < np; p++) {
        float *out = y + p * job->ldy;
#pragma GCC unroll 4
        for (int g = 0; g < G; g++) {
            const int64_t n = lanes - g * CW;
            if (n >= CW) {
                memcpy(out + g * CW, &acc[p][g], sizeof(VEC));
            } else if (n > 0) {
                STORE_PART(out + g * CW, acc[p][g], n);
            }
        }
    }
}
