/* Lines framed around ASCII codes, many a call (the module dualdraw.domain.framed_text).
 *
 * A 1M-object draw stores its eligible entries and its object plan as text, a line per object: the object's
 * code between a head and an end shared by thousands of objects (its stratum and risk class; its
 * department and office). From Python each line is a new str and a concatenation; here one C pass writes a
 * piece of lines into one bytes object with the GIL released, so the draw's main thread is not held up by
 * the thread that stores them. The lines are exactly those the Python code writes; tests compare both.
 * `plain` tells, in one pass, whether texts need no escaping in canonical JSON: the draw asks it of its
 * million codes several times, where joining them to match a pattern made a copy of all their text.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#include "sequence_pieces.h"

PyDoc_STRVAR(framed_lines_doc,
             "framed_lines(head, codes, frame_of, ends) -> bytes\n\n"
             "head + code + ends[frame_of[i]] for each code i (ASCII str), the lines joined by a line feed "
             "(none after the last).");

static PyObject *framed_lines(PyObject *self, PyObject *args) {
    Py_buffer head, frames;
    PyObject *codes_arg, *frame_arg, *ends_arg;
    PyObject *codes_held = NULL, *ends_held = NULL, *out = NULL;
    Piece *codes = NULL, *ends = NULL;
    if (!PyArg_ParseTuple(args, "y*OOO", &head, &codes_arg, &frame_arg, &ends_arg)) return NULL;
    if (unsigned_buffer(frame_arg, &frames) < 0) goto release_head;
    if ((codes = pieces_of(codes_arg, 1, "code", &codes_held)) == NULL) goto release_frames;
    if ((ends = pieces_of(ends_arg, 0, "end", &ends_held)) == NULL) goto release_frames;
    Py_ssize_t n = PyTuple_GET_SIZE(codes_held), count = PyTuple_GET_SIZE(ends_held);
    if (frames.len / frames.itemsize != n) {
        PyErr_SetString(PyExc_ValueError, "one frame number per code");
        goto release_frames;
    }
    Py_ssize_t size = n ? n - 1 : 0; /* the line feeds between lines */
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned long long f = unsigned_at(&frames, i);
        if (f >= (unsigned long long)count) {
            PyErr_Format(PyExc_ValueError, "frame_of[%zd] names no end", i);
            goto release_frames;
        }
        size += head.len + codes[i].size + ends[f].size;
    }
    if ((out = PyBytes_FromStringAndSize(NULL, size)) == NULL) goto release_frames;
    char *at = PyBytes_AS_STRING(out);
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        const Piece end = ends[unsigned_at(&frames, i)];
        if (i) *at++ = '\n';
        memcpy(at, head.buf, (size_t)head.len);
        at += head.len;
        memcpy(at, codes[i].data, (size_t)codes[i].size);
        at += codes[i].size;
        memcpy(at, end.data, (size_t)end.size);
        at += end.size;
    }
    Py_END_ALLOW_THREADS
release_frames:
    PyMem_Free(codes);
    PyMem_Free(ends);
    Py_XDECREF(codes_held);
    Py_XDECREF(ends_held);
    PyBuffer_Release(&frames);
release_head:
    PyBuffer_Release(&head);
    return out;
}

PyDoc_STRVAR(plain_doc,
             "plain(texts) -> bool\n\n"
             "Whether every one of texts (str) is printable ASCII other than the quote and the backslash: "
             "the strings canonical JSON writes unchanged. TypeError for an item that is not str.");

/* Whether one str is printable ASCII other than the quote and the backslash. */
static int plain_text(PyObject *item) {
    if (!PyUnicode_IS_ASCII(item)) return 0;
    const unsigned char *c = PyUnicode_DATA(item);
    Py_ssize_t size = PyUnicode_GET_LENGTH(item);
    for (Py_ssize_t j = 0; j < size; j++) {
        if (c[j] < 0x20 || c[j] > 0x7e || c[j] == '"' || c[j] == '\\') return 0;
    }
    return 1;
}

static PyObject *plain(PyObject *self, PyObject *arg) {
    /* One pass over the texts, each read once where it lies: a draw's million codes are a million objects
     * spread over the heap, and reading them is most of the cost (a copy of the list, or a second pass
     * with the GIL released, cost more than they saved). */
    PyObject *held = held_items(arg);
    if (held == NULL) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(held);
    PyObject **items = PySequence_Fast_ITEMS(held);
    int found = 1;
    Py_ssize_t i = 0;
    for (; i < n && found; i++) {
        if (require_texts(items, i, i + 1) < 0) break;
        found = plain_text(items[i]);
    }
    /* the rest are still checked for type, as joining them would */
    int failed = PyErr_Occurred() != NULL || require_texts(items, i, n) < 0;
    Py_DECREF(held);
    return failed ? NULL : PyBool_FromLong(found);
}

static PyMethodDef methods[] = {
    {"framed_lines", framed_lines, METH_VARARGS, framed_lines_doc},
    {"plain", plain, METH_O, plain_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    "dualdraw.domain.framed_text",
    "Lines framed around ASCII codes, many a call, in C (see framed_text.c).",
    0,
    methods,
};

PyMODINIT_FUNC PyInit_framed_text(void) { return PyModuleDef_Init(&module); }
