/* Rows as PostgreSQL COPY text, many a call (the module dualdraw.adapters.store.copy_text).
 *
 * A bulk write (a million objects' import, a draw's exclusions and team members) sends its rows to COPY in
 * the text format: values separated by a tab, each row ended by a line feed, and the characters the format
 * escapes (tab, line feed, backslash, carriage return, NUL, backspace, vertical tab, form feed) escaped.
 * When every value is a str holding none of them, the text is the values as they are. In Python that took
 * two joins, a scan of the whole text per escaped character and then its UTF-8 encoding: 1.8 s of a
 * million objects' import. Here one pass checks each value and another copies its UTF-8 bytes. The bytes
 * are exactly those of the Python writer; tests compare both.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

/* The bytes COPY's text format escapes: with any of them in a value, the row is psycopg's to write. UTF-8
 * encodes every character beyond ASCII in bytes of 0x80 and above, so a byte scan finds exactly these. */
static unsigned char escaped[256];

typedef struct {
    const char *data;
    Py_ssize_t size;
} Value;

/* The UTF-8 bytes of `item`, a str needing no escape: 1, or 0 when it is not such a str (no exception
 * set). A non-ASCII str's encoding is appended to `held`, which keeps it alive; -1 on a memory error. */
static int value_of(PyObject *item, PyObject *held, Value *value) {
    if (!PyUnicode_Check(item)) return 0;
    if (PyUnicode_IS_ASCII(item)) {
        value->data = (const char *)PyUnicode_DATA(item);
        value->size = PyUnicode_GET_LENGTH(item);
    } else {
        PyObject *encoded = PyUnicode_AsUTF8String(item);
        if (encoded == NULL) { /* a lone surrogate: psycopg reports it */
            if (PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) {
                PyErr_Clear();
                return 0;
            }
            return -1;
        }
        int kept = PyList_Append(held, encoded);
        Py_DECREF(encoded); /* the list holds it */
        if (kept < 0) return -1;
        value->data = PyBytes_AS_STRING(encoded);
        value->size = PyBytes_GET_SIZE(encoded);
    }
    const unsigned char *at = (const unsigned char *)value->data;
    for (Py_ssize_t i = 0; i < value->size; i++) {
        if (escaped[at[i]]) return 0;
    }
    return 1;
}

PyDoc_STRVAR(rows_text_doc,
             "rows_text(rows, width) -> bytes | None\n\n"
             "The rows in COPY's text format, UTF-8: each row's values joined by a tab, each row ended by a "
             "line feed. None unless every row has `width` values, each a str that COPY need not escape.");

static PyObject *rows_text(PyObject *self, PyObject *args) {
    PyObject *rows_arg, *rows = NULL, *held = NULL, *out = NULL;
    Py_ssize_t width;
    Value *values = NULL;
    (void)self;
    if (!PyArg_ParseTuple(args, "On", &rows_arg, &width)) return NULL;
    if (width < 1) {
        PyErr_SetString(PyExc_ValueError, "width must be at least 1");
        return NULL;
    }
    if ((rows = PySequence_Fast(rows_arg, "rows must be a sequence")) == NULL) return NULL;
    if ((held = PyList_New(0)) == NULL) goto done;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(rows);
    if (n > PY_SSIZE_T_MAX / (Py_ssize_t)sizeof(Value) / width) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t count = n * width;
    values = PyMem_Malloc(sizeof(Value) * (size_t)(count > 0 ? count : 1));
    if (values == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t size = count; /* a tab or a line feed after each value */
    for (Py_ssize_t r = 0; r < n; r++) {
        PyObject *row = PySequence_Fast_GET_ITEM(rows, r);
        if (!(PyTuple_Check(row) || PyList_Check(row)) || PySequence_Fast_GET_SIZE(row) != width) {
            out = Py_NewRef(Py_None);
            goto done;
        }
        for (Py_ssize_t c = 0; c < width; c++) {
            Value *value = &values[r * width + c];
            int plain = value_of(PySequence_Fast_GET_ITEM(row, c), held, value);
            if (plain < 0) goto done;
            if (plain == 0) {
                out = Py_NewRef(Py_None);
                goto done;
            }
            size += value->size;
        }
    }
    if ((out = PyBytes_FromStringAndSize(NULL, size)) == NULL) goto done;
    char *at = PyBytes_AS_STRING(out);
    for (Py_ssize_t i = 0; i < count; i++) {
        memcpy(at, values[i].data, (size_t)values[i].size);
        at += values[i].size;
        *at++ = (i + 1) % width ? '\t' : '\n';
    }
done:
    PyMem_Free(values);
    Py_XDECREF(held);
    Py_DECREF(rows);
    return out;
}

static PyMethodDef methods[] = {
    {"rows_text", rows_text, METH_VARARGS, rows_text_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    "dualdraw.adapters.store.copy_text",
    "Rows as PostgreSQL COPY text, many a call, in C (see copy_text.c).",
    0,
    methods,
};

PyMODINIT_FUNC PyInit_copy_text(void) {
    const char *special = "\t\n\\\r\b\v\f";
    for (const char *c = special; *c; c++) escaped[(unsigned char)*c] = 1;
    escaped[0] = 1;
    return PyModuleDef_Init(&module);
}
