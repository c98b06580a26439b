/* Python sequences read from C: without the GIL, the items of a sequence as pointers into objects a tuple
 * keeps alive, and unsigned integer buffers; with it, the texts of a list or tuple read where they lie
 * (included by the modules sha256_batch.c and framed_text.c). */
#ifndef DUALDRAW_SEQUENCE_PIECES_H
#define DUALDRAW_SEQUENCE_PIECES_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

typedef struct {
    const char *data;
    Py_ssize_t size;
} Piece;

/* The items of a sequence as pointers into the objects that `held` keeps alive (a tuple, so nobody can
 * change it while the GIL is released): ASCII str when `text`, else bytes (`what` names them in errors).
 * NULL with an exception set on failure. */
static inline Piece *pieces_of(PyObject *items, int text, const char *what, PyObject **held) {
    PyObject *tuple = PySequence_Tuple(items);
    if (tuple == NULL) return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(tuple);
    Piece *pieces = PyMem_Malloc(sizeof(Piece) * (size_t)(n ? n : 1));
    if (pieces == NULL) {
        Py_DECREF(tuple);
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PyTuple_GET_ITEM(tuple, i);
        if (text ? !PyUnicode_Check(item) || !PyUnicode_IS_ASCII(item) : !PyBytes_Check(item)) {
            PyErr_Format(text ? PyExc_ValueError : PyExc_TypeError, "%s %zd is not %s", what, i,
                         text ? "ASCII text" : "bytes");
            PyMem_Free(pieces);
            Py_DECREF(tuple);
            return NULL;
        }
        if (text) { /* ASCII: one byte per character, as UTF-8 */
            pieces[i].data = (const char *)PyUnicode_DATA(item);
            pieces[i].size = PyUnicode_GET_LENGTH(item);
        } else {
            pieces[i].data = PyBytes_AS_STRING(item);
            pieces[i].size = PyBytes_GET_SIZE(item);
        }
    }
    *held = tuple;
    return pieces;
}

/* Item i of an unsigned integer buffer of 1, 2, 4 or 8 bytes an item. */
static inline unsigned long long unsigned_at(const Py_buffer *view, Py_ssize_t i) {
    const char *at = (const char *)view->buf + i * view->itemsize;
    switch (view->itemsize) {
        case 1: return *(const unsigned char *)at;
        case 2: return *(const unsigned short *)at;
        case 4: return *(const unsigned int *)at;
        default: return *(const unsigned long long *)at;
    }
}

static inline int unsigned_buffer(PyObject *source, Py_buffer *view) {
    if (PyObject_GetBuffer(source, view, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) < 0) return -1;
    const char *format = view->format ? view->format : "B";
    if (format[0] == '=' || format[0] == '<' || format[0] == '@') format++;
    if (view->ndim > 1 || strlen(format) != 1 || strchr("BHILQN", format[0]) == NULL ||
        (view->itemsize != 1 && view->itemsize != 2 && view->itemsize != 4 && view->itemsize != 8)) {
        PyErr_SetString(PyExc_TypeError, "frame_of must be a one-dimensional buffer of unsigned integers");
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* `items` itself when it is a list or tuple (a new reference; read with the GIL held, nothing can change
 * it), else a new tuple of its items; NULL with an exception set on failure. Read with
 * PySequence_Fast_GET_SIZE and PySequence_Fast_ITEMS. */
static inline PyObject *held_items(PyObject *items) {
    return PyList_CheckExact(items) || PyTuple_CheckExact(items) ? Py_NewRef(items) : PySequence_Tuple(items);
}

/* 0 when items[from] to items[n - 1] are all str, else -1 with a TypeError naming the first that is not. */
static inline int require_texts(PyObject **items, Py_ssize_t from, Py_ssize_t n) {
    for (Py_ssize_t i = from; i < n; i++) {
        if (!PyUnicode_Check(items[i])) {
            PyErr_Format(PyExc_TypeError, "text %zd is %.80s, not str", i, Py_TYPE(items[i])->tp_name);
            return -1;
        }
    }
    return 0;
}

#endif
