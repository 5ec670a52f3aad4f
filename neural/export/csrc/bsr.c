/* Block-sparse (BSR) weight times dense activations on CPU, float32.
 *
 * Computes y = x W^T + b for a weight W of shape n_out x K stored in BSR form
 * with b_out x b_in blocks, where the rows of x are "positions": the rows of a
 * Linear layer's input, or the output pixels of a convolution whose input is
 * channels-last (NHWC). For a convolution, column f of W is kernel position
 * f / C_in and input channel f % C_in (the (kH, kW, C_in) order of
 * neural.blocks.BlockGrid), so a block whose columns stay within one kernel
 * position reads b_in consecutive channels of one input pixel: an implicit
 * GEMM, with no im2col copy of the whole input. Output positions are
 * contiguous rows of y (NHWC for a convolution), bias fused.
 *
 * Work: positions are cut into tiles of at most 128 (pack_panel copies, for a
 * tile, the inputs of every block column that holds a stored block into a
 * panel of at most 256 KiB, zeros in the padding); when there are too few
 * tiles for the threads, block rows are cut into chunks too. The (tile, chunk)
 * items go to OpenMP threads dynamically (torch's own libgomp, so one thread
 * pool; a thread that loses its core holds up only the item it is on). Within
 * a tile, the register tiles of bsr_tile.h do the multiply-adds.
 *
 * Instruction sets: the register tiles are compiled three times (AVX-512,
 * AVX2 + FMA, and the x86-64 baseline) and the best one the CPU and OS support
 * is picked once at import (__builtin_cpu_supports). On other architectures
 * only the portable build exists.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

typedef struct {
    const float *weights;      /* packed blocks, offset to this chunk of lanes */
    const float *bias;         /* packed bias of this block row and chunk */
    const int32_t *slot;       /* panel slot of each stored block's column */
    int64_t k0, k1;            /* stored blocks of this block row */
    int64_t b_in;
    int64_t block_stride;      /* floats per packed block */
    int64_t slot_stride;       /* floats per panel slot */
    int64_t group_stride;      /* floats per group of 8 channels in a slot */
    int64_t ldy;               /* floats between output positions */
    int64_t lanes;             /* valid output channels from this chunk on */
} tile_job;

typedef void (*tile_fn)(const tile_job *, const float *, int64_t, float *);

typedef struct {
    int cw;          /* lanes per packed chunk */
    int p1, p2;      /* positions per tile with 1 and 2 chunks per position */
    tile_fn one1, many1, one2, many2;
} kernel_set;

typedef float v8 __attribute__((vector_size(32)));
typedef float v16 __attribute__((vector_size(64)));

/* Portable build (SSE2 on x86-64): 8-lane chunks. */
#define CW 8
#define VEC v8
#define STORE_PART(dst, v, n)                                                    \
    do {                                                                         \
        for (int64_t lane = 0; lane < (n); lane++) {                             \
            (dst)[lane] = (v)[lane];                                             \
        }                                                                        \
    } while (0)
#define TILE_NAME tile_base_1_1
#define G 1
#define P 1
#define JB 2
#include "bsr_tile.h"
#undef TILE_NAME
#undef P
#define TILE_NAME tile_base_1_n
#define P 4
#include "bsr_tile.h"
#undef TILE_NAME
#undef P
#undef G
#undef JB
#define JB 1
#define G 2
#define TILE_NAME tile_base_2_1
#define P 1
#include "bsr_tile.h"
#undef TILE_NAME
#undef P
#define TILE_NAME tile_base_2_n
#define P 2
#include "bsr_tile.h"
#undef TILE_NAME
#undef P
#undef G
#undef JB
#undef VEC
#undef CW
#undef STORE_PART

static const kernel_set base_set = {8, 4, 2, tile_base_1_1, tile_base_1_n,
                                    tile_base_2_1, tile_base_2_n};

#if defined(__x86_64__) && defined(__GNUC__)

#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define CW 8
#define VEC v8
#define STORE_PART(dst, v, n)                                                    \
    _mm256_maskstore_ps((dst),                                                   \
                        _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n)),          \
                                           _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)), \
                        (__m256)(v))
#define TILE_NAME tile_avx2_1_1
#define G 1
#define P 1
#define JB 4
#include "bsr_tile.h"
#undef TILE_NAME
#undef P
#define TILE_NAME tile_avx2_1_n
#define P 8
#include "bsr_tile.h"
#undef TILE_NAME
#undef P
#undef G
#undef JB
#define JB 2
#define G 2
#define TILE_NAME tile_avx2_2_1
#define P 1
#include "bsr_tile.h"
#undef TILE_NAME
#undef P
#define TILE_NAME tile_avx2_2_n
#define P 4
#include "bsr_tile.h"
#undef TILE_NAME
#undef P
#undef G
#undef JB
#undef VEC
#undef CW
#undef STORE_PART
#pragma GCC pop_options

static const kernel_set avx2_set = {8, 8, 4, tile_avx2_1_1, tile_avx2_1_n,
                                    tile_avx2_2_1, tile_avx2_2_n};

#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")
/* 8-lane chunks (blocks at most 8 rows tall), 32 vector registers */
#define CW 8
#define VEC v8
#define STORE_PART(dst, v, n) \
    _mm256_mask_storeu_ps((dst), (__mmask8)((1u << (n)) - 1u), (__m256)(v))
#define TILE_NAME tile_avx512y_1_1
#define G 1
#define P 1
#define JB 8
#include "bsr_tile.h"
#undef TILE_NAME
#undef P
#define TILE_NAME tile_avx512y_1_n
#define P 16
#include "bsr_tile.h"
#undef TILE_NAME
#undef P
#undef G
#undef JB
#define JB 4
#define G 2
#define TILE_NAME tile_avx512y_2_1
#define P 1
#include "bsr_tile.h"
#undef TILE_NAME
#undef P
#define TILE_NAME tile_avx512y_2_n
#define P 8
#include "bsr_tile.h"
#undef TILE_NAME
#undef P
#undef G
#undef JB
#undef VEC
#undef CW
#undef STORE_PART
/* 16-lane chunks */
#define CW 16
#define VEC v16
#define STORE_PART(dst, v, n) \
    _mm512_mask_storeu_ps((dst), (__mmask16)((1u << (n)) - 1u), (__m512)(v))
#define TILE_NAME tile_avx512z_1_1
#define G 1
#define P 1
#define JB 8
#include "bsr_tile.h"
#undef TILE_NAME
#undef P
#define TILE_NAME tile_avx512z_1_n
#define P 16
#include "bsr_tile.h"
#undef TILE_NAME
#undef P
#undef G
#undef JB
#define JB 4
#define G 2
#define TILE_NAME tile_avx512z_2_1
#define P 1
#include "bsr_tile.h"
#undef TILE_NAME
#undef P
#define TILE_NAME tile_avx512z_2_n
#define P 8
#include "bsr_tile.h"
#undef TILE_NAME
#undef P
#undef G
#undef JB
#undef VEC
#undef CW
#undef STORE_PART
#pragma GCC pop_options

static const kernel_set avx512y_set = {8, 16, 8, tile_avx512y_1_1, tile_avx512y_1_n,
                                       tile_avx512y_2_1, tile_avx512y_2_n};
static const kernel_set avx512z_set = {16, 16, 8, tile_avx512z_1_1, tile_avx512z_1_n,
                                       tile_avx512z_2_1, tile_avx512z_2_n};

#endif

enum { ISA_BASE, ISA_AVX2, ISA_AVX512 };
static const char *isa_names[] = {"baseline", "avx2", "avx512"};
static int best_isa = ISA_BASE; /* the best the CPU and OS support */
static int isa = ISA_BASE;      /* the one in use */

static void detect_isa(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw")) {
        best_isa = ISA_AVX512;
    } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        best_isa = ISA_AVX2;
    }
#endif
    isa = best_isa;
}

/* The register tiles for blocks b_out rows tall on this CPU. */
static const kernel_set *kernels_for(int64_t b_out)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (isa == ISA_AVX512) {
        return b_out > 8 ? &avx512z_set : &avx512y_set;
    }
    if (isa == ISA_AVX2) {
        return &avx2_set;
    }
#endif
    (void)b_out;
    return &base_set;
}

/* Everything one product needs; filled from Python (see _kernels.py). */
typedef struct {
    const float *x, *weights, *bias;
    float *y;
    const int64_t *crow;
    const int32_t *slot;   /* panel slot of each stored block */
    const int32_t *used;   /* block column of each panel slot */
    int64_t n_used;
    int64_t n_img, in_h, in_w, channels;
    int64_t out_h, out_w, k_h, k_w;
    int64_t stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;
    int64_t n_out, b_out, b_in, n_block_rows;
    int threads;
} problem;

/* Block-row boundaries splitting the stored blocks into n nearly equal shares. */
static void row_chunks(const problem *pb, int64_t n, int64_t *bounds)
{
    const int64_t total = pb->crow[pb->n_block_rows];
    int64_t r = 0;
    bounds[0] = 0;
    for (int64_t i = 1; i < n; i++) {
        while (r < pb->n_block_rows && pb->crow[r] * n < total * i) {
            r++;
        }
        bounds[i] = r > bounds[i - 1] ? r : bounds[i - 1];
    }
    bounds[n] = pb->n_block_rows;
}

/* Kernel position and first input channel of each used block column (slot). */
static void slot_sources(const problem *pb, int32_t *kpos, int32_t *chan)
{
    for (int64_t u = 0; u < pb->n_used; u++) {
        const int64_t f0 = (int64_t)pb->used[u] * pb->b_in;
        kpos[u] = (int32_t)(f0 / pb->channels);
        chan[u] = (int32_t)(f0 % pb->channels);
    }
}

/* The panel of positions [first, first + t): for each used block column (slot),
 * its b_in input channels in groups of 8, position by position. Inputs in the
 * zero padding and positions past the end are zeros. `pixel` is scratch for
 * one pointer per kernel position. */
static void pack_panel(const problem *pb, const int32_t *kpos, const int32_t *chan,
                       int64_t first, int64_t t, int64_t n_pos, const float *zeros,
                       const float **pixel, float *panel)
{
    const int64_t per_img = pb->out_h * pb->out_w;
    const int64_t n_kpos = pb->k_h * pb->k_w;
    const int64_t groups = (pb->b_in + 7) / 8, full = pb->b_in / 8, rest = pb->b_in % 8;
    const int64_t group_stride = t * 8, slot_stride = groups * group_stride;
    for (int64_t p = 0; p < t; p++) {
        const int64_t pos = first + p;
        if (pos < n_pos) {
            const int64_t rem = pos % per_img;
            const int64_t top = (rem / pb->out_w) * pb->stride_h - pb->pad_h;
            const int64_t left = (rem % pb->out_w) * pb->stride_w - pb->pad_w;
            const float *image = pb->x + (pos / per_img) * pb->in_h * pb->in_w * pb->channels;
            for (int64_t dy = 0; dy < pb->k_h; dy++) {
                const int64_t iy = top + dy * pb->dil_h;
                for (int64_t dx = 0; dx < pb->k_w; dx++) {
                    const int64_t ix = left + dx * pb->dil_w;
                    const int inside = iy >= 0 && iy < pb->in_h && ix >= 0 && ix < pb->in_w;
                    pixel[dy * pb->k_w + dx] =
                        inside ? image + (iy * pb->in_w + ix) * pb->channels : zeros;
                }
            }
        } else {
            for (int64_t kp = 0; kp < n_kpos; kp++) {
                pixel[kp] = zeros;
            }
        }
        float *column = panel + p * 8;
        for (int64_t u = 0; u < pb->n_used; u++) {
            const float *src = pixel[kpos[u]] + chan[u];
            float *dst = column + u * slot_stride;
            for (int64_t g = 0; g < full; g++) {
                memcpy(dst + g * group_stride, src + g * 8, 8 * sizeof(float));
            }
            for (int64_t j = 0; j < rest; j++) {
                dst[full * group_stride + j] = src[full * 8 + j];
            }
        }
    }
}

/* All chunks of lanes of block row r for the np positions of a panel of t. */
static void block_row(const problem *pb, const kernel_set *ks, int64_t r,
                      const float *panel, int64_t t, int64_t np, float *y)
{
    const int64_t n_chunks = (pb->b_out + ks->cw - 1) / ks->cw;
    const int64_t groups = (pb->b_in + 7) / 8;
    tile_job job;
    job.slot = pb->slot;
    job.k0 = pb->crow[r];
    job.k1 = pb->crow[r + 1];
    job.b_in = pb->b_in;
    job.block_stride = n_chunks * pb->b_in * ks->cw;
    job.slot_stride = groups * t * 8;
    job.group_stride = t * 8;
    job.ldy = pb->n_out;
    for (int64_t q = 0; q < n_chunks;) {
        const int g = n_chunks - q >= 2 ? 2 : 1;
        const int64_t p_many = g == 2 ? ks->p2 : ks->p1;
        const tile_fn many = g == 2 ? ks->many2 : ks->many1;
        const tile_fn one = g == 2 ? ks->one2 : ks->one1;
        job.weights = pb->weights + q * pb->b_in * ks->cw;
        job.bias = pb->bias + (r * n_chunks + q) * ks->cw;
        job.lanes = pb->b_out - q * ks->cw;
        float *yq = y + r * pb->b_out + q * ks->cw;
        int64_t p = 0;
        for (; p + p_many <= np; p += p_many) {
            many(&job, panel + p * 8, p_many, yq + p * pb->n_out);
        }
        if (p < np && 4 * (np - p) > p_many && p + p_many <= t) {
            /* a partial tile: the panel holds zeros past np */
            many(&job, panel + p * 8, np - p, yq + p * pb->n_out);
            p = np;
        }
        for (; p < np; p++) {
            one(&job, panel + p * 8, 1, yq + p * pb->n_out);
        }
        q += g;
    }
}

/* A 64-byte aligned scratch buffer of at least `bytes`, kept per thread and
 * reused across calls (the OpenMP threads persist), so that a product does not
 * map and fault in fresh pages for its panel each time. */
static float *thread_buffer(size_t bytes)
{
    static _Thread_local float *buffer = NULL;
    static _Thread_local size_t capacity = 0;
    if (bytes > capacity) {
        free(buffer);
        capacity = (bytes + 4095) / 4096 * 4096;
        buffer = aligned_alloc(64, capacity);
        if (buffer == NULL) {
            capacity = 0;
        }
    }
    return buffer;
}

#define GRAIN (1 << 18)

static int run(const problem *pb)
{
    const kernel_set *ks = kernels_for(pb->b_out);
    const int64_t n_pos = pb->n_img * pb->out_h * pb->out_w;
    const int64_t groups = (pb->b_in + 7) / 8;
    /* one thread per GRAIN multiply-adds at least: below that, waking and
     * joining a thread costs more than it saves */
    const int64_t macs = pb->crow[pb->n_block_rows] * pb->b_out * pb->b_in * n_pos;
    int64_t threads = macs / GRAIN;
    threads = threads < 1 ? 1 : threads > pb->threads ? pb->threads : threads;
    if (n_pos == 0) {
        return 0;
    }
    /* positions per panel: a multiple of 16 with the panel within 256 KiB, in
     * as many tiles as a multiple of the threads, as even as 16 allows; fewer
     * positions than a register tile go one at a time */
    const int64_t per_pos = (pb->n_used > 0 ? pb->n_used : 1) * groups * 8;
    int64_t t = n_pos;
    if (n_pos >= 16) {
        t = 16 * ((256 * 1024 / (int64_t)sizeof(float)) / (per_pos * 16));
        t = t < 16 ? 16 : t > 128 ? 128 : t;
        int64_t n_tiles = (n_pos + t - 1) / t;
        n_tiles = (n_tiles + threads - 1) / threads * threads;
        t = ((n_pos + n_tiles - 1) / n_tiles + 15) / 16 * 16;
    }
    const int64_t n_tiles = (n_pos + t - 1) / t;
    int64_t n_chunks = 1;
    if (n_tiles < 2 * threads) {
        n_chunks = (2 * threads + n_tiles - 1) / n_tiles;
        n_chunks = n_chunks > pb->n_block_rows ? pb->n_block_rows : n_chunks;
    }
    int64_t *bounds = malloc((size_t)(n_chunks + 1) * sizeof(int64_t));
    float *zeros = calloc((size_t)(pb->channels + 64), sizeof(float));
    int32_t *sources = malloc((size_t)(2 * pb->n_used + 2) * sizeof(int32_t));
    if (bounds == NULL || zeros == NULL || sources == NULL) {
        free(bounds);
        free(zeros);
        free(sources);
        return -1;
    }
    int32_t *kpos = sources, *chan = sources + pb->n_used;
    slot_sources(pb, kpos, chan);
    row_chunks(pb, n_chunks, bounds);
    const int64_t n_items = n_tiles * n_chunks;
    int failed = 0;
#pragma omp parallel num_threads((int)threads) if (threads > 1 && n_items > 1)
    {
        float *panel = thread_buffer((size_t)(per_pos * t) * sizeof(float));
        const float **pixel = malloc((size_t)(pb->k_h * pb->k_w) * sizeof(float *));
        if (panel == NULL || pixel == NULL) {
#pragma omp atomic write
            failed = 1;
        }
        int64_t packed = -1;
#pragma omp for schedule(dynamic, 1)
        for (int64_t item = 0; item < n_items; item++) {
            if (panel == NULL || pixel == NULL) {
                continue;
            }
            const int64_t tile = item / n_chunks, chunk = item % n_chunks;
            const int64_t first = tile * t;
            const int64_t np = n_pos - first < t ? n_pos - first : t;
            if (tile != packed) {
                pack_panel(pb, kpos, chan, first, t, n_pos, zeros, pixel, panel);
                packed = tile;
            }
            float *y = pb->y + first * pb->n_out;
            for (int64_t r = bounds[chunk]; r < bounds[chunk + 1]; r++) {
                block_row(pb, ks, r, panel, t, np, y);
            }
        }
        free(pixel);
    }
    free(bounds);
    free(zeros);
    free(sources);
    return failed ? -1 : 0;
}

static PyObject *py_forward(PyObject *self, PyObject *args)
{
    (void)self;
    unsigned long long x, y, weights, bias, crow, slot, used;
    long long n_used, g[14], sizes[4];
    int threads;
    if (!PyArg_ParseTuple(args, "KK(KKKKKL)(LLLLLLLLLLLLLL)(LLLL)i", &x, &y, &weights,
                          &bias, &crow, &slot, &used, &n_used, &g[0], &g[1], &g[2],
                          &g[3], &g[4], &g[5], &g[6], &g[7], &g[8], &g[9], &g[10],
                          &g[11], &g[12], &g[13], &sizes[0], &sizes[1], &sizes[2],
                          &sizes[3], &threads)) {
        return NULL;
    }
    problem pb = {
        (const float *)(uintptr_t)x, (const float *)(uintptr_t)weights,
        (const float *)(uintptr_t)bias, (float *)(uintptr_t)y,
        (const int64_t *)(uintptr_t)crow, (const int32_t *)(uintptr_t)slot,
        (const int32_t *)(uintptr_t)used, n_used,
        g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12],
        g[13], sizes[0], sizes[1], sizes[2], sizes[3], threads < 1 ? 1 : threads,
    };
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = run(&pb);
    Py_END_ALLOW_THREADS
    if (status != 0) {
        return PyErr_NoMemory();
    }
    Py_RETURN_NONE;
}

static PyObject *py_lanes(PyObject *self, PyObject *args)
{
    (void)self;
    long long b_out;
    if (!PyArg_ParseTuple(args, "L", &b_out)) {
        return NULL;
    }
    return PyLong_FromLong(kernels_for(b_out)->cw);
}

static PyObject *py_isa(PyObject *self, PyObject *args)
{
    (void)self;
    (void)args;
    return PyUnicode_FromString(isa_names[isa]);
}

static PyObject *py_supported_isas(PyObject *self, PyObject *args)
{
    (void)self;
    (void)args;
    PyObject *names = PyTuple_New(best_isa + 1);
    if (names == NULL) {
        return NULL;
    }
    for (int i = 0; i <= best_isa; i++) {
        PyObject *name = PyUnicode_FromString(isa_names[i]);
        if (name == NULL) {
            Py_DECREF(names);
            return NULL;
        }
        PyTuple_SET_ITEM(names, i, name);
    }
    return names;
}

static PyObject *py_set_isa(PyObject *self, PyObject *args)
{
    (void)self;
    const char *name;
    if (!PyArg_ParseTuple(args, "s", &name)) {
        return NULL;
    }
    for (int i = 0; i <= best_isa; i++) {
        if (strcmp(name, isa_names[i]) == 0) {
            isa = i;
            Py_RETURN_NONE;
        }
    }
    PyErr_Format(PyExc_ValueError,
                 "`isa` must be one this CPU supports, 'baseline' to '%s'; got '%s'.",
                 isa_names[best_isa], name);
    return NULL;
}

static PyMethodDef methods[] = {
    {"forward", py_forward, METH_VARARGS,
     "forward(x, y, (weights, bias, crow, slot, used, n_used), geometry, sizes, "
     "threads): y = x W^T + b, every array given by its address (see _kernels.py)"},
    {"lanes", py_lanes, METH_VARARGS,
     "lanes(b_out): output channels per packed chunk for blocks b_out rows tall"},
    {"isa", py_isa, METH_NOARGS, "isa(): the instruction set the kernels use"},
    {"supported_isas", py_supported_isas, METH_NOARGS,
     "supported_isas(): the instruction sets this CPU runs, baseline first"},
    {"set_isa", py_set_isa, METH_VARARGS,
     "set_isa(name): use another supported instruction set (for tests)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_bsr", "Block-sparse times dense products (float32, CPU).",
    -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__bsr(void)
{
    detect_isa();
    return PyModule_Create(&module);
}
