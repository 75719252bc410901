/* duck.trace._speedups: the recorder's per-event diff of a frame's locals, in C.
 *
 * This is the compiled twin of duck.trace.localdiff.diff_locals_py and follows the same
 * contract (see that module's docstring): walk the frame's locals, skip a value whose
 * identity and fingerprint say its safe repr cannot have changed, repr the rest (scalars
 * directly, anything else through duck.trace.saferepr.safe_repr), update the snapshot, and
 * append the name and repr of each new or changed local to the `names`/`texts` lists.
 *
 * It is optional: setup.py builds it where a compiler exists, and localdiff falls back to
 * the pure-Python diff where it is missing (or DUCK_PURE_PYTHON=1). It does not hook the
 * interpreter, format events or decide what is the user's code.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *safe_repr_fn = NULL; /* safe_repr(value, limit) -> str */
static PyObject *stable_types = NULL; /* dict: type -> bool (shared with localdiff) */
static PyObject *classify_fn = NULL;  /* classify(type) -> bool, fills stable_types */

static int
is_scalar(PyObject *v)
{
    PyTypeObject *t = Py_TYPE(v);
    return t == &PyLong_Type || t == &PyFloat_Type || t == &PyBool_Type || t == &PyUnicode_Type ||
           t == &PyBytes_Type || v == Py_None || t == &PyComplex_Type;
}

/* 1 when an identical object of this type always has the same repr, 0 when not, -1 on error. */
static int
is_stable(PyTypeObject *t)
{
    PyObject *known = PyDict_GetItemWithError(stable_types, (PyObject *)t);
    if (known == NULL) {
        if (PyErr_Occurred())
            return -1;
        known = PyObject_CallOneArg(classify_fn, (PyObject *)t);
        if (known == NULL)
            return -1;
        int r = PyObject_IsTrue(known);
        Py_DECREF(known);
        return r;
    }
    return known == Py_True;
}

/* The fingerprint of a list/tuple/dict whose first k items (dict: key, value pairs) are
 * scalars: (len, items...). A new reference, or NULL without an error set when the value has
 * none, or NULL with an error set. */
static PyObject *
fingerprint(PyObject *value, Py_ssize_t k)
{
    PyTypeObject *t = Py_TYPE(value);
    if (t == &PyList_Type || t == &PyTuple_Type) {
        Py_ssize_t n = Py_SIZE(value);
        Py_ssize_t m = n < k ? n : k;
        PyObject **items = t == &PyList_Type ? ((PyListObject *)value)->ob_item
                                             : ((PyTupleObject *)value)->ob_item;
        for (Py_ssize_t i = 0; i < m; i++) {
            if (!is_scalar(items[i]))
                return NULL;
        }
        PyObject *fp = PyTuple_New(m + 1);
        if (fp == NULL)
            return NULL;
        PyObject *size = PyLong_FromSsize_t(n);
        if (size == NULL) {
            Py_DECREF(fp);
            return NULL;
        }
        PyTuple_SET_ITEM(fp, 0, size);
        for (Py_ssize_t i = 0; i < m; i++) {
            Py_INCREF(items[i]);
            PyTuple_SET_ITEM(fp, i + 1, items[i]);
        }
        return fp;
    }
    if (t == &PyDict_Type) {
        Py_ssize_t n = PyDict_GET_SIZE(value);
        Py_ssize_t m = n < k ? n : k;
        Py_ssize_t pos = 0, i = 0;
        PyObject *key, *item;
        while (i < m && PyDict_Next(value, &pos, &key, &item)) {
            if (!is_scalar(key) || !is_scalar(item))
                return NULL;
            i++;
        }
        PyObject *fp = PyTuple_New(2 * m + 1);
        if (fp == NULL)
            return NULL;
        PyObject *size = PyLong_FromSsize_t(n);
        if (size == NULL) {
            Py_DECREF(fp);
            return NULL;
        }
        PyTuple_SET_ITEM(fp, 0, size);
        pos = 0;
        i = 0;
        while (i < m && PyDict_Next(value, &pos, &key, &item)) {
            Py_INCREF(key);
            Py_INCREF(item);
            PyTuple_SET_ITEM(fp, 2 * i + 1, key);
            PyTuple_SET_ITEM(fp, 2 * i + 2, item);
            i++;
        }
        return fp;
    }
    return NULL;
}

/* Whether value still has the fingerprint fp (no allocation, no Python code). */
static int
same_fingerprint(PyObject *value, PyObject *fp, Py_ssize_t k)
{
    PyTypeObject *t = Py_TYPE(value);
    Py_ssize_t width = PyTuple_GET_SIZE(fp);
    Py_ssize_t old_n = PyLong_AsSsize_t(PyTuple_GET_ITEM(fp, 0));
    if (old_n == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    if (t == &PyList_Type || t == &PyTuple_Type) {
        Py_ssize_t n = Py_SIZE(value);
        Py_ssize_t m = n < k ? n : k;
        if (n != old_n || width != m + 1)
            return 0;
        PyObject **items = t == &PyList_Type ? ((PyListObject *)value)->ob_item
                                             : ((PyTupleObject *)value)->ob_item;
        for (Py_ssize_t i = 0; i < m; i++) {
            if (items[i] != PyTuple_GET_ITEM(fp, i + 1))
                return 0;
        }
        return 1;
    }
    if (t == &PyDict_Type) {
        Py_ssize_t n = PyDict_GET_SIZE(value);
        Py_ssize_t m = n < k ? n : k;
        if (n != old_n || width != 2 * m + 1)
            return 0;
        Py_ssize_t pos = 0, i = 0;
        PyObject *key, *item;
        while (i < m && PyDict_Next(value, &pos, &key, &item)) {
            if (key != PyTuple_GET_ITEM(fp, 2 * i + 1) || item != PyTuple_GET_ITEM(fp, 2 * i + 2))
                return 0;
            i++;
        }
        return i == m;
    }
    return 0;
}

static PyObject *
call_safe_repr(PyObject *value, PyObject *limit_obj)
{
    PyObject *args[2] = {value, limit_obj};
    return PyObject_Vectorcall(safe_repr_fn, args, 2, NULL);
}

/* The safe repr of value: repr() for short scalars and strings, safe_repr otherwise. */
static PyObject *
value_text(PyObject *value, Py_ssize_t limit, PyObject *limit_obj)
{
    PyTypeObject *t = Py_TYPE(value);
    if (t == &PyLong_Type || t == &PyFloat_Type || t == &PyBool_Type ||
        (t == &PyUnicode_Type && PyUnicode_GET_LENGTH(value) <= limit / 2)) {
        PyObject *text = PyObject_Repr(value);
        if (text == NULL) {
            if (!PyErr_ExceptionMatches(PyExc_ValueError))
                return NULL;
            PyErr_Clear(); /* an int too long to print */
            return call_safe_repr(value, limit_obj);
        }
        if (PyUnicode_GET_LENGTH(text) <= limit)
            return text;
        Py_DECREF(text);
    }
    return call_safe_repr(value, limit_obj);
}

static int
starts_with_dunder(PyObject *name)
{
    if (!PyUnicode_Check(name))
        return 1; /* not an identifier: never reported */
    return PyUnicode_GET_LENGTH(name) >= 2 && PyUnicode_READ_CHAR(name, 0) == '_' &&
           PyUnicode_READ_CHAR(name, 1) == '_';
}

/* One local: compare with the snapshot, repr and note it when new or changed. Returns 1 when
 * it was appended, 0 when unchanged, -1 on error. */
static int
diff_one(PyObject *snap, PyObject *name, PyObject *value, Py_ssize_t limit, PyObject *limit_obj,
         Py_ssize_t k, PyObject *names, PyObject *texts)
{
    PyObject *old = PyDict_GetItemWithError(snap, name);
    if (old == NULL && PyErr_Occurred())
        return -1;
    if (old != NULL && PyTuple_GET_ITEM(old, 0) == value) {
        PyObject *fp = PyTuple_GET_ITEM(old, 2);
        if (fp == Py_True)
            return 0;
        if (fp != Py_None && same_fingerprint(value, fp, k))
            return 0;
    }
    Py_XINCREF(old); /* classify and safe_repr run Python code, which may touch the snapshot */
    int stable = is_stable(Py_TYPE(value));
    if (stable < 0) {
        Py_XDECREF(old);
        return -1;
    }
    PyObject *text = value_text(value, limit, limit_obj);
    if (text == NULL) {
        Py_XDECREF(old);
        return -1;
    }
    PyObject *fp = NULL;
    if (stable) {
        fp = Py_NewRef(Py_True);
    } else {
        fp = fingerprint(value, k);
        if (fp == NULL) {
            if (PyErr_Occurred())
                goto error;
            fp = Py_NewRef(Py_None);
        }
    }
    PyObject *entry = PyTuple_Pack(3, fp == Py_None ? Py_None : value, text, fp);
    Py_DECREF(fp);
    if (entry == NULL)
        goto error;
    int set = PyDict_SetItem(snap, name, entry);
    Py_DECREF(entry);
    if (set < 0)
        goto error;
    int changed = 1;
    if (old != NULL) {
        changed = PyObject_RichCompareBool(PyTuple_GET_ITEM(old, 1), text, Py_NE);
        if (changed < 0)
            goto error;
    }
    if (changed && (PyList_Append(names, name) < 0 || PyList_Append(texts, text) < 0))
        goto error;
    Py_XDECREF(old);
    Py_DECREF(text);
    return changed;
error:
    Py_XDECREF(old);
    Py_DECREF(text);
    return -1;
}

/* diff_locals(snap, f_locals, module, limit, names, texts) -> count | (count, deleted) */
static PyObject *
diff_locals(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 6) {
        PyErr_SetString(PyExc_TypeError, "diff_locals(snap, f_locals, module, limit, names, texts)");
        return NULL;
    }
    if (safe_repr_fn == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "duck.trace._speedups.configure() was not called");
        return NULL;
    }
    PyObject *snap = args[0], *locals = args[1], *names = args[4], *texts = args[5];
    if (!PyDict_CheckExact(snap) || !PyList_CheckExact(names) || !PyList_CheckExact(texts)) {
        PyErr_SetString(PyExc_TypeError, "snap must be a dict, names and texts lists");
        return NULL;
    }
    int module = PyObject_IsTrue(args[2]);
    if (module < 0)
        return NULL;
    PyObject *limit_obj = args[3];
    Py_ssize_t limit = PyLong_AsSsize_t(limit_obj);
    if (limit == -1 && PyErr_Occurred())
        return NULL;
    Py_ssize_t k = (limit + 32) / 3 + 3;
    Py_ssize_t count = 0, seen = 0;

    if (PyDict_Check(locals)) {
        Py_ssize_t pos = 0;
        PyObject *name, *value;
        while (PyDict_Next(locals, &pos, &name, &value)) {
            seen++;
            if (module && starts_with_dunder(name))
                continue;
            Py_INCREF(name);
            Py_INCREF(value);
            int r = diff_one(snap, name, value, limit, limit_obj, k, names, texts);
            Py_DECREF(name);
            Py_DECREF(value);
            if (r < 0)
                return NULL;
            count += r;
        }
    } else { /* a FrameLocalsProxy (3.13+) or another mapping */
        PyObject *items = PyMapping_Items(locals);
        if (items == NULL)
            return NULL;
        Py_ssize_t n = PyList_GET_SIZE(items);
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *pair = PyList_GET_ITEM(items, i);
            if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2)
                continue;
            PyObject *name = PyTuple_GET_ITEM(pair, 0), *value = PyTuple_GET_ITEM(pair, 1);
            seen++;
            if (module && starts_with_dunder(name))
                continue;
            int r = diff_one(snap, name, value, limit, limit_obj, k, names, texts);
            if (r < 0) {
                Py_DECREF(items);
                return NULL;
            }
            count += r;
        }
        Py_DECREF(items);
    }

    if (seen < PyDict_GET_SIZE(snap) || module) {
        PyObject *deleted = NULL;
        Py_ssize_t pos = 0;
        PyObject *name, *entry;
        while (PyDict_Next(snap, &pos, &name, &entry)) {
            int present = PySequence_Contains(locals, name);
            if (present < 0) {
                Py_XDECREF(deleted);
                return NULL;
            }
            if (present)
                continue;
            if (deleted == NULL && (deleted = PyList_New(0)) == NULL)
                return NULL;
            if (PyList_Append(deleted, name) < 0) {
                Py_DECREF(deleted);
                return NULL;
            }
        }
        if (deleted != NULL) {
            Py_ssize_t n = PyList_GET_SIZE(deleted);
            for (Py_ssize_t i = 0; i < n; i++) {
                if (PyDict_DelItem(snap, PyList_GET_ITEM(deleted, i)) < 0) {
                    Py_DECREF(deleted);
                    return NULL;
                }
            }
            PyObject *result = Py_BuildValue("(nN)", count, deleted);
            return result;
        }
    }
    return PyLong_FromSsize_t(count);
}

static PyObject *
configure(PyObject *self, PyObject *args)
{
    PyObject *repr_fn, *stable, *classify;
    if (!PyArg_ParseTuple(args, "OO!O:configure", &repr_fn, &PyDict_Type, &stable, &classify))
        return NULL;
    Py_XSETREF(safe_repr_fn, Py_NewRef(repr_fn));
    Py_XSETREF(stable_types, Py_NewRef(stable));
    Py_XSETREF(classify_fn, Py_NewRef(classify));
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"diff_locals", (PyCFunction)(void (*)(void))diff_locals, METH_FASTCALL,
     "diff_locals(snap, f_locals, module, limit, names, texts) -> count | (count, deleted)\n\n"
     "Append the name and safe repr of each new or changed local; see duck.trace.localdiff."},
    {"configure", configure, METH_VARARGS,
     "configure(safe_repr, stable_types, classify): the Python helpers the diff calls back."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "duck.trace._speedups",
    "The recorder's per-event diff of a frame's locals, in C (see duck.trace.localdiff).", -1, methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModule_Create(&module_def);
}
