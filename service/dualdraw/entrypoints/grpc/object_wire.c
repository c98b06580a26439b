/* The inspection objects of an import chunk read straight from its wire bytes (the module
 * dualdraw.entrypoints.grpc.object_wire).
 *
 * A million-object import arrives as 500 ImportDirectoryRequest chunks. Reading each object's ten fields
 * from the parsed messages makes a Python object per field through protobuf's accessors: 1.2 to 3 s of the
 * import, all of it holding the GIL, and then the text check joined and scanned every string again. Here
 * one pass over the chunk's bytes, which the parser has already accepted, decodes the objects' fields into
 * columns and checks every string on the way (length, control characters). The values are exactly what
 * the accessors give; tests compare both on generated chunks, odd encodings included. Anything this reader
 * does not expect (a group, a known field with another wire type, bytes that do not parse) makes it answer
 * None, and the caller reads the parsed message as before.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

enum { CODE, NAME, REGION, DEPARTMENT, INDUSTRY, OFFICE, RESOURCE_NAME, STRINGS };
enum { LINES = STRINGS, RISK, STATUS, COLUMNS };

/* The InspectionObject field number of each string column (proto/dualdraw/v1/directory.proto). */
static const int string_field[STRINGS] = {1, 2, 3, 4, 5, 9, 10};
#define OBJECTS_FIELD 2  /* ImportDirectoryRequest.objects */
#define LINES_FIELD 6    /* InspectionObject.business_lines */
#define RISK_FIELD 7     /* InspectionObject.risk_class */
#define STATUS_FIELD 8   /* InspectionObject.status */

/* Characters the text check refuses: control characters other than tab, line feed and carriage return.
 * UTF-8 encodes every character beyond ASCII in bytes of 0x80 and above, so a byte scan finds exactly
 * these. */
static unsigned char control[256];

typedef struct {
    const unsigned char *at, *end;
} Reader;

/* A varint: 1, or 0 when the bytes end inside one or it runs past ten bytes. */
static int varint(Reader *r, uint64_t *value) {
    uint64_t v = 0;
    for (int shift = 0; shift < 70 && r->at < r->end; shift += 7) {
        unsigned char b = *r->at++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *value = v;
            return 1;
        }
    }
    return 0;
}

/* Skips a field's value of `wire_type` (varint, 64-bit, length-delimited, 32-bit): 1, or 0 for a group or
 * bytes that end too soon. A length-delimited value is left in `*value` / `*size`. */
static int field_value(Reader *r, int wire_type, const unsigned char **value, Py_ssize_t *size) {
    uint64_t n;
    switch (wire_type) {
    case 0:
        return varint(r, &n);
    case 1:
        if (r->end - r->at < 8) return 0;
        r->at += 8;
        return 1;
    case 2:
        if (!varint(r, &n) || n > (uint64_t)(r->end - r->at)) return 0;
        *value = r->at;
        *size = (Py_ssize_t)n;
        r->at += n;
        return 1;
    case 5:
        if (r->end - r->at < 4) return 0;
        r->at += 4;
        return 1;
    default:
        return 0;
    }
}

/* One str made from the bytes at `at`, for the next equal bytes of its column. */
typedef struct {
    const unsigned char *at;
    Py_ssize_t size;
    PyObject *value; /* a reference of its own */
} Seen;

#define SEEN_SLOTS 256
#define SEEN_LONGEST 64

typedef struct {
    PyObject *empty;    /* "" for a field not sent */
    Py_ssize_t longest; /* the longest string so far, in characters */
    int control;        /* some string so far holds a control character */
    /* Regions, departments, industries, offices and business lines repeat across a chunk's objects (a few
     * dozen values among thousands): each column's recent values, by a hash of their bytes, are reused. */
    Seen seen[COLUMNS][SEEN_SLOTS];
} Context;

static int repeats(int column) {
    return column == REGION || column == DEPARTMENT || column == INDUSTRY || column == OFFICE ||
           column == LINES;
}

static PyObject *decoded(Context *c, const unsigned char *at, Py_ssize_t size);

/* The str of `size` UTF-8 bytes at `at` for `column`, checked for the text check on the way (a new
 * reference); NULL with an exception set (a UnicodeDecodeError among them: the caller answers None). */
static PyObject *text(Context *c, int column, const unsigned char *at, Py_ssize_t size) {
    if (!repeats(column) || size > SEEN_LONGEST) return decoded(c, at, size);
    uint32_t hash = 2166136261u; /* FNV-1a */
    for (Py_ssize_t i = 0; i < size; i++) hash = (hash ^ at[i]) * 16777619u;
    Seen *slot = &c->seen[column][hash % SEEN_SLOTS];
    if (slot->value != NULL && slot->size == size && memcmp(slot->at, at, (size_t)size) == 0) {
        return Py_NewRef(slot->value); /* checked when it was first decoded */
    }
    PyObject *s = decoded(c, at, size);
    if (s != NULL) {
        Py_XSETREF(slot->value, Py_NewRef(s));
        slot->at = at;
        slot->size = size;
    }
    return s;
}

static PyObject *decoded(Context *c, const unsigned char *at, Py_ssize_t size) {
    int ascii = 1;
    for (Py_ssize_t i = 0; i < size; i++) {
        if (control[at[i]]) c->control = 1;
        if (at[i] & 0x80) ascii = 0;
    }
    PyObject *s;
    if (ascii) {
        s = PyUnicode_New(size, 127);
        if (s == NULL) return NULL;
        memcpy(PyUnicode_DATA(s), at, (size_t)size);
    } else {
        s = PyUnicode_DecodeUTF8((const char *)at, size, NULL);
        if (s == NULL) return NULL;
    }
    if (PyUnicode_GET_LENGTH(s) > c->longest) c->longest = PyUnicode_GET_LENGTH(s);
    return s;
}

/* Appends one InspectionObject (`size` bytes at `at`) to the columns: 1, 0 for what this reader does not
 * expect, -1 with an exception set. */
static int read_object(Context *c, const unsigned char *at, Py_ssize_t size, PyObject **columns) {
    PyObject *strings[STRINGS] = {NULL};
    PyObject *lines = PyList_New(0);
    int32_t risk = 0, status = 0;
    int outcome = -1;
    if (lines == NULL) return -1;
    Reader r = {at, at + size};
    while (r.at < r.end) {
        uint64_t key;
        if (!varint(&r, &key) || (key >> 3) == 0 || (key >> 3) > 536870911) goto unexpected;
        int number = (int)(key >> 3), wire_type = (int)(key & 7);
        const unsigned char *value = NULL;
        Py_ssize_t value_size = 0;
        if (number == RISK_FIELD || number == STATUS_FIELD) {
            uint64_t n;
            if (wire_type != 0 || !varint(&r, &n)) goto unexpected;
            /* an enum is an int32: a negative one is sent as ten bytes, cut back to 32 bits */
            *(number == RISK_FIELD ? &risk : &status) = (int32_t)(uint32_t)n;
            continue;
        }
        int column = -1;
        for (int i = 0; i < STRINGS; i++) {
            if (string_field[i] == number) column = i;
        }
        if (column < 0 && number != LINES_FIELD) { /* a field this reader does not know: skipped */
            if (!field_value(&r, wire_type, &value, &value_size)) goto unexpected;
            continue;
        }
        if (wire_type != 2 || !field_value(&r, wire_type, &value, &value_size)) goto unexpected;
        PyObject *s = text(c, column < 0 ? LINES : column, value, value_size);
        if (s == NULL) goto failed;
        if (column < 0) {
            int appended = PyList_Append(lines, s);
            Py_DECREF(s);
            if (appended < 0) goto failed;
        } else { /* a string sent twice: the last one counts */
            Py_XSETREF(strings[column], s);
        }
    }
    for (int i = 0; i < STRINGS; i++) {
        if (PyList_Append(columns[i], strings[i] ? strings[i] : c->empty) < 0) goto failed;
    }
    PyObject *line_tuple = PyList_AsTuple(lines);
    if (line_tuple == NULL) goto failed;
    int appended = PyList_Append(columns[LINES], line_tuple);
    Py_DECREF(line_tuple);
    if (appended < 0) goto failed;
    PyObject *numbers[2] = {PyLong_FromLong(risk), PyLong_FromLong(status)};
    for (int i = 0; i < 2; i++) {
        if (numbers[i] == NULL || PyList_Append(columns[RISK + i], numbers[i]) < 0) {
            Py_XDECREF(numbers[0]);
            Py_XDECREF(numbers[1]);
            goto failed;
        }
    }
    Py_DECREF(numbers[0]);
    Py_DECREF(numbers[1]);
    outcome = 1;
    goto done;
unexpected:
    outcome = 0;
    goto done;
failed:
    if (PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
        PyErr_Clear();
        outcome = 0;
    }
done:
    for (int i = 0; i < STRINGS; i++) Py_XDECREF(strings[i]);
    Py_DECREF(lines);
    return outcome;
}

PyDoc_STRVAR(read_objects_doc,
             "read_objects(chunk) -> tuple | None\n\n"
             "The fields of the objects of a serialized ImportDirectoryRequest, one tuple per field (credit "
             "codes, display names, region codes, registering departments, industries, offices, resource "
             "names, business lines, risk classes, statuses), then the length in characters of their "
             "longest string and whether any of their strings holds a control character other than tab, "
             "line feed and carriage return. None for bytes this reader does not expect.");

static PyObject *read_objects(PyObject *self, PyObject *args) {
    Py_buffer chunk;
    static Context c; /* holds the GIL: one call at a time */
    memset(&c, 0, sizeof c);
    if (!PyArg_ParseTuple(args, "y*", &chunk)) return NULL;
    PyObject *columns[COLUMNS] = {NULL};
    PyObject *result = NULL;
    c.empty = PyUnicode_New(0, 0);
    if (c.empty == NULL) goto out;
    for (int i = 0; i < COLUMNS; i++) {
        if ((columns[i] = PyList_New(0)) == NULL) goto out;
    }
    Reader r = {(const unsigned char *)chunk.buf, (const unsigned char *)chunk.buf + chunk.len};
    while (r.at < r.end) {
        uint64_t key;
        const unsigned char *value = NULL;
        Py_ssize_t size = 0;
        if (!varint(&r, &key) || (key >> 3) == 0 || !field_value(&r, (int)(key & 7), &value, &size)) {
            result = Py_NewRef(Py_None);
            goto out;
        }
        if ((key >> 3) != OBJECTS_FIELD) continue;
        if ((key & 7) != 2) {
            result = Py_NewRef(Py_None);
            goto out;
        }
        int read = read_object(&c, value, size, columns);
        if (read < 0) goto out;
        if (read == 0) {
            result = Py_NewRef(Py_None);
            goto out;
        }
    }
    result = PyTuple_New(COLUMNS + 2);
    if (result == NULL) goto out;
    for (int i = 0; i < COLUMNS; i++) {
        PyObject *column = PyList_AsTuple(columns[i]);
        if (column == NULL) {
            Py_CLEAR(result);
            goto out;
        }
        PyTuple_SET_ITEM(result, i, column);
    }
    PyObject *longest = PyLong_FromSsize_t(c.longest);
    if (longest == NULL) {
        Py_CLEAR(result);
        goto out;
    }
    PyTuple_SET_ITEM(result, COLUMNS, longest);
    PyTuple_SET_ITEM(result, COLUMNS + 1, PyBool_FromLong(c.control));
out:
    for (int i = 0; i < COLUMNS; i++) {
        Py_XDECREF(columns[i]);
        for (int j = 0; j < SEEN_SLOTS; j++) Py_XDECREF(c.seen[i][j].value);
    }
    Py_XDECREF(c.empty);
    PyBuffer_Release(&chunk);
    return result;
}

static PyMethodDef methods[] = {
    {"read_objects", read_objects, METH_VARARGS, read_objects_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "object_wire",
    "The objects of an import chunk read from its wire bytes, with their text check.", -1, methods,
};

PyMODINIT_FUNC PyInit_object_wire(void) {
    for (int b = 0; b < 0x20; b++) control[b] = b != '\t' && b != '\n' && b != '\r';
    control[0x7f] = 1;
    return PyModule_Create(&module);
}
