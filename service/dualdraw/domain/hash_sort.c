/* 32-byte hashes sorted where they lie (the module dualdraw.domain.hash_sort).
 *
 * A draw's sets are committed to by the Merkle root of their leaf hashes sorted ascending
 * (docs/DRAW-ALGORITHM.md §6): at 1M objects the plan's 921,709 leaves and the 979,863 in-scope objects'
 * leaves, at 10M ten times as many. numpy sorts them as fixed-width byte strings, one comparison of up to
 * 32 bytes at a time (0.15 s for the plan's leaves; their argsort 0.22 s), holding the draw's hashing
 * thread while the draw waits for the root. Hashes are uniform bytes, so a radix sort by their leading
 * bytes has almost nothing left to compare: an American flag sort splits the records into 256 buckets by
 * one byte, swapping each into its bucket in place (no second buffer: 320 MB at 10M), recurses into each
 * bucket with the next byte, and finishes small buckets by insertion. An optional array of 4-byte
 * positions moves with its records. The GIL is released while it runs.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#define WIDTH 32  /* bytes of one hash */
#define SMALL 24  /* a bucket of at most this many records is finished by insertion sort */

typedef struct {
    unsigned char *data;
    unsigned char *positions; /* 4 bytes a record, moved as bytes (any alignment); NULL: none */
} Records;

#define POSITION 4

static void swap(const Records *r, size_t a, size_t b) {
    unsigned char held[WIDTH];
    memcpy(held, r->data + a * WIDTH, WIDTH);
    memcpy(r->data + a * WIDTH, r->data + b * WIDTH, WIDTH);
    memcpy(r->data + b * WIDTH, held, WIDTH);
    if (r->positions) {
        unsigned char position[POSITION];
        memcpy(position, r->positions + a * POSITION, POSITION);
        memcpy(r->positions + a * POSITION, r->positions + b * POSITION, POSITION);
        memcpy(r->positions + b * POSITION, position, POSITION);
    }
}

/* Records lo..hi, equal in their first `depth` bytes, sorted by the rest. */
static void insertion_sort(const Records *r, size_t lo, size_t hi, size_t depth) {
    unsigned char held[WIDTH];
    for (size_t i = lo + 1; i < hi; i++) {
        unsigned char *at = r->data + i * WIDTH;
        if (memcmp(at - WIDTH + depth, at + depth, WIDTH - depth) <= 0) {
            continue;
        }
        unsigned char position[POSITION];
        memcpy(held, at, WIDTH);
        if (r->positions) {
            memcpy(position, r->positions + i * POSITION, POSITION);
        }
        size_t j = i;
        while (j > lo && memcmp(r->data + (j - 1) * WIDTH + depth, held + depth, WIDTH - depth) > 0) {
            memcpy(r->data + j * WIDTH, r->data + (j - 1) * WIDTH, WIDTH);
            if (r->positions) {
                memcpy(r->positions + j * POSITION, r->positions + (j - 1) * POSITION, POSITION);
            }
            j--;
        }
        memcpy(r->data + j * WIDTH, held, WIDTH);
        if (r->positions) {
            memcpy(r->positions + j * POSITION, position, POSITION);
        }
    }
}

/* Records lo..hi, equal in their first `depth` bytes, sorted by the rest: bucketed by byte `depth`. */
static void flag_sort(const Records *r, size_t lo, size_t hi, size_t depth) {
    if (hi - lo <= SMALL) {
        insertion_sort(r, lo, hi, depth);
        return;
    }
    if (depth == WIDTH) {
        return; /* equal records */
    }
    size_t end[256] = {0};
    for (size_t i = lo; i < hi; i++) {
        end[r->data[i * WIDTH + depth]]++;
    }
    size_t next[256];
    size_t start = lo;
    for (int b = 0; b < 256; b++) {
        next[b] = start;
        start += end[b];
        end[b] = start;
    }
    for (int b = 0; b < 256; b++) {
        while (next[b] < end[b]) {
            unsigned char v = r->data[next[b] * WIDTH + depth];
            if (v == b) {
                next[b]++;
            } else {
                swap(r, next[b], next[v]++); /* into its bucket; the record taken out is looked at next */
            }
        }
    }
    start = lo;
    for (int b = 0; b < 256; b++) {
        if (end[b] - start > 1) {
            flag_sort(r, start, end[b], depth + 1);
        }
        start = end[b];
    }
}

PyDoc_STRVAR(sort_hashes_doc,
             "sort_hashes(hashes, positions=None)\n--\n\n"
             "Sorts the 32-byte records laid end to end in the writable buffer ``hashes`` in place, bytewise\n"
             "ascending; ``positions``, a writable buffer of one 4-byte item per record, is reordered with them.");

static PyObject *sort_hashes(PyObject *self, PyObject *args) {
    PyObject *hashes_object, *positions_object = Py_None;
    if (!PyArg_ParseTuple(args, "O|O:sort_hashes", &hashes_object, &positions_object)) {
        return NULL;
    }
    Py_buffer hashes, positions = {0};
    if (PyObject_GetBuffer(hashes_object, &hashes, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0) {
        return NULL;
    }
    size_t n = (size_t)hashes.len / WIDTH;
    if (hashes.len % WIDTH != 0) {
        PyErr_Format(PyExc_ValueError, "%zd bytes are not whole 32-byte hashes", hashes.len);
        PyBuffer_Release(&hashes);
        return NULL;
    }
    Records records = {hashes.buf, NULL};
    if (positions_object != Py_None) {
        if (PyObject_GetBuffer(positions_object, &positions, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0) {
            PyBuffer_Release(&hashes);
            return NULL;
        }
        if ((size_t)positions.len != POSITION * n) {
            PyErr_Format(PyExc_ValueError, "%zd bytes of positions for %zu hashes (4 bytes each)", positions.len,
                         n);
            PyBuffer_Release(&positions);
            PyBuffer_Release(&hashes);
            return NULL;
        }
        records.positions = positions.buf;
    }
    Py_BEGIN_ALLOW_THREADS;
    flag_sort(&records, 0, n, 0);
    Py_END_ALLOW_THREADS;
    if (records.positions) {
        PyBuffer_Release(&positions);
    }
    PyBuffer_Release(&hashes);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"sort_hashes", sort_hashes, METH_VARARGS, sort_hashes_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "dualdraw.domain.hash_sort",
    .m_doc = "32-byte hashes sorted in place by a radix sort, the GIL released (hash_sort.c says why).",
    .m_size = 0,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit_hash_sort(void) { return PyModuleDef_Init(&module); }
