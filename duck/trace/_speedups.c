/* duck.trace._speedups: the recorder's per-event diff of a frame's locals and its trace-line formatter, in C.
 *
 * This is the compiled twin of duck.trace.localdiff.diff_locals_py and follows the same
 * contract (see that module's docstring): walk the frame's locals, skip a value whose
 * identity and fingerprint say its safe repr cannot have changed (the check compares while it
 * walks: nothing is allocated), repr the rest (scalars directly; lists, tuples, dicts and objects
 * written structurally or as `<T object>`, nested, by a C twin of saferepr's walk; anything else
 * through duck.trace.saferepr.safe_repr), update the snapshot, and append the name and repr of
 * each new or changed local to the `names`/`texts` lists. Objects are read only through the C
 * descriptors saferepr.object_layout found (never a property or __getattr__ of the program).
 *
 * format_run writes the trace-format JSON lines of a run of stored events (duck.trace.store)
 * as UTF-8, calling back into Python for the rare events with output, deletions or exceptions.
 *
 * LineRecorder records the common events themselves (line, return, call of known user code; see
 * its comment), keeping per frame a FrameState. On CPython 3.11 it is a C trace function
 * (PyEval_SetTrace), on 3.12+ sys.monitoring's callbacks; on 3.11-3.13 it reads a frame's fast
 * locals through the interpreter's frame layout,
 * compared by identity with what it saw at the frame's previous event (fast_diff); elsewhere, or
 * after set_fast_locals(False), it reads them through PyFrame_GetLocals. Both give the changes in
 * the order the locals dict would.
 *
 * It is optional: setup.py builds it where a compiler exists, and localdiff falls back to
 * the pure-Python diff where it is missing (or DUCK_PURE_PYTHON=1). It does not decide what is
 * the user's code (duck.trace.policy does) or when to flush (duck.trace.recorder does).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <frameobject.h>
#include <structmember.h>
#include <stddef.h>
#include <stdint.h>
#include <pythread.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

/* CPython 3.11, 3.12 and 3.13: the frame's fast locals are read through its internal layout (see
 * fast_diff), which each of these minors defines in internal/pycore_frame.h (and only these: the
 * layout is checked per minor); any other version, a build without the internal headers, or
 * -DDUCK_PUBLIC_FRAME_API takes the public API (PyFrame_GetLocals). */
#if defined(__has_include)
#if __has_include(<internal/pycore_frame.h>)
#define DUCK_HAVE_INTERNAL_FRAME 1
#endif
#endif
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030E0000 && defined(DUCK_HAVE_INTERNAL_FRAME) && \
    !defined(DUCK_PUBLIC_FRAME_API) && !defined(PYPY_VERSION) && !defined(Py_GIL_DISABLED)
#define DUCK_FAST_LOCALS 1
#define Py_BUILD_CORE
#include <internal/pycore_frame.h>
#include <internal/pycore_code.h>
#undef Py_BUILD_CORE
#if PY_VERSION_HEX >= 0x030D0000 /* 3.13: the code is f_executable, the instruction instr_ptr (the current one) */
#define IFRAME_CODE(f) (PyCode_Check((f)->f_executable) ? (PyCodeObject *)(f)->f_executable : NULL)
#define IFRAME_INSTR(f) ((f)->instr_ptr)
#else /* 3.11, 3.12: f_code, and prev_instr (the current instruction while an event is handled) */
#define IFRAME_CODE(f) ((f)->f_code)
#define IFRAME_INSTR(f) ((f)->prev_instr)
#endif
#else
#define DUCK_FAST_LOCALS 0
#endif

static PyObject *safe_repr_fn = NULL; /* safe_repr(value, limit) -> str */
static PyObject *stable_types = NULL; /* dict: type -> bool (shared with localdiff) */
static PyObject *classify_fn = NULL;  /* classify(type) -> bool, fills stable_types */
static PyObject *repr_kinds = NULL;   /* dict: type -> saferepr K_* kind (shared with saferepr) */
static PyObject *object_layouts = NULL; /* dict: type -> (dict descriptor | None, ((name, member descriptor), ...)) */
static long k_struct = -1;            /* saferepr.K_STRUCT: objects written as Name(attr=value, ...) */

/* What the walks ask about a type at every part (is it stable, its saferepr kind, its object layout), from
 * the three dicts above, remembered per type in a small direct-mapped cache. The cache holds what a
 * lookup in those dicts gave, so it is right while none of them changed: each dict's version tag (a
 * globally unique number CPython gives a dict at every change) is checked at every use, and any
 * change empties the cache (type_epoch counts these). Types are keyed by address: a lookup by a type
 * compares identity, so while the dicts are unchanged an address always gets the same answer. Builds
 * without version tags (3.14+) look up every time. */
typedef struct {
    PyTypeObject *type;
    char fixed;        /* stable_types[type] is True */
    char structural;   /* repr_kinds[type] is K_STRUCT (and the layouts are configured) */
    long kind;         /* repr_kinds[type], -1 when absent */
    PyObject *layout;  /* object_layouts[type] (borrowed: the dict holds it while it is unchanged), or NULL */
} TypeInfo;
#define TYPE_CACHE 256
#define DUCK_DICT_VERSIONS (PY_VERSION_HEX < 0x030E0000)
static TypeInfo type_cache[TYPE_CACHE];
static uint64_t type_versions[3];
static uint64_t type_epoch = 1;
static TypeInfo type_scratch;

static uint64_t
dict_version(PyObject *d)
{
#if DUCK_DICT_VERSIONS
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations" /* 3.12+: kept, and still set at every change */
#endif
    return d == NULL ? 0 : ((PyDictObject *)d)->ma_version_tag;
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
#else
    (void)d;
    return 0;
#endif
}

static void
type_cache_flush(void)
{
    memset(type_cache, 0, sizeof type_cache);
    type_epoch++;
}

/* Empties the cache when one of the dicts changed since it was filled. */
static void
type_cache_check(void)
{
    uint64_t v0 = dict_version(stable_types), v1 = dict_version(repr_kinds), v2 = dict_version(object_layouts);
    if (v0 != type_versions[0] || v1 != type_versions[1] || v2 != type_versions[2]) {
        type_cache_flush();
        type_versions[0] = v0;
        type_versions[1] = v1;
        type_versions[2] = v2;
    }
}

static void
type_info_fill(TypeInfo *info, PyTypeObject *t)
{
    info->type = t;
    PyObject *known = stable_types == NULL ? NULL : PyDict_GetItemWithError(stable_types, (PyObject *)t);
    info->fixed = known == Py_True;
    PyObject *kind = repr_kinds == NULL ? NULL : PyDict_GetItemWithError(repr_kinds, (PyObject *)t);
    info->kind = kind != NULL && PyLong_CheckExact(kind) ? PyLong_AsLong(kind) : -1;
    info->structural = object_layouts != NULL && kind != NULL && info->kind == k_struct;
    info->layout = object_layouts == NULL ? NULL : PyDict_GetItemWithError(object_layouts, (PyObject *)t);
    PyErr_Clear();
}

/* The cached facts about t (borrowed until the next call). Never runs Python code. Valid within a walk
 * that began with type_cache_check() (fingerprint, same_fingerprint_memo, walk_safe_repr): no Python
 * code runs during one, so the dicts cannot change meanwhile. */
static TypeInfo *
type_info(PyTypeObject *t)
{
    if (!DUCK_DICT_VERSIONS) {
        type_info_fill(&type_scratch, t);
        return &type_scratch;
    }
    TypeInfo *info = &type_cache[(size_t)(((uintptr_t)t * 0x9E3779B97F4A7C15ull) >> 56) & (TYPE_CACHE - 1)];
    if (info->type != t)
        type_info_fill(info, t);
    return info;
}

static int
is_scalar(PyObject *v)
{
    PyTypeObject *t = Py_TYPE(v);
    return t == &PyLong_Type || t == &PyFloat_Type || t == &PyBool_Type || t == &PyUnicode_Type ||
           t == &PyBytes_Type || v == Py_None || t == &PyComplex_Type;
}

static int is_stable(PyTypeObject *t);

/* What flatten takes off the room for a scalar (is_scalar) part. */
static inline Py_ssize_t
scalar_cost(PyObject *v)
{
    PyTypeObject *t = Py_TYPE(v);
    return t == &PyUnicode_Type ? PyUnicode_GET_LENGTH(v) + 2 : t == &PyFloat_Type ? 3 : 1;
}


/* Whether a container item's repr is fixed by its identity: a scalar, or an object of a type
 * already known to be stable (a class with object.__repr__, a function, ...). Never runs
 * Python code, so it is safe while iterating. */
static int
is_fixed_item(PyObject *v)
{
    if (is_scalar(v))
        return 1;
    return type_info(Py_TYPE(v))->fixed;
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

/* localdiff.fingerprint: what the bounded repr of a list, tuple, dict or structural object depends
 * on, in repr order (see that function): each part's identity, a container's length (an object's
 * __dict__ size, -1 without one), its items, keys and attributes, nested parts the same way, until
 * the room (3 * k parts) is used up. Objects are read through the C descriptors saferepr.object_layout
 * found, so no code of the program runs. */
#define FP_NONE PY_SSIZE_T_MIN          /* the value has no fingerprint */
#define FP_ERROR (PY_SSIZE_T_MIN + 1)   /* an exception is set */
#define FP_DIFF (PY_SSIZE_T_MIN + 2)    /* comparing: a part differs from the fingerprint's */
#define FP_STOP(room) ((room) <= FP_DIFF)

static int
is_structural(PyTypeObject *t)
{
    return type_info(t)->structural;
}

static int
append_new(PyObject *out, PyObject *item)
{
    if (item == NULL)
        return -1;
    int r = PyList_Append(out, item);
    Py_DECREF(item);
    return r;
}

/* The containers and objects being walked (a repeated one is written [...] / Name(...), not walked). */
#define FP_DEPTH 512
/* What a compare walk learned about the dicts it met (an exact dict's items, or an object's __dict__
 * items), for the next compare of the same fingerprint: a dict whose keys and values are all fixed
 * items (is_fixed_item: their identity fixes their parts and the room they take) makes the same parts
 * from the same room as long as it holds the same objects, which its version tag says: CPython gives
 * a dict a new, globally unique tag at its creation and at every change (a value replaced, even by
 * itself, a key added or deleted, a change undone), and every write to a dict goes through
 * dictobject.c, which sets it. So when the walk meets the same dict (by address: a dict freed and
 * another made there has another tag), at the same tag, at the same part and with the same room, it
 * takes the parts as compared and jumps past them. Not used on 3.13+ for a dict whose values live in
 * an object (ma_values: 3.13 writes an instance's inline values without the dict), nor without
 * version tags (3.14+). The nodes are in the order of their first part. */
typedef struct {
    void *dict;              /* identity only: no reference is held */
    uint64_t version;
    Py_ssize_t pos, end;     /* the parts its items take: fp[pos:end] */
    Py_ssize_t room, room_after;
} DictMemo;

typedef struct {
    PyObject *fp;            /* the fingerprint it was learned on (a strong reference, so its address cannot be
                              * another's; dropped with the memo when its entry is written or deleted) */
    uint64_t epoch;          /* type_epoch then: which items were fixed */
    DictMemo *nodes;
    int n;
} Memo;

#define MEMO_MAX 256
static DictMemo memo_scratch[MEMO_MAX]; /* the nodes a compare walk records (no Python code runs meanwhile) */

typedef struct {
    PyObject *items[FP_DEPTH];
    int n;
    PyObject *cmp;   /* comparing (out is NULL): the fingerprint the parts are checked against, in order */
    Py_ssize_t pos;  /* comparing: the next part of cmp */
    Memo *memo;      /* comparing: what the last compare of cmp learned (used when valid), or NULL: none kept */
    int memo_i;      /* the next node of memo to look at */
    int made;        /* nodes recorded in memo_scratch by this walk */
} Active;

static void
memo_reset(Memo *memo)
{
    PyMem_Free(memo->nodes);
    memo->nodes = NULL;
    memo->n = 0;
    Py_CLEAR(memo->fp);
}

/* Whether this dict's version tag covers every change of its items. */
static int
dict_memo_ok(PyObject *dict)
{
#if !DUCK_DICT_VERSIONS
    (void)dict;
    return 0;
#elif PY_VERSION_HEX >= 0x030D0000
    return ((PyDictObject *)dict)->ma_values == NULL;
#else
    (void)dict;
    return 1;
#endif
}

/* Comparing: when the memo knows this dict at this part, with this room, at its current tag, take its
 * parts as compared (active->pos and *room past them) and return 1; else 0, the walk compares them. */
static int
memo_skip(Active *active, PyObject *dict, Py_ssize_t *room)
{
    Memo *memo = active->memo;
    if (memo == NULL)
        return 0;
    if (memo->fp != active->cmp || memo->epoch != type_epoch)
        return 0;
    while (active->memo_i < memo->n && memo->nodes[active->memo_i].pos < active->pos)
        active->memo_i++;
    if (active->memo_i >= memo->n)
        return 0;
    DictMemo *node = &memo->nodes[active->memo_i];
    if (node->pos != active->pos || node->dict != (void *)dict || node->room != *room ||
        node->version != dict_version(dict) || !dict_memo_ok(dict) || node->end > PyTuple_GET_SIZE(active->cmp))
        return 0;
    if (active->made < MEMO_MAX)
        memo_scratch[active->made++] = *node;
    active->pos = node->end;
    *room = node->room_after;
    return 1;
}

/* Comparing with a memo: note a dict whose items (all fixed) took fp[pos:active->pos], from room to room_after. */
static void
memo_note(Active *active, PyObject *dict, uint64_t version, Py_ssize_t pos, Py_ssize_t room, Py_ssize_t room_after)
{
    if (active->memo == NULL || active->made >= MEMO_MAX || !dict_memo_ok(dict))
        return;
    DictMemo *node = &memo_scratch[active->made++];
    node->dict = dict;
    node->version = version;
    node->pos = pos;
    node->end = active->pos;
    node->room = room;
    node->room_after = room_after;
}

/* One part of a fingerprint: appended to out, or (out NULL) compared with the next part of
 * active->cmp, by identity (ints: by value). 0, -1 on error, 1 when it differs. */
static inline int
fp_put(PyObject *out, Active *active, PyObject *part)
{
    if (out != NULL)
        return PyList_Append(out, part);
    if (active->pos >= PyTuple_GET_SIZE(active->cmp))
        return 1;
    PyObject *old = PyTuple_GET_ITEM(active->cmp, active->pos++);
    if (old == part)
        return 0;
    if (!PyLong_CheckExact(old) || !PyLong_CheckExact(part))
        return 1;
    int eq = PyObject_RichCompareBool(old, part, Py_EQ);
    return eq < 0 ? -1 : !eq;
}

/* A size part (a container's length): an int, appended or compared by value. */
static int
fp_put_size(PyObject *out, Active *active, Py_ssize_t n)
{
    if (out != NULL)
        return append_new(out, PyLong_FromSsize_t(n));
    if (active->pos >= PyTuple_GET_SIZE(active->cmp))
        return 1;
    PyObject *old = PyTuple_GET_ITEM(active->cmp, active->pos++);
    if (!PyLong_CheckExact(old))
        return 1;
    Py_ssize_t was = PyLong_AsSsize_t(old);
    if (was == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return 1;
    }
    return was != n;
}

/* fp_put's result as flatten's: the room, FP_ERROR or FP_DIFF. */
#define FP_PUT_ROOM(r, room) ((r) == 0 ? (room) : (r) < 0 ? FP_ERROR : FP_DIFF)

static int
is_active(Active *active, PyObject *value)
{
    for (int i = 0; i < active->n; i++) {
        if (active->items[i] == value)
            return 1;
    }
    return 0;
}

static Py_ssize_t flatten(PyObject *value, PyObject *out, Py_ssize_t room, Active *active);

/* flatten a borrowed part, keeping it alive meanwhile */
static Py_ssize_t
flatten_part(PyObject *part, PyObject *out, Py_ssize_t room, Active *active)
{
    Py_INCREF(part);
    room = flatten(part, out, room, active);
    Py_DECREF(part);
    return room;
}

/* PyUnicode_IsIdentifier for an exact str, remembering the names it accepted (a small direct-mapped
 * cache holding them: attribute names are few and checked at every step). */
#define IDENT_CACHE 512
static PyObject *ident_cache[IDENT_CACHE];

static int
is_identifier(PyObject *name)
{
    size_t h = ((uintptr_t)name >> 4) & (IDENT_CACHE - 1);
    if (ident_cache[h] == name)
        return 1;
    if (!PyUnicode_CheckExact(name) || !PyUnicode_IsIdentifier(name))
        return 0;
    Py_XSETREF(ident_cache[h], Py_NewRef(name));
    return 1;
}

/* One attribute: its name, then its value ("name=" and ", " taken off the room). */
static Py_ssize_t
flatten_attribute(PyObject *name, PyObject *item, PyObject *out, Py_ssize_t room, Active *active)
{
    if (!is_identifier(name))
        return FP_NONE;
    int put = fp_put(out, active, name);
    if (put != 0)
        return FP_PUT_ROOM(put, 0);
    return flatten_part(item, out, room - PyUnicode_GET_LENGTH(name) - 3, active);
}

static Py_ssize_t
flatten_object(PyObject *value, PyObject *out, Py_ssize_t room, Active *active)
{
    PyObject *type = (PyObject *)Py_TYPE(value);
    PyObject *layout = type_info(Py_TYPE(value))->layout;
    if (layout == NULL || !PyTuple_Check(layout) || PyTuple_GET_SIZE(layout) != 2)
        return FP_NONE;
    Py_INCREF(layout);
    PyObject *dict_descr = PyTuple_GET_ITEM(layout, 0), *slots = PyTuple_GET_ITEM(layout, 1);
    PyObject *dict = NULL;
    if (dict_descr != Py_None && Py_TYPE(dict_descr)->tp_descr_get != NULL) {
        dict = Py_TYPE(dict_descr)->tp_descr_get(dict_descr, value, type);
        if (dict == NULL) {
            if (!PyErr_ExceptionMatches(PyExc_AttributeError) && !PyErr_ExceptionMatches(PyExc_TypeError)) {
                room = FP_ERROR;
                goto done;
            }
            PyErr_Clear();
        } else if (!PyDict_Check(dict)) {
            Py_CLEAR(dict);
        }
    }
    int put = fp_put_size(out, active, dict == NULL ? -1 : PyDict_GET_SIZE(dict));
    if (put != 0) {
        room = FP_PUT_ROOM(put, room);
        goto done;
    }
    room -= 1;
    Py_ssize_t nslots = PyTuple_GET_SIZE(slots);
    for (Py_ssize_t i = 0; i < nslots; i++) {
        if (room <= 0)
            goto done;
        PyObject *slot = PyTuple_GET_ITEM(slots, i);
        PyObject *descr = PyTuple_GET_ITEM(slot, 1);
        PyObject *item = Py_TYPE(descr)->tp_descr_get(descr, value, type);
        if (item == NULL) {
            if (!PyErr_ExceptionMatches(PyExc_AttributeError)) {
                room = FP_ERROR;
                goto done;
            }
            PyErr_Clear(); /* an empty slot: marks its place, shows nothing */
            put = fp_put(out, active, descr);
            if (put != 0) {
                room = FP_PUT_ROOM(put, room);
                goto done;
            }
            continue;
        }
        room = flatten_attribute(PyTuple_GET_ITEM(slot, 0), item, out, room, active);
        Py_DECREF(item);
        if (FP_STOP(room))
            goto done;
    }
    if (dict != NULL) {
        if (out == NULL && memo_skip(active, dict, &room))
            goto done;
        Py_ssize_t pos = 0, first = active->pos, room_before = room;
        uint64_t version = dict_version(dict);
        int fixed = 1;
        PyObject *key, *item;
        while (PyDict_Next(dict, &pos, &key, &item)) {
            if (room <= 0)
                break;
            fixed = fixed && is_fixed_item(item);
            room = flatten_attribute(key, item, out, room, active);
            if (FP_STOP(room))
                goto done;
        }
        if (out == NULL && fixed)
            memo_note(active, dict, version, first, room_before, room);
    }
done:
    Py_XDECREF(dict);
    Py_DECREF(layout);
    return room;
}

/* localdiff._flatten: value's parts appended to out; the room left, FP_NONE or FP_ERROR. */
static Py_ssize_t
flatten(PyObject *value, PyObject *out, Py_ssize_t room, Active *active)
{
    int put = fp_put(out, active, value);
    if (put != 0)
        return FP_PUT_ROOM(put, room);
    PyTypeObject *t = Py_TYPE(value);
    if (is_fixed_item(value)) {
        if (t == &PyUnicode_Type)
            return room - PyUnicode_GET_LENGTH(value) - 2;
        return room - (t == &PyFloat_Type ? 3 : 1);
    }
    if (is_active(active, value))
        return room - 1;
    int structural = 0;
    if (t != &PyList_Type && t != &PyTuple_Type && t != &PyDict_Type && !(structural = is_structural(t)))
        return FP_NONE;
    if (active->n >= FP_DEPTH)
        return FP_NONE;
    active->items[active->n++] = value;
    if (structural) {
        room = flatten_object(value, out, room, active);
    } else if (t == &PyDict_Type) {
        if ((put = fp_put_size(out, active, PyDict_GET_SIZE(value))) != 0) {
            room = FP_PUT_ROOM(put, room);
        } else if (out != NULL || !memo_skip(active, value, &room)) {
            Py_ssize_t pos = 0, first = active->pos, room_before = room;
            uint64_t version = dict_version(value);
            int fixed = 1;
            PyObject *key, *item;
            Py_ssize_t cost = 1; /* the first key: "{" before it; ", " before the others, ": " before a value */
            while (room > 0 && PyDict_Next(value, &pos, &key, &item)) {
                fixed = fixed && is_fixed_item(key) && is_fixed_item(item);
                Py_INCREF(item);
                room = flatten_part(key, out, room - cost, active);
                cost = 2;
                if (!FP_STOP(room) && room > 0) /* as localdiff: the room is checked before every part */
                    room = flatten(item, out, room - 2, active);
                Py_DECREF(item);
                if (FP_STOP(room))
                    break;
            }
            if (out == NULL && fixed && !FP_STOP(room))
                memo_note(active, value, version, first, room_before, room);
        }
    } else {
        if ((put = fp_put_size(out, active, Py_SIZE(value))) != 0) {
            room = FP_PUT_ROOM(put, room);
        } else {
            for (Py_ssize_t i = 0; room > 0 && i < Py_SIZE(value); i++) {
                PyObject *item = t == &PyList_Type ? PyList_GET_ITEM(value, i) : PyTuple_GET_ITEM(value, i);
                if (is_scalar(item)) { /* flatten_part's work for a scalar, without the calls */
                    if ((put = fp_put(out, active, item)) != 0) {
                        room = FP_PUT_ROOM(put, room);
                        break;
                    }
                    room -= (i ? 2 : 1) + scalar_cost(item);
                    continue;
                }
                room = flatten_part(item, out, room - (i ? 2 : 1), active); /* "[" or ", " before it */
                if (FP_STOP(room))
                    break;
            }
        }
    }
    active->n--;
    return room;
}

/* flatten's parts of a list or tuple whose items are all scalars, made straight into the tuple:
 * (value, its length, the items shown while the room lasts). NULL without an error when an item
 * is not a scalar (the walk then), NULL with one on error. */
static PyObject *
scalar_items_fingerprint(PyObject *value, PyTypeObject *t, Py_ssize_t room)
{
    Py_ssize_t n = Py_SIZE(value), m = 0;
    PyObject **items = t == &PyList_Type ? ((PyListObject *)value)->ob_item : ((PyTupleObject *)value)->ob_item;
    for (; room > 0 && m < n; m++) {
        if (!is_scalar(items[m]))
            return NULL;
        room -= (m ? 2 : 1) + scalar_cost(items[m]);
    }
    PyObject *size = PyLong_FromSsize_t(n);
    if (size == NULL)
        return NULL;
    PyObject *fp = PyTuple_New(m + 2);
    if (fp == NULL) {
        Py_DECREF(size);
        return NULL;
    }
    PyTuple_SET_ITEM(fp, 0, Py_NewRef(value));
    PyTuple_SET_ITEM(fp, 1, size);
    for (Py_ssize_t i = 0; i < m; i++)
        PyTuple_SET_ITEM(fp, i + 2, Py_NewRef(items[i]));
    return fp;
}

/* The fingerprint of value as a tuple; NULL without an error when it has none, NULL with one on error. */
static PyObject *
fingerprint(PyObject *value, Py_ssize_t k)
{
    type_cache_check();
    PyTypeObject *t = Py_TYPE(value);
    if (t != &PyList_Type && t != &PyTuple_Type && t != &PyDict_Type && !is_structural(t))
        return NULL;
    if ((t == &PyList_Type || t == &PyTuple_Type) && Py_SIZE(value) > 0 && !type_info(t)->fixed) {
        PyObject *fp = scalar_items_fingerprint(value, t, 3 * k);
        if (fp != NULL || PyErr_Occurred())
            return fp;
    }
    PyObject *out = PyList_New(0);
    if (out == NULL)
        return NULL;
    Active active;
    active.n = 0;
    active.cmp = NULL;
    active.pos = 0;
    active.memo = NULL;
    active.memo_i = active.made = 0;
    Py_ssize_t room = flatten(value, out, 3 * k, &active);
    PyObject *fp = NULL;
    if (!FP_STOP(room))
        fp = PyList_AsTuple(out);
    Py_DECREF(out);
    return fp;
}

/* The common case of a list or tuple of scalars, without the walk: fp is (value, its length, then one
 * part per item shown, each a scalar). When fp has that shape the walk's answer is known here: it
 * compares value and the length first, then each item with its part (by identity; ints by value),
 * each a scalar taking the same room as the part it matches, so when all match it stops at the same
 * place (1), and it stops at the first that does not (0). -1: fp has another shape, the walk decides. */
static int
same_scalar_items(PyObject *value, PyTypeObject *t, PyObject *fp)
{
    Py_ssize_t parts = PyTuple_GET_SIZE(fp);
    if (parts < 2 || PyTuple_GET_ITEM(fp, 0) != value || !PyLong_CheckExact(PyTuple_GET_ITEM(fp, 1)))
        return -1;
    Py_ssize_t n = PyLong_AsSsize_t(PyTuple_GET_ITEM(fp, 1));
    if (n == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return -1;
    }
    if (n != Py_SIZE(value) || parts - 2 > n)
        return -1;
    /* the parts in the walk's order: up to the first that differs, each must be a scalar */
    PyObject **items = t == &PyList_Type ? ((PyListObject *)value)->ob_item : ((PyTupleObject *)value)->ob_item;
    for (Py_ssize_t i = 0; i < parts - 2; i++) {
        PyObject *part = PyTuple_GET_ITEM(fp, i + 2), *item = items[i];
        if (Py_TYPE(part) != &PyLong_Type && !is_scalar(part))
            return -1;
        if (item == part)
            continue;
        if (!PyLong_CheckExact(part) || !PyLong_CheckExact(item))
            return 0;
        int eq = PyObject_RichCompareBool(part, item, Py_EQ); /* two ints: never fails */
        if (eq <= 0) {
            PyErr_Clear();
            return 0;
        }
    }
    return 1;
}

/* Whether value still has the fingerprint fp: the same parts, by identity (ints: by value), compared
 * while walking (nothing is allocated; the walk stops at the first part that differs). */
static int
same_fingerprint_memo(PyObject *value, PyObject *fp, Py_ssize_t k, Memo *memo);

static int
same_fingerprint(PyObject *value, PyObject *fp, Py_ssize_t k)
{
    return same_fingerprint_memo(value, fp, k, NULL);
}

/* same_fingerprint, using and renewing `memo` (see DictMemo) when not NULL. */
static int
same_fingerprint_memo(PyObject *value, PyObject *fp, Py_ssize_t k, Memo *memo)
{
    type_cache_check();
    PyTypeObject *t = Py_TYPE(value);
    if (t == &PyList_Type || t == &PyTuple_Type) {
        int same = same_scalar_items(value, t, fp);
        if (same >= 0)
            return same;
    }
    if (t != &PyList_Type && t != &PyTuple_Type && t != &PyDict_Type && !is_structural(t))
        return 0;
    Active active;
    active.n = 0;
    active.cmp = fp;
    active.pos = 0;
    active.memo = memo;
    active.memo_i = active.made = 0;
    Py_ssize_t room = flatten(value, NULL, 3 * k, &active);
    if (room == FP_ERROR)
        PyErr_Clear();
    int same = !FP_STOP(room) && active.pos == PyTuple_GET_SIZE(fp);
    if (memo != NULL) {
        if (!same || active.made == 0) {
            memo_reset(memo);
        } else {
            DictMemo *nodes = memo->n == active.made ? memo->nodes
                                                     : PyMem_Realloc(memo->nodes, active.made * sizeof(DictMemo));
            if (nodes == NULL) {
                memo_reset(memo);
            } else {
                memcpy(nodes, memo_scratch, active.made * sizeof(DictMemo));
                memo->nodes = nodes;
                memo->n = active.made;
                Py_XSETREF(memo->fp, Py_NewRef(fp));
                memo->epoch = type_epoch;
            }
        }
    }
    return same;
}

/* Items saferepr's _flat_repr accepts (its _FLAT_OK): builtin scalars and str, not bytes. */
static int
is_flat_item(PyObject *v)
{
    PyTypeObject *t = Py_TYPE(v);
    return t == &PyLong_Type || t == &PyFloat_Type || t == &PyBool_Type || v == Py_None ||
           t == &PyComplex_Type || v == Py_Ellipsis || v == Py_NotImplemented || t == &PyUnicode_Type;
}

/* Checks _flat_repr's conditions on n items: all flat, and the str items not too long. */
static int
flat_items_ok(PyObject *const *items, Py_ssize_t n, Py_ssize_t room, Py_ssize_t *str_total)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!is_flat_item(items[i]))
            return 0;
        if (PyUnicode_CheckExact(items[i]))
            *str_total += PyUnicode_GET_LENGTH(items[i]);
    }
    return 1;
}

/* ------------------------------------------------------------------ the structural walk in C
 * saferepr._Walker for the values it meets most: scalars, str and bytes, exact lists, tuples and
 * dicts (each first tried as saferepr._flat_repr does), objects written structurally (K_STRUCT,
 * read through saferepr.object_layout's C descriptors) and objects shown as `<T object>`
 * (K_OPAQUE). The same pieces in the same order under the same budget, so the text is
 * saferepr.safe_repr's. Anything else met anywhere inside the value (another kind, a kind not
 * decided yet, a repr that fails, nesting deeper than WALK_DEPTH) gives up the whole walk
 * (WALK_GIVE_UP) and the caller asks saferepr.safe_repr, so the result never differs. */
#define WALK_DEPTH 64
#define WALK_OK 0
#define WALK_FULL 1     /* the budget is used up (saferepr's _Full) */
#define WALK_GIVE_UP 2  /* not handled here: safe_repr decides */
#define WALK_ERROR 3    /* an exception is set */

static long k_opaque = -1; /* saferepr.K_OPAQUE */
static PyObject *str_comma, *str_colon, *str_open_list, *str_close_list, *str_open_tuple, *str_close_tuple,
    *str_close_tuple1, *str_open_dict, *str_close_dict, *str_cycle_list, *str_cycle_tuple, *str_cycle_dict,
    *str_close_obj, *str_empty, *str_equals;

#define WALK_PIECES_ON_STACK 128
typedef struct {
    PyObject **pieces; /* the texts written so far (strong references): on_stack, or on the heap past it */
    Py_ssize_t npieces, cap;
    PyObject *on_stack[WALK_PIECES_ON_STACK];
    Py_ssize_t size, budget;
    PyObject *active[WALK_DEPTH];
    int depth;
} Walk;

/* saferepr._Walker.emit: a new reference to text is consumed. */
static int
walk_emit_new(Walk *w, PyObject *text)
{
    if (text == NULL)
        return PyErr_ExceptionMatches(PyExc_ValueError) ? (PyErr_Clear(), WALK_GIVE_UP) : WALK_ERROR;
    if (w->npieces == w->cap) {
        Py_ssize_t cap = 2 * w->cap;
        PyObject **more = PyMem_Malloc(cap * sizeof(PyObject *));
        if (more == NULL) {
            Py_DECREF(text);
            PyErr_NoMemory();
            return WALK_ERROR;
        }
        memcpy(more, w->pieces, w->npieces * sizeof(PyObject *));
        if (w->pieces != w->on_stack)
            PyMem_Free(w->pieces);
        w->pieces = more;
        w->cap = cap;
    }
    w->pieces[w->npieces++] = text;
    w->size += PyUnicode_GET_LENGTH(text);
    return w->size > w->budget ? WALK_FULL : WALK_OK;
}

static int
walk_emit(Walk *w, PyObject *text)
{
    return walk_emit_new(w, Py_NewRef(text));
}

/* The repr of an exact int or float, by value: a small direct-mapped cache of texts (a float's or an
 * int's repr depends on its value alone), so the values a program keeps showing are not converted
 * again at every step. It holds only strings it made, never the program's objects. Anything else:
 * PyObject_Repr. A new reference, or NULL with an error. */
#define SCALAR_CACHE 2048
typedef struct {
    uint64_t key;       /* the value's bits: an int's two's complement, a float's IEEE bits */
    PyObject *text;
} ScalarText;
static ScalarText int_texts[SCALAR_CACHE], float_texts[SCALAR_CACHE];

/* The text of v, whose repr depends only on `key`, from `cache` (or made and kept there). */
static PyObject *
cached_repr(ScalarText *cache, uint64_t key, PyObject *v)
{
    ScalarText *slot = &cache[(size_t)((key * 0x9E3779B97F4A7C15ull) >> 53) & (SCALAR_CACHE - 1)];
    if (slot->text != NULL && slot->key == key)
        return Py_NewRef(slot->text);
    PyObject *text = PyObject_Repr(v);
    if (text != NULL) {
        Py_XSETREF(slot->text, Py_NewRef(text));
        slot->key = key;
    }
    return text;
}

/* The repr of a short exact str, by identity: a direct-mapped cache holding the str itself (a strong
 * reference, so its address cannot be another's; a str never changes and runs no code when freed)
 * and its repr, so the names and keys a program keeps showing are not quoted again at every step. */
#define STR_CACHE 1024
#define STR_CACHE_MAX_LEN 64
static struct {
    PyObject *key, *text;
} str_texts[STR_CACHE];

static PyObject *
str_repr(PyObject *v)
{
    if (PyUnicode_GET_LENGTH(v) > STR_CACHE_MAX_LEN)
        return PyObject_Repr(v);
    size_t h = (size_t)(((uintptr_t)v * 0x9E3779B97F4A7C15ull) >> 40) & (STR_CACHE - 1);
    if (str_texts[h].key == v)
        return Py_NewRef(str_texts[h].text);
    PyObject *text = PyObject_Repr(v);
    if (text != NULL) {
        Py_XSETREF(str_texts[h].key, Py_NewRef(v));
        Py_XSETREF(str_texts[h].text, Py_NewRef(text));
    }
    return text;
}

static PyObject *
scalar_repr(PyObject *v)
{
    PyTypeObject *t = Py_TYPE(v);
    if (t == &PyUnicode_Type)
        return str_repr(v);
    if (t == &PyLong_Type) {
        int overflow = 0;
        long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
        if (overflow || (x == -1 && PyErr_Occurred())) {
            PyErr_Clear();
            return PyObject_Repr(v);
        }
        return cached_repr(int_texts, (uint64_t)x, v);
    }
    if (t == &PyFloat_Type) {
        double d = PyFloat_AS_DOUBLE(v);
        uint64_t bits;
        memcpy(&bits, &d, sizeof bits);
        return cached_repr(float_texts, bits, v);
    }
    return PyObject_Repr(v);
}

/* A new, unfilled str with room for the texts (all str) and `extra` ASCII characters, wide enough for the
 * widest of them (NULL with an error): what join_texts and concat_texts write into. */
static PyObject *
new_text_for(PyObject *const *texts, Py_ssize_t n, Py_ssize_t extra)
{
    Py_ssize_t len = extra;
    Py_UCS4 maxchar = 127;
    for (Py_ssize_t i = 0; i < n; i++) {
        len += PyUnicode_GET_LENGTH(texts[i]);
        Py_UCS4 m = PyUnicode_MAX_CHAR_VALUE(texts[i]);
        if (m > maxchar)
            maxchar = m;
    }
    return PyUnicode_New(len, maxchar);
}

/* open + the texts joined by ", " + close, as one str (a new reference, or NULL with an error); with
 * `pairs`, texts are key, value, key, value...: "k: v, k: v". The texts are consumed (each a new
 * reference, all non-NULL). */
static PyObject *
join_texts(PyObject *const *texts, Py_ssize_t n, const char *open, const char *close, int pairs)
{
    PyObject *out = new_text_for(texts, n, (Py_ssize_t)strlen(open) + (Py_ssize_t)strlen(close)
                                             + (n > 1 ? 2 * (n - 1) : 0));
    if (out != NULL) {
        Py_ssize_t pos = 0;
        int kind = PyUnicode_KIND(out);
        void *data = PyUnicode_DATA(out);
        for (const char *c = open; *c; c++)
            PyUnicode_WRITE(kind, data, pos++, (Py_UCS4)*c);
        for (Py_ssize_t i = 0; i < n; i++) {
            if (i) {
                PyUnicode_WRITE(kind, data, pos++, pairs && (i & 1) ? ':' : ',');
                PyUnicode_WRITE(kind, data, pos++, ' ');
            }
            Py_ssize_t m = PyUnicode_GET_LENGTH(texts[i]);
            if (kind == PyUnicode_1BYTE_KIND && PyUnicode_KIND(texts[i]) == PyUnicode_1BYTE_KIND) {
                memcpy((Py_UCS1 *)data + pos, PyUnicode_1BYTE_DATA(texts[i]), m);
            } else if (PyUnicode_CopyCharacters(out, pos, texts[i], 0, m) < 0) {
                Py_CLEAR(out);
                break;
            }
            pos += m;
        }
        if (out != NULL)
            for (const char *c = close; *c; c++)
                PyUnicode_WRITE(kind, data, pos++, (Py_UCS4)*c);
    }
    for (Py_ssize_t i = 0; i < n; i++)
        Py_DECREF(texts[i]);
    return out;
}

/* The texts (all str) one after the other, as one str (a new reference, or NULL with an error); borrowed. */
static PyObject *
concat_texts(PyObject *const *texts, Py_ssize_t n)
{
    PyObject *out = new_text_for(texts, n, 0);
    if (out == NULL)
        return NULL;
    Py_ssize_t pos = 0;
    int kind = PyUnicode_KIND(out);
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t m = PyUnicode_GET_LENGTH(texts[i]);
        if (kind == PyUnicode_1BYTE_KIND) { /* then every text is 1-byte too */
            memcpy(PyUnicode_1BYTE_DATA(out) + pos, PyUnicode_1BYTE_DATA(texts[i]), m);
        } else if (PyUnicode_CopyCharacters(out, pos, texts[i], 0, m) < 0) {
            Py_DECREF(out);
            return NULL;
        }
        pos += m;
    }
    return out;
}

#define FLAT_ON_STACK 128

/* repr() of the first n items of a list or tuple of flat items (is_flat_item), as repr(value[:n]) writes
 * it: "[a, b]", "(a, b)", "(a,)". A new reference, or NULL with an error. */
static PyObject *
flat_seq_repr(PyObject *const *items, Py_ssize_t n, int list)
{
    PyObject *on_stack[FLAT_ON_STACK], **texts = on_stack;
    if (n > FLAT_ON_STACK && (texts = PyMem_Malloc(n * sizeof(PyObject *))) == NULL)
        return PyErr_NoMemory();
    for (Py_ssize_t i = 0; i < n; i++) {
        if ((texts[i] = scalar_repr(items[i])) == NULL) {
            while (i-- > 0)
                Py_DECREF(texts[i]);
            if (texts != on_stack)
                PyMem_Free(texts);
            return NULL;
        }
    }
    PyObject *out = join_texts(texts, n, list ? "[" : "(", list ? "]" : n == 1 ? ",)" : ")", 0);
    if (texts != on_stack)
        PyMem_Free(texts);
    return out;
}

/* repr() of a dict made of the first n items of value, all flat: "{k: v, ...}". */
static PyObject *
flat_dict_repr(PyObject *value, Py_ssize_t n)
{
    PyObject *on_stack[FLAT_ON_STACK], **texts = on_stack;
    if (2 * n > FLAT_ON_STACK && (texts = PyMem_Malloc(2 * n * sizeof(PyObject *))) == NULL)
        return PyErr_NoMemory();
    Py_ssize_t pos = 0, i = 0;
    PyObject *key, *item;
    while (i < 2 * n && PyDict_Next(value, &pos, &key, &item)) {
        if ((texts[i] = scalar_repr(key)) != NULL && (texts[i + 1] = scalar_repr(item)) == NULL)
            Py_CLEAR(texts[i]);
        if (texts[i] == NULL) {
            while (i-- > 0)
                Py_DECREF(texts[i]);
            if (texts != on_stack)
                PyMem_Free(texts);
            return NULL;
        }
        i += 2;
    }
    PyObject *out = join_texts(texts, i, "{", "}", 1);
    if (texts != on_stack)
        PyMem_Free(texts);
    return out;
}

/* saferepr._flat_repr(value, t, room) for an exact list, tuple or dict: a new reference, or NULL
 * without an error where it returns None, or NULL with an error. The texts are repr()'s of the
 * (heads of the) containers, written here from the items' reprs. */
static PyObject *
flat_repr(PyObject *value, Py_ssize_t room)
{
    PyTypeObject *t = Py_TYPE(value);
    PyObject *text = NULL;
    int cut_last = 0;
    if (t == &PyList_Type || t == &PyTuple_Type) {
        Py_ssize_t n = Py_SIZE(value);
        Py_ssize_t count = room / 3 + 2;
        Py_ssize_t m = n > count ? count : n;
        PyObject **items = t == &PyList_Type ? ((PyListObject *)value)->ob_item
                                             : ((PyTupleObject *)value)->ob_item;
        Py_ssize_t str_total = 0;
        if (!flat_items_ok(items, m, room, &str_total) || str_total > 4 * room)
            return NULL;
        int list = t == &PyList_Type;
        if (n <= count) {
            text = flat_seq_repr(items, n, list);
        } else {
            Py_ssize_t short_n = room / 7 + 1;
            text = flat_seq_repr(items, short_n < count ? short_n : count, list);
            if (text != NULL && PyUnicode_GET_LENGTH(text) <= room)
                Py_SETREF(text, flat_seq_repr(items, count, list));
            cut_last = 1;
        }
    } else if (t == &PyDict_Type) {
        Py_ssize_t n = PyDict_GET_SIZE(value);
        Py_ssize_t count = room / 6 + 2;
        Py_ssize_t pos = 0, i = 0, str_total = 0;
        PyObject *key, *item;
        Py_ssize_t m = n > count ? count : n;
        while (i < m && PyDict_Next(value, &pos, &key, &item)) {
            if (!is_flat_item(key) || !is_flat_item(item))
                return NULL;
            if (PyUnicode_CheckExact(key))
                str_total += PyUnicode_GET_LENGTH(key);
            if (PyUnicode_CheckExact(item))
                str_total += PyUnicode_GET_LENGTH(item);
            i++;
        }
        if (str_total > 4 * room)
            return NULL;
        text = flat_dict_repr(value, m);
        cut_last = n > count;
    } else {
        return NULL;
    }
    if (text != NULL && cut_last && PyUnicode_GET_LENGTH(text) > 0)
        Py_SETREF(text, PyUnicode_Substring(text, 0, PyUnicode_GET_LENGTH(text) - 1));
    return text;
}

static long
kind_of(PyTypeObject *t)
{
    return type_info(t)->kind;
}

static int walk_value(Walk *w, PyObject *value);

static int
walk_is_active(Walk *w, PyObject *value)
{
    for (int i = 0; i < w->depth; i++)
        if (w->active[i] == value)
            return 1;
    return 0;
}

/* walk_pairs with "=": one attribute ("name=" or ", name=", then its value). */
static int
walk_attribute(Walk *w, PyObject *name, PyObject *item, int first)
{
    /* ", " name "=" as separate pieces: the text is the same (a walk cut short is cut at the limit) */
    int r = first ? WALK_OK : walk_emit(w, str_comma);
    if (r == WALK_OK)
        r = walk_emit(w, name);
    if (r == WALK_OK)
        r = walk_emit(w, str_equals);
    if (r != WALK_OK)
        return r;
    Py_INCREF(item);
    r = walk_value(w, item);
    Py_DECREF(item);
    return r;
}

/* walk_object for K_STRUCT: Name(slot=..., attr=...), or Name(...) inside itself. */
static int
walk_struct(Walk *w, PyObject *value, PyTypeObject *t)
{
    PyObject *layout = type_info(t)->layout;
    if (layout == NULL || !PyTuple_Check(layout) || PyTuple_GET_SIZE(layout) != 2)
        return WALK_GIVE_UP;
    PyObject *name = PyType_GetName(t);
    if (name == NULL) {
        PyErr_Clear();
        return WALK_GIVE_UP;
    }
    int r;
    if (walk_is_active(w, value)) {
        r = walk_emit(w, name);
        if (r == WALK_OK)
            r = walk_emit(w, str_cycle_tuple);
        Py_DECREF(name);
        return r;
    }
    Py_INCREF(layout);
    PyObject *dict_descr = PyTuple_GET_ITEM(layout, 0), *slots = PyTuple_GET_ITEM(layout, 1);
    PyObject *dict = NULL;
    /* object_storage reads every slot and the __dict__ before anything is written */
    if (dict_descr != Py_None && Py_TYPE(dict_descr)->tp_descr_get != NULL) {
        dict = Py_TYPE(dict_descr)->tp_descr_get(dict_descr, value, (PyObject *)t);
        if (dict == NULL) {
            if (!PyErr_ExceptionMatches(PyExc_AttributeError) && !PyErr_ExceptionMatches(PyExc_TypeError)) {
                PyErr_Clear();
                r = WALK_GIVE_UP;
                goto done;
            }
            PyErr_Clear();
        } else if (!PyDict_Check(dict)) {
            Py_CLEAR(dict);
        }
    }
    r = walk_emit(w, name);
    if (r == WALK_OK)
        r = walk_emit(w, str_open_tuple);
    if (r != WALK_OK)
        goto done;
    w->active[w->depth++] = value;
    int first = 1;
    Py_ssize_t nslots = PyTuple_GET_SIZE(slots);
    for (Py_ssize_t i = 0; i < nslots && r == WALK_OK; i++) {
        PyObject *slot = PyTuple_GET_ITEM(slots, i);
        PyObject *descr = PyTuple_GET_ITEM(slot, 1);
        PyObject *item = Py_TYPE(descr)->tp_descr_get(descr, value, (PyObject *)t);
        if (item == NULL) {
            int empty = PyErr_ExceptionMatches(PyExc_AttributeError);
            PyErr_Clear();
            if (!empty)
                r = WALK_GIVE_UP;
            continue;
        }
        if (Py_TYPE(item) == &PyMemberDescr_Type) { /* object_attributes leaves these out */
            Py_DECREF(item);
            continue;
        }
        r = walk_attribute(w, PyTuple_GET_ITEM(slot, 0), item, first);
        Py_DECREF(item);
        first = 0;
    }
    if (dict != NULL && r == WALK_OK) {
        Py_ssize_t pos = 0;
        PyObject *key, *item;
        Py_ssize_t n = PyDict_GET_SIZE(dict);
        while (r == WALK_OK && PyDict_Next(dict, &pos, &key, &item)) {
            if (!is_identifier(key))
                continue;
            Py_INCREF(key);
            r = walk_attribute(w, key, item, first);
            Py_DECREF(key);
            first = 0;
            if (r == WALK_OK && PyDict_GET_SIZE(dict) != n)
                r = WALK_GIVE_UP; /* changed while walked (cannot happen without running code) */
        }
    }
    w->depth--;
    if (r == WALK_OK)
        r = walk_emit(w, str_close_obj);
done:
    Py_XDECREF(dict);
    Py_DECREF(layout);
    Py_DECREF(name);
    return r;
}

/* walk_container for an exact list, tuple or dict. */
static int
walk_container(Walk *w, PyObject *value, PyTypeObject *t)
{
    PyObject *fast = flat_repr(value, w->budget - w->size);
    if (fast != NULL)
        return walk_emit_new(w, fast);
    if (PyErr_Occurred())
        return PyErr_ExceptionMatches(PyExc_ValueError) ? (PyErr_Clear(), WALK_GIVE_UP) : WALK_ERROR;
    if (walk_is_active(w, value))
        return walk_emit(w, t == &PyList_Type ? str_cycle_list : t == &PyDict_Type ? str_cycle_dict : str_cycle_tuple);
    w->active[w->depth++] = value;
    int r;
    if (t == &PyDict_Type) {
        r = walk_emit(w, str_open_dict);
        Py_ssize_t pos = 0, n = PyDict_GET_SIZE(value);
        PyObject *key, *item;
        int first = 1;
        while (r == WALK_OK && PyDict_Next(value, &pos, &key, &item)) {
            if (!first)
                r = walk_emit(w, str_comma);
            first = 0;
            Py_INCREF(key);
            Py_INCREF(item);
            if (r == WALK_OK)
                r = walk_value(w, key);
            if (r == WALK_OK)
                r = walk_emit(w, str_colon);
            if (r == WALK_OK)
                r = walk_value(w, item);
            Py_DECREF(key);
            Py_DECREF(item);
            if (r == WALK_OK && PyDict_GET_SIZE(value) != n)
                r = WALK_GIVE_UP;
        }
        if (r == WALK_OK)
            r = walk_emit(w, str_close_dict);
    } else {
        int list = t == &PyList_Type;
        r = walk_emit(w, list ? str_open_list : str_open_tuple);
        for (Py_ssize_t i = 0; r == WALK_OK && i < Py_SIZE(value); i++) {
            if (i)
                r = walk_emit(w, str_comma);
            if (r != WALK_OK)
                break;
            PyObject *item = list ? PyList_GET_ITEM(value, i) : PyTuple_GET_ITEM(value, i);
            Py_INCREF(item);
            r = walk_value(w, item);
            Py_DECREF(item);
        }
        if (r == WALK_OK)
            r = walk_emit(w, list ? str_close_list : Py_SIZE(value) == 1 ? str_close_tuple1 : str_close_tuple);
    }
    w->depth--;
    return r;
}

/* _Walker.walk for the values handled here. */
static int
walk_value(Walk *w, PyObject *value)
{
    PyTypeObject *t = Py_TYPE(value);
    if (t == &PyLong_Type || t == &PyFloat_Type || t == &PyBool_Type || value == Py_None || t == &PyComplex_Type ||
        value == Py_Ellipsis || value == Py_NotImplemented)
        return walk_emit_new(w, scalar_repr(value));
    if (t == &PyUnicode_Type || t == &PyBytes_Type) {
        Py_ssize_t room = w->budget - w->size + 2;
        Py_ssize_t n = t == &PyUnicode_Type ? PyUnicode_GET_LENGTH(value) : PyBytes_GET_SIZE(value);
        if (n <= room)
            return walk_emit_new(w, t == &PyUnicode_Type ? str_repr(value) : PyObject_Repr(value));
        PyObject *head = t == &PyUnicode_Type ? PyUnicode_Substring(value, 0, room)
                                              : PyBytes_FromStringAndSize(PyBytes_AS_STRING(value), room);
        if (head == NULL)
            return WALK_ERROR;
        PyObject *text = PyObject_Repr(head);
        Py_DECREF(head);
        return walk_emit_new(w, text);
    }
    if (w->depth >= WALK_DEPTH)
        return WALK_GIVE_UP;
    if (t == &PyList_Type || t == &PyTuple_Type || t == &PyDict_Type)
        return walk_container(w, value, t);
    long kind = kind_of(t);
    if (kind < 0)
        return WALK_GIVE_UP;
    if (kind == k_struct)
        return walk_struct(w, value, t);
    if (kind == k_opaque) {
        PyObject *name = PyType_GetName(t);
        if (name == NULL) {
            PyErr_Clear();
            return WALK_GIVE_UP;
        }
        PyObject *text = PyUnicode_FromFormat("<%U object>", name);
        Py_DECREF(name);
        return walk_emit_new(w, text);
    }
    return WALK_GIVE_UP;
}

/* saferepr.safe_repr(value, limit) by the walk above: a new reference, or NULL without an error
 * where the walk gave up (the caller asks safe_repr), or NULL with an error. */
static PyObject *
walk_safe_repr(PyObject *value, Py_ssize_t limit)
{
    type_cache_check();
    Walk w;
    w.pieces = w.on_stack;
    w.npieces = 0;
    w.cap = WALK_PIECES_ON_STACK;
    w.size = 0;
    w.budget = limit + 32;
    w.depth = 0;
    Py_INCREF(value);
    int r = walk_value(&w, value);
    Py_DECREF(value);
    PyObject *out = NULL;
    if (r == WALK_OK || r == WALK_FULL) {
        PyObject *text = concat_texts(w.pieces, w.npieces);
        if (text != NULL) {
            Py_ssize_t len = PyUnicode_GET_LENGTH(text);
            if (r == WALK_FULL || len > limit) {
                PyObject *head = PyUnicode_Substring(text, 0, limit);
                if (head != NULL)
                    out = r == WALK_FULL ? PyUnicode_FromFormat("%U...", head)
                                         : PyUnicode_FromFormat("%U...<+%zd chars>", head, len - limit);
                Py_XDECREF(head);
                Py_DECREF(text);
            } else {
                out = text;
            }
        }
    }
    for (Py_ssize_t i = 0; i < w.npieces; i++)
        Py_DECREF(w.pieces[i]);
    if (w.pieces != w.on_stack)
        PyMem_Free(w.pieces);
    return out;
}

/* Interned strings made at import: a table of (where to keep it, its text), ended by {NULL, NULL}. */
typedef struct {
    PyObject **slot;
    const char *text;
} Interned;

static int
intern_all(const Interned *table)
{
    for (; table->slot != NULL; table++) {
        *table->slot = PyUnicode_InternFromString(table->text);
        if (*table->slot == NULL)
            return -1;
    }
    return 0;
}

static const Interned walk_strings[] = {
    {&str_comma, ", "}, {&str_colon, ": "}, {&str_open_list, "["}, {&str_close_list, "]"},
    {&str_open_tuple, "("}, {&str_close_tuple, ")"}, {&str_close_tuple1, ",)"}, {&str_open_dict, "{"},
    {&str_close_dict, "}"}, {&str_cycle_list, "[...]"}, {&str_cycle_tuple, "(...)"}, {&str_cycle_dict, "{...}"},
    {&str_close_obj, ")"}, {&str_empty, ""}, {&str_equals, "="}, {NULL, NULL},
};

static PyObject *
call_safe_repr(PyObject *value, PyObject *limit_obj)
{
    PyObject *args[2] = {value, limit_obj};
    return PyObject_Vectorcall(safe_repr_fn, args, 2, NULL);
}

/* The safe repr of value: repr() for short scalars and strings, the C walk for containers and
 * objects it handles, safe_repr otherwise. */
static PyObject *
value_text(PyObject *value, Py_ssize_t limit, PyObject *limit_obj)
{
    PyTypeObject *t = Py_TYPE(value);
    if (t == &PyLong_Type || t == &PyFloat_Type || t == &PyBool_Type || value == Py_None ||
        (t == &PyUnicode_Type && PyUnicode_GET_LENGTH(value) <= limit / 2)) {
        PyObject *text = scalar_repr(value);
        if (text == NULL) {
            if (!PyErr_ExceptionMatches(PyExc_ValueError))
                return NULL;
            PyErr_Clear(); /* an int too long to print */
            return call_safe_repr(value, limit_obj);
        }
        if (PyUnicode_GET_LENGTH(text) <= limit)
            return text;
        Py_DECREF(text);
    } else if (t != &PyUnicode_Type && t != &PyBytes_Type && t != &PyComplex_Type) {
        PyObject *text = walk_safe_repr(value, limit);
        if (text != NULL || PyErr_Occurred())
            return text;
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

/* The memos (see DictMemo) of a frame diffed through its locals dict (a module body, or a frame the
 * fast-locals view cannot read), by name: a few names, interned ones only (one object per name, so
 * identity is equality). A memo belongs to the fingerprint of its name's snapshot entry, so it is
 * dropped whenever that entry is written (diff_one), and all are dropped when a name is deleted, when a
 * name that is not interned is written, or when something else changed the snapshot (its version tag
 * is not the one the last diff left). */
#define NAMED_MEMOS 8
typedef struct {
    PyObject *names[NAMED_MEMOS]; /* strong references, or NULL: a free place */
    Memo memos[NAMED_MEMOS];
    uint64_t snap_version;        /* the snapshot's tag after the last diff that kept them; 0: none kept */
} NamedMemos;

static void
named_memos_clear(NamedMemos *nm)
{
    for (int i = 0; i < NAMED_MEMOS; i++) {
        Py_CLEAR(nm->names[i]);
        memo_reset(&nm->memos[i]);
    }
    nm->snap_version = 0;
}

/* The memo of name (made when `make` and there is room), or NULL. */
static Memo *
named_memo(NamedMemos *nm, PyObject *name, int make)
{
    if (!PyUnicode_CheckExact(name) || !PyUnicode_CHECK_INTERNED(name))
        return NULL;
    for (int i = 0; i < NAMED_MEMOS; i++) {
        if (nm->names[i] == name)
            return &nm->memos[i];
    }
    for (int i = 0; make && i < NAMED_MEMOS; i++) {
        if (nm->names[i] == NULL) {
            nm->names[i] = Py_NewRef(name);
            return &nm->memos[i];
        }
    }
    return NULL;
}

/* name's entry is being written: its memo no longer holds. */
static void
named_memo_forget(NamedMemos *nm, PyObject *name)
{
    if (nm == NULL)
        return;
    if (!PyUnicode_CheckExact(name) || !PyUnicode_CHECK_INTERNED(name)) {
        named_memos_clear(nm); /* an equal interned name may hold one */
        return;
    }
    Memo *memo = named_memo(nm, name, 0);
    if (memo != NULL)
        memo_reset(memo);
}

/* Another snapshot (the caller's, while a call's locals are diffed) whose entries may already hold
 * the text of a value; NULL: none. Borrowed for the duration of that diff only. */
static PyObject *reuse_snap = NULL;
#define REUSE_MAX_ENTRIES 64

/* An entry (value, text, fingerprint) of snap, borrowed, that holds `value` itself and whose text is
 * still value's: the rule diff_one skips an unchanged local by (the same identity, and a stable type
 * or the same fingerprint). NULL when there is none (scalars are not looked for: their repr is cheap). */
static PyObject *
known_entry(PyObject *snap, PyObject *value, Py_ssize_t k)
{
    if (snap == NULL || is_scalar(value) || PyDict_GET_SIZE(snap) > REUSE_MAX_ENTRIES)
        return NULL;
    Py_ssize_t pos = 0;
    PyObject *name, *entry;
    while (PyDict_Next(snap, &pos, &name, &entry)) {
        if (!PyTuple_CheckExact(entry) || PyTuple_GET_SIZE(entry) != 3 || PyTuple_GET_ITEM(entry, 0) != value)
            continue;
        PyObject *fp = PyTuple_GET_ITEM(entry, 2);
        if (fp == Py_True || (PyTuple_CheckExact(fp) && same_fingerprint(value, fp, k)))
            return entry;
    }
    return NULL;
}

/* One local: compare with the snapshot, repr and note it when new or changed. Returns 1 when
 * it was appended, 0 when unchanged, -1 on error. */
static int
diff_one(PyObject *snap, PyObject *name, PyObject *value, Py_ssize_t limit, PyObject *limit_obj,
         Py_ssize_t k, PyObject *names, PyObject *texts, Memo *memo, NamedMemos *nm)
{
    PyObject *old = PyDict_GetItemWithError(snap, name);
    if (old == NULL && PyErr_Occurred())
        return -1;
    if (old != NULL && PyTuple_GET_ITEM(old, 0) == value) {
        PyObject *fp = PyTuple_GET_ITEM(old, 2);
        if (fp == Py_True)
            return 0;
        if (memo == NULL && nm != NULL && PyTuple_CheckExact(fp))
            memo = named_memo(nm, name, 1);
        if (fp != Py_None && same_fingerprint_memo(value, fp, k, memo))
            return 0;
    }
    Py_XINCREF(old); /* classify and safe_repr run Python code, which may touch the snapshot */
    PyObject *known = known_entry(reuse_snap, value, k);
    if (known != NULL) { /* the caller's entry for the same value, still true: its text and fingerprint */
        PyObject *text = Py_NewRef(PyTuple_GET_ITEM(known, 1));
        named_memo_forget(nm, name);
        int set = PyDict_SetItem(snap, name, known);
        int changed = set < 0 ? -1 : 1;
        if (set == 0 && old != NULL)
            changed = PyObject_RichCompareBool(PyTuple_GET_ITEM(old, 1), text, Py_NE);
        if (changed > 0 && (PyList_Append(names, name) < 0 || PyList_Append(texts, text) < 0))
            changed = -1;
        Py_XDECREF(old);
        Py_DECREF(text);
        return changed;
    }
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
    named_memo_forget(nm, name);
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
static PyObject *diff_core(PyObject *snap, PyObject *locals, int module, Py_ssize_t limit, PyObject *limit_obj,
                           PyObject *names, PyObject *texts, NamedMemos *nm);

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
    return diff_core(snap, locals, module, limit, limit_obj, names, texts, NULL);
}

/* The diff itself (arguments checked by the caller). */
static PyObject *diff_core_memos(PyObject *snap, PyObject *locals, int module, Py_ssize_t limit,
                                 PyObject *limit_obj, PyObject *names, PyObject *texts, NamedMemos *nm);

/* The diff itself, with the frame's named memos when nm is not NULL. */
static PyObject *
diff_core(PyObject *snap, PyObject *locals, int module, Py_ssize_t limit, PyObject *limit_obj, PyObject *names,
          PyObject *texts, NamedMemos *nm)
{
    if (nm != NULL && (!DUCK_DICT_VERSIONS || nm->snap_version != dict_version(snap)))
        named_memos_clear(nm); /* changed elsewhere since (or never kept) */
    PyObject *result = diff_core_memos(snap, locals, module, limit, limit_obj, names, texts, nm);
    if (nm != NULL) {
        if (result == NULL || !PyLong_CheckExact(result)) /* an error, or names deleted */
            named_memos_clear(nm);
        else
            nm->snap_version = dict_version(snap);
    }
    return result;
}

static PyObject *
diff_core_memos(PyObject *snap, PyObject *locals, int module, Py_ssize_t limit, PyObject *limit_obj,
                PyObject *names, PyObject *texts, NamedMemos *nm)
{
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
            int r = diff_one(snap, name, value, limit, limit_obj, k, names, texts, NULL, nm);
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
            int r = diff_one(snap, name, value, limit, limit_obj, k, names, texts, NULL, nm);
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

/* ------------------------------------------------------------------ formatting trace lines */

typedef struct {
    char *data;
    Py_ssize_t len, cap;
} Buf;

static int
buf_reserve(Buf *b, Py_ssize_t more)
{
    if (b->len + more <= b->cap)
        return 0;
    Py_ssize_t cap = b->cap ? b->cap : 1 << 16;
    while (cap < b->len + more)
        cap *= 2;
    char *data = PyMem_Realloc(b->data, cap);
    if (data == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    b->data = data;
    b->cap = cap;
    return 0;
}

static int
buf_put(Buf *b, const char *s, Py_ssize_t n)
{
    if (buf_reserve(b, n) < 0)
        return -1;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    return 0;
}

/* str as UTF-8, with unpaired surrogates backslash-escaped (as the trace file's writer would). */
static int
buf_utf8(Buf *b, PyObject *text)
{
    Py_ssize_t n;
    const char *s = PyUnicode_AsUTF8AndSize(text, &n);
    if (s != NULL)
        return buf_put(b, s, n);
    PyErr_Clear();
    PyObject *bytes = PyUnicode_AsEncodedString(text, "utf-8", "backslashreplace");
    if (bytes == NULL)
        return -1;
    int r = buf_put(b, PyBytes_AS_STRING(bytes), PyBytes_GET_SIZE(bytes));
    Py_DECREF(bytes);
    return r;
}

/* A JSON string, escaped like json.encoder.encode_basestring (non-ASCII kept as it is). */
static int
buf_json(Buf *b, PyObject *text)
{
    Py_ssize_t n;
    const char *s = PyUnicode_AsUTF8AndSize(text, &n);
    PyObject *bytes = NULL;
    if (s == NULL) {
        PyErr_Clear();
        bytes = PyUnicode_AsEncodedString(text, "utf-8", "backslashreplace");
        if (bytes == NULL)
            return -1;
        s = PyBytes_AS_STRING(bytes);
        n = PyBytes_GET_SIZE(bytes);
    }
    if (buf_reserve(b, 6 * n + 2) < 0) {
        Py_XDECREF(bytes);
        return -1;
    }
    char *out = b->data + b->len;
    *out++ = '"';
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            *out++ = '\\';
            *out++ = (char)c;
        } else if (c >= 0x20) {
            *out++ = (char)c;
        } else {
            *out++ = '\\';
            switch (c) {
            case '\b': *out++ = 'b'; break;
            case '\f': *out++ = 'f'; break;
            case '\n': *out++ = 'n'; break;
            case '\r': *out++ = 'r'; break;
            case '\t': *out++ = 't'; break;
            default:
                out += sprintf(out, "u%04x", c);
            }
        }
    }
    *out++ = '"';
    b->len = out - b->data;
    Py_XDECREF(bytes);
    return 0;
}

static const char *const KIND_NAMES[4] = {"call", "line", "return", "exception"};
static const Py_ssize_t KIND_LENGTHS[4] = {4, 4, 6, 9};

/* A literal into the buffer, room reserved by the caller. */
#define PUT_LIT(out, lit) (memcpy((out), (lit), sizeof(lit) - 1), (out) += sizeof(lit) - 1)

/* The decimal digits of x (what printf's %lld writes) at out, room reserved by the caller (21 bytes);
 * the end. snprintf was a fifth of the formatting time. */
static char *
put_int(char *out, long long x)
{
    char digits[24];
    int n = 0;
    unsigned long long u = x < 0 ? 0ULL - (unsigned long long)x : (unsigned long long)x;
    do {
        digits[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (x < 0)
        *out++ = '-';
    while (n)
        *out++ = digits[--n];
    return out;
}

typedef struct {
    Py_buffer view;
    int held;
} Column;

static int
column_get(PyObject *obj, Column *col, Py_ssize_t itemsize)
{
    if (PyObject_GetBuffer(obj, &col->view, PyBUF_FORMAT) < 0)
        return -1;
    col->held = 1;
    if (col->view.itemsize != itemsize) {
        PyErr_SetString(PyExc_TypeError, "a column has an unexpected item size");
        return -1;
    }
    return 0;
}

static void
column_release(Column *col)
{
    if (col->held)
        PyBuffer_Release(&col->view);
    col->held = 0;
}

/* format_run(first_step, kind_line, ctx, nchanges, names, texts, fid, code, depth, parent,
 *            codes, value_name, special, one_line) -> bytes */
static PyObject *
format_run(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 14) {
        PyErr_SetString(PyExc_TypeError, "format_run takes 14 arguments");
        return NULL;
    }
    long long first_step = PyLong_AsLongLong(args[0]);
    if (first_step == -1 && PyErr_Occurred())
        return NULL;
    PyObject *names = args[4], *texts = args[5], *codes = args[10], *value_name = args[11], *one_line = args[13];
    if (!PyList_CheckExact(names) || !PyList_CheckExact(texts) || !PyList_CheckExact(codes)) {
        PyErr_SetString(PyExc_TypeError, "names, texts and codes must be lists");
        return NULL;
    }
    Column cols[9];
    memset(cols, 0, sizeof cols);
    const Py_ssize_t sizes[9] = {4, 4, 4, 4, 4, 4, 4, 0, 8};
    const int which[9] = {1, 2, 3, 6, 7, 8, 9, -1, 12};
    PyObject *result = NULL;
    Buf b = {NULL, 0, 0};
    for (int i = 0; i < 9; i++) {
        if (which[i] < 0)
            continue;
        if (column_get(args[which[i]], &cols[i], sizes[i]) < 0)
            goto done;
    }
    const int *kind_line = cols[0].view.buf, *ctx = cols[1].view.buf;
    const unsigned int *nchanges = cols[2].view.buf;
    const int *fid = cols[3].view.buf, *code = cols[4].view.buf, *depth = cols[5].view.buf,
              *parent = cols[6].view.buf;
    const long long *special = cols[8].view.buf;
    Py_ssize_t n_events = cols[0].view.len / 4, n_frames = cols[3].view.len / 4,
               n_special = cols[8].view.len / 8, n_codes = PyList_GET_SIZE(codes);
    if (cols[1].view.len / 4 != n_events || cols[2].view.len / 4 != n_events) {
        PyErr_SetString(PyExc_ValueError, "columns of different lengths");
        goto done;
    }
    Py_ssize_t c = 0, next_special = 0;
    for (Py_ssize_t i = 0; i < n_events; i++) {
        long long step = first_step + i;
        Py_ssize_t n = nchanges[i];
        if (c + n > PyList_GET_SIZE(names) || c + n > PyList_GET_SIZE(texts)) {
            PyErr_SetString(PyExc_ValueError, "changes columns shorter than nchanges says");
            goto done;
        }
        while (next_special < n_special && special[next_special] < step)
            next_special++;
        if (next_special < n_special && special[next_special] == step) {
            PyObject *args2[2];
            args2[0] = PyLong_FromSsize_t(i);
            args2[1] = PyLong_FromSsize_t(c);
            if (args2[0] == NULL || args2[1] == NULL) {
                Py_XDECREF(args2[0]);
                Py_XDECREF(args2[1]);
                goto done;
            }
            PyObject *line = PyObject_Vectorcall(one_line, args2, 2, NULL);
            Py_DECREF(args2[0]);
            Py_DECREF(args2[1]);
            if (line == NULL)
                goto done;
            int r = PyUnicode_Check(line) ? buf_utf8(&b, line) : -1;
            if (r < 0 && !PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "one_line must return str");
            Py_DECREF(line);
            if (r < 0)
                goto done;
            c += n;
            continue;
        }
        int e = ctx[i];
        if (e < 0 || e >= n_frames || code[e] < 0 || code[e] >= n_codes) {
            PyErr_SetString(PyExc_ValueError, "an event refers to an unknown frame entry");
            goto done;
        }
        if (buf_reserve(&b, 128) < 0)
            goto done;
        char *out = b.data + b.len;
        PUT_LIT(out, "{\"step\":");
        out = put_int(out, step);
        PUT_LIT(out, ",\"event\":\"");
        memcpy(out, KIND_NAMES[kind_line[i] & 3], KIND_LENGTHS[kind_line[i] & 3]);
        out += KIND_LENGTHS[kind_line[i] & 3];
        PUT_LIT(out, "\",\"line\":");
        out = put_int(out, kind_line[i] >> 2);
        *out++ = ',';
        b.len = out - b.data;
        if (buf_utf8(&b, PyList_GET_ITEM(codes, code[e])) < 0 || buf_reserve(&b, 128) < 0)
            goto done;
        out = b.data + b.len;
        PUT_LIT(out, ",\"depth\":");
        out = put_int(out, depth[e]);
        PUT_LIT(out, ",\"frame\":");
        out = put_int(out, fid[e]);
        PUT_LIT(out, ",\"parent\":");
        if (parent[e] < 0)
            PUT_LIT(out, "null");
        else
            out = put_int(out, parent[e]);
        b.len = out - b.data;
        PyObject *value = NULL;
        int members = 0;
        for (Py_ssize_t j = c; j < c + n; j++) {
            PyObject *name = PyList_GET_ITEM(names, j), *text = PyList_GET_ITEM(texts, j);
            if (name == value_name) {
                value = text;
                continue;
            }
            if (buf_put(&b, members ? "," : ",\"changes\":{", members ? 1 : 12) < 0 || buf_json(&b, name) < 0 ||
                buf_put(&b, ":", 1) < 0 || buf_json(&b, text) < 0)
                goto done;
            members++;
        }
        if (members && buf_put(&b, "}", 1) < 0)
            goto done;
        if (value != NULL && (buf_put(&b, ",\"value\":", 9) < 0 || buf_json(&b, value) < 0))
            goto done;
        if (buf_put(&b, "}\n", 2) < 0)
            goto done;
        c += n;
    }
    result = PyBytes_FromStringAndSize(b.data ? b.data : "", b.len);
done:
    for (int i = 0; i < 9; i++)
        column_release(&cols[i]);
    PyMem_Free(b.data);
    return result;
}

/* ------------------------------------------------------------------ per-frame state */

/* FrameState: what the recorder keeps about one activation of a recorded frame (recorder._Frame where
 * this module is built): its frame id, the row of its current FrameTable entry, the snapshot of its
 * locals (name -> (value, safe repr, fingerprint), the dict localdiff reads and writes), its code,
 * whether it is a module body, whether its last event was an exception. Python reads and writes these
 * as attributes; the C event paths read the struct.
 *
 * On CPython 3.11 it also keeps a view of the frame's fast locals, slot by slot: the value seen at the
 * last diff (a strong reference, so an identity cannot be reused), whether an identical value means an
 * unchanged repr, and the order the names were added to the snapshot. A line then costs a pointer
 * compare per local instead of a locals dict built by PyFrame_GetLocals and a snapshot lookup per
 * name. The view is rebuilt from the snapshot whenever something else (the Python hooks, or the
 * public-API diff) changed the snapshot: the dict's version tag says so. */
typedef struct {
    PyObject_HEAD
    PyObject *fid, *snap, *code;
    Py_ssize_t ctx;
    char module, raised;
    void *frame; /* the frame object it was entered for by the C call path (identity only), or NULL */
    int nslots;            /* slots of the view; 0: none yet */
    PyObject **seen;       /* per slot: the value at the last diff (strong), NULL when unbound */
    unsigned char *flags;  /* per slot: SLOT_* */
    uint64_t *order;       /* per slot in the snapshot: when it was added (the snapshot's order) */
    Memo *memos;           /* per slot: what the last compare of its fingerprint learned (see DictMemo) */
    NamedMemos named;      /* the same, by name, for diffs through the locals dict (diff_core) */
    uint64_t next_order;
    uint64_t snap_version; /* the snapshot's version tag after the last diff through the view; 0: never */
    uint64_t flocals_version; /* 3.11/3.12: the frame's locals dict's version tag when it was seen to hold
                               * no name besides the slots' (else the public API reads the frame); 0: never */
} FrameState;

#define SLOT_SEEN 1    /* seen[i] is what the snapshot holds for it */
#define SLOT_STABLE 2  /* an identical value has the same repr (the snapshot's fingerprint is True) */
#define SLOT_IN_SNAP 4 /* the name is in the snapshot */

static PyTypeObject FrameStateType;

static void
fs_clear_view(FrameState *self)
{
    for (int i = 0; i < self->nslots; i++) {
        Py_CLEAR(self->seen[i]);
        if (self->memos != NULL)
            memo_reset(&self->memos[i]);
    }
    PyMem_Free(self->seen);
    PyMem_Free(self->flags);
    PyMem_Free(self->order);
    PyMem_Free(self->memos);
    self->seen = NULL;
    self->flags = NULL;
    self->order = NULL;
    self->memos = NULL;
    self->nslots = 0;
    self->snap_version = 0;
}

static int
fs_clear(FrameState *self)
{
    Py_CLEAR(self->fid);
    Py_CLEAR(self->snap);
    Py_CLEAR(self->code);
    fs_clear_view(self);
    named_memos_clear(&self->named);
    return 0;
}

static void
fs_dealloc(FrameState *self)
{
    PyObject_GC_UnTrack(self);
    fs_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int
fs_traverse(FrameState *self, visitproc visit, void *arg)
{
    Py_VISIT(self->fid);
    Py_VISIT(self->snap);
    Py_VISIT(self->code);
    for (int i = 0; i < self->nslots; i++) {
        Py_VISIT(self->seen[i]);
        if (self->memos != NULL)
            Py_VISIT(self->memos[i].fp);
    }
    for (int i = 0; i < NAMED_MEMOS; i++)
        Py_VISIT(self->named.memos[i].fp);
    return 0;
}

static PyObject *str_module_name;

/* FrameState(fid, code): a fresh activation, with an empty snapshot. */
static FrameState *
fs_create(PyObject *fid, PyObject *code)
{
    FrameState *self = PyObject_GC_New(FrameState, &FrameStateType);
    if (self == NULL)
        return NULL;
    self->fid = Py_NewRef(fid);
    self->code = Py_NewRef(code);
    self->snap = PyDict_New();
    self->ctx = 0;
    self->raised = 0;
    self->frame = NULL;
    self->module = 0;
    self->nslots = 0;
    self->seen = NULL;
    self->flags = NULL;
    self->order = NULL;
    self->memos = NULL;
    memset(&self->named, 0, sizeof self->named);
    self->next_order = 0;
    self->snap_version = 0;
    self->flocals_version = 0;
    PyObject_GC_Track(self);
    if (self->snap == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    if (PyCode_Check(code)) {
        int same = PyUnicode_Compare(((PyCodeObject *)code)->co_name, str_module_name);
        if (same == -1 && PyErr_Occurred()) {
            Py_DECREF(self);
            return NULL;
        }
        self->module = same == 0;
    }
    return self;
}

static PyObject *
fs_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *fid, *code;
    if (!PyArg_ParseTuple(args, "OO:FrameState", &fid, &code))
        return NULL;
    return (PyObject *)fs_create(fid, code);
}

static PyMemberDef fs_members[] = {
    {"fid", T_OBJECT_EX, offsetof(FrameState, fid), READONLY, "the frame id"},
    {"code", T_OBJECT_EX, offsetof(FrameState, code), READONLY, "the code object"},
    {"snap", T_OBJECT_EX, offsetof(FrameState, snap), READONLY, "name -> (value, safe repr, fingerprint)"},
    {"ctx", T_PYSSIZET, offsetof(FrameState, ctx), 0, "the row of the current FrameTable entry"},
    {"module", T_BOOL, offsetof(FrameState, module), READONLY, "a module body (its locals are globals)"},
    {"raised", T_BOOL, offsetof(FrameState, raised), 0, "its last event was an exception"},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject FrameStateType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "duck.trace._speedups.FrameState",
    .tp_basicsize = sizeof(FrameState),
    .tp_dealloc = (destructor)fs_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "FrameState(fid, code): one activation of a recorded frame (see duck.trace.recorder._Frame).",
    .tp_traverse = (traverseproc)fs_traverse,
    .tp_clear = (inquiry)fs_clear,
    .tp_members = fs_members,
    .tp_new = fs_new,
};

/* ------------------------------------------------------------------ fast locals (CPython 3.11) */

static int use_fast_locals = DUCK_FAST_LOCALS; /* set_fast_locals(False): the public-API path only */

#if DUCK_FAST_LOCALS
/* The value of slot i as PyFrame_FastToLocals would put it in f_locals (cells and free variables
 * dereferenced), borrowed; NULL when unbound. Only for a frame past its prologue (MAKE_CELL and
 * COPY_FREE_VARS ran), which every traced event of an optimized code object is. */
static inline PyObject *
slot_value(_PyInterpreterFrame *iframe, PyCodeObject *co, int i)
{
    PyObject *value = iframe->localsplus[i];
    if (value != NULL && (_PyLocals_GetKind(co->co_localspluskinds, i) & (CO_FAST_CELL | CO_FAST_FREE)) &&
        PyCell_Check(value))
        value = PyCell_GET(value);
    return value;
}

/* Whether the view can read this frame: 1 yes, 0 use the public API. */
static int
fast_locals_apply(PyFrameObject *frame, FrameState *state)
{
    if (!use_fast_locals)
        return 0;
    _PyInterpreterFrame *iframe = frame->f_frame;
    PyCodeObject *co = IFRAME_CODE(iframe);
    if (co == NULL || (PyObject *)co != state->code || !(co->co_flags & CO_OPTIMIZED) ||
        IFRAME_INSTR(iframe) < _PyCode_CODE(co) + co->_co_firsttraceable) /* before MAKE_CELL / COPY_FREE_VARS */
        return 0;
#if PY_VERSION_HEX < 0x030C0000
    if (iframe->stacktop <= 0)
        return 0;
#endif
#if PY_VERSION_HEX < 0x030D0000
    /* a locals dict made for the frame (locals(), frame.f_locals) may hold names the program added to it,
     * which the public API shows and the slots do not: checked again whenever the dict changed */
    PyObject *d = iframe->f_locals;
    if (d != NULL) {
        if (!PyDict_CheckExact(d))
            return 0;
        uint64_t version = dict_version(d);
        if (version != state->flocals_version) {
            if (PyDict_GET_SIZE(d) > co->co_nlocalsplus)
                return 0;
            Py_ssize_t pos = 0;
            PyObject *name, *value;
            while (PyDict_Next(d, &pos, &name, &value)) {
                int found = 0;
                for (int i = 0; i < co->co_nlocalsplus && !found; i++)
                    found = PyTuple_GET_ITEM(co->co_localsplusnames, i) == name;
                for (int i = 0; i < co->co_nlocalsplus && !found; i++) {
                    PyObject *slot = PyTuple_GET_ITEM(co->co_localsplusnames, i);
                    found = PyUnicode_Check(name) && PyUnicode_Compare(slot, name) == 0;
                }
                if (PyErr_Occurred())
                    PyErr_Clear();
                if (!found)
                    return 0;
            }
            state->flocals_version = version;
        }
    }
#endif
#if PY_VERSION_HEX >= 0x030D0000
    if (frame->f_extra_locals != NULL) /* names the program added through frame.f_locals: no slots */
        return 0;
#endif
    return 1;
}

/* (Re)build the view from the snapshot: which slots it holds and in what order; nothing seen yet.
 * 0, or -1 with an exception; 1 when the snapshot holds a name that is no slot (the public API then). */
static int
fs_sync_view(FrameState *state, PyCodeObject *co)
{
    int n = co->co_nlocalsplus;
    if (state->nslots != n) {
        fs_clear_view(state);
        state->seen = PyMem_Calloc(n ? n : 1, sizeof(PyObject *));
        state->flags = PyMem_Calloc(n ? n : 1, 1);
        state->order = PyMem_Calloc(n ? n : 1, sizeof(uint64_t));
        state->memos = PyMem_Calloc(n ? n : 1, sizeof(Memo));
        if (state->seen == NULL || state->flags == NULL || state->order == NULL || state->memos == NULL) {
            fs_clear_view(state);
            PyErr_NoMemory();
            return -1;
        }
        state->nslots = n;
    }
    for (int i = 0; i < n; i++) {
        Py_CLEAR(state->seen[i]);
        memo_reset(&state->memos[i]);
        state->flags[i] = 0;
    }
    Py_ssize_t pos = 0;
    PyObject *name, *entry;
    uint64_t k = 0;
    while (PyDict_Next(state->snap, &pos, &name, &entry)) {
        int found = -1;
        for (int i = 0; i < n; i++) {
            if (PyTuple_GET_ITEM(co->co_localsplusnames, i) == name) {
                found = i;
                break;
            }
        }
        for (int i = 0; found < 0 && i < n; i++) {
            int same = PyUnicode_Compare(PyTuple_GET_ITEM(co->co_localsplusnames, i), name);
            if (same == -1 && PyErr_Occurred())
                return -1;
            if (same == 0)
                found = i;
        }
        if (found < 0)
            return 1;
        state->flags[found] = SLOT_IN_SNAP;
        state->order[found] = k++;
    }
    state->next_order = k;
    state->snap_version = dict_version(state->snap);
    return 0;
}

/* Sort slot numbers by their order in the snapshot (a handful at most: insertion sort). */
static void
sort_by_order(int *slots, int n, const uint64_t *order)
{
    for (int i = 1; i < n; i++) {
        int s = slots[i], j = i - 1;
        while (j >= 0 && order[slots[j]] > order[s]) {
            slots[j + 1] = slots[j];
            j--;
        }
        slots[j + 1] = s;
    }
}

#define FAST_SLOTS_ON_STACK 64

/* diff_core over the view: the same changes, in the same order, as diff_core over the frame's
 * locals dict (the names already in the snapshot in its order, then the new ones in slot order, as
 * PyFrame_FastToLocals inserts them; deleted names in the snapshot's order). The result as
 * diff_core's; NULL without an exception when the view cannot be used (the public API then). */
static PyObject *
fast_diff(FrameState *state, PyFrameObject *frame, Py_ssize_t limit, PyObject *limit_obj, PyObject *names,
          PyObject *texts)
{
    _PyInterpreterFrame *iframe = frame->f_frame;
    PyCodeObject *co = IFRAME_CODE(iframe);
    int n = co->co_nlocalsplus;
    if (state->nslots != n || state->snap_version != dict_version(state->snap)) {
        int r = fs_sync_view(state, co);
        if (r != 0)
            return NULL; /* an error, or (1) the public API */
    }
    int on_stack[3 * FAST_SLOTS_ON_STACK];
    int *changed = on_stack, *added = on_stack + FAST_SLOTS_ON_STACK, *gone = on_stack + 2 * FAST_SLOTS_ON_STACK;
    int *heap = NULL;
    if (n > FAST_SLOTS_ON_STACK) {
        heap = PyMem_Malloc(3 * (size_t)n * sizeof(int));
        if (heap == NULL) {
            PyErr_NoMemory();
            return NULL;
        }
        changed = heap;
        added = heap + n;
        gone = heap + 2 * n;
    }
    int n_changed = 0, n_added = 0, n_gone = 0;
    for (int i = 0; i < n; i++) {
        PyObject *value = slot_value(iframe, co, i);
        unsigned char f = state->flags[i];
        if (value == NULL) {
            if (f & SLOT_IN_SNAP)
                gone[n_gone++] = i;
            continue;
        }
        if ((f & (SLOT_SEEN | SLOT_STABLE)) == (SLOT_SEEN | SLOT_STABLE) && state->seen[i] == value)
            continue;
        if (f & SLOT_IN_SNAP)
            changed[n_changed++] = i;
        else
            added[n_added++] = i;
    }
    PyObject *result = NULL;
    Py_ssize_t count = 0;
    Py_ssize_t k = (limit + 32) / 3 + 3;
    sort_by_order(changed, n_changed, state->order);
    for (int pass = 0; pass < 2; pass++) {
        int *slots = pass ? added : changed, m = pass ? n_added : n_changed;
        for (int j = 0; j < m; j++) {
            int i = slots[j];
            PyObject *name = PyTuple_GET_ITEM(co->co_localsplusnames, i);
            PyObject *value = slot_value(iframe, co, i);
            if (value == NULL) /* the repr of an earlier one ran code that unbound it: next time */
                continue;
            Py_INCREF(value);
            int r = diff_one(state->snap, name, value, limit, limit_obj, k, names, texts, &state->memos[i], NULL);
            if (r < 0) {
                Py_DECREF(value);
                goto done;
            }
            count += r;
            PyObject *entry = PyDict_GetItemWithError(state->snap, name);
            if (entry == NULL) {
                Py_DECREF(value);
                if (!PyErr_Occurred())
                    PyErr_SetString(PyExc_RuntimeError, "a local missing from its snapshot");
                goto done;
            }
            if (PyTuple_GET_ITEM(entry, 2) != state->memos[i].fp) /* another fingerprint: start over */
                memo_reset(&state->memos[i]);
            Py_XSETREF(state->seen[i], value);
            state->flags[i] = SLOT_SEEN | SLOT_IN_SNAP | (PyTuple_GET_ITEM(entry, 2) == Py_True ? SLOT_STABLE : 0);
            if (pass)
                state->order[i] = state->next_order++;
        }
    }
    if (n_gone) {
        sort_by_order(gone, n_gone, state->order);
        PyObject *deleted = PyList_New(n_gone);
        if (deleted == NULL)
            goto done;
        for (int j = 0; j < n_gone; j++) {
            int i = gone[j];
            PyObject *name = PyTuple_GET_ITEM(co->co_localsplusnames, i);
            PyList_SET_ITEM(deleted, j, Py_NewRef(name));
            if (PyDict_DelItem(state->snap, name) < 0) {
                Py_DECREF(deleted);
                goto done;
            }
            Py_CLEAR(state->seen[i]);
            memo_reset(&state->memos[i]);
            state->flags[i] = 0;
        }
        result = Py_BuildValue("(nN)", count, deleted);
    } else {
        result = PyLong_FromSsize_t(count);
    }
    state->snap_version = dict_version(state->snap);
done:
    PyMem_Free(heap);
    return result;
}
#endif

/* ------------------------------------------------------------------ the line-event fast path */

/* LineRecorder: the recorder's `line`, `return` and `call` events in C. Called as a settrace trace
 * function (frame, event, arg) it handles "line", "return" (not of a generator or of a frame that
 * raised) and, once calls() gave it the call path, "call" of a code known to be the user's that is
 * not a generator; it hands every other event to the Python `fallback` (global_fallback for
 * "call"). Its `on_line(code, lineno)`, `on_return(code, offset, value)` and `on_start(code,
 * offset)` methods are the sys.monitoring callbacks, handing unknown codes to `start_fallback`. Per event it looks up the frame's state
 * (frames[id(frame)].line_info = (snap, module, ctx)), diffs the locals and appends
 * (line << 2 | LINE, ctx, count) to the store's columns; every `budget` events it calls
 * `checkpoint()` (a flush, or the step limit, which raises into the program). */
typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *frames, *names, *texts, *kl_append, *ctx_append, *nc_append;
    PyObject *kl_column, *ctx_column, *nc_column; /* the arrays behind them, written directly (or NULL) */
    PyObject *note_rare, *checkpoint, *fallback, *limit_obj, *stack, *value_name;
    /* the call path (set by calls()): NULL until then, and every call goes to the Python fallbacks */
    PyObject *recorder, *user_codes, *table_add, *global_fallback, *start_fallback;
    /* the FrameTable's code index and columns, appended to here for a code it already knows */
    PyObject *code_ids, *table_fid, *fid_append, *code_append, *depth_append, *parent_append;
    PyObject *table_columns[4]; /* the arrays behind the four appends, written directly (borrowed; or NULL) */
    Py_ssize_t limit, budget;
    unsigned long thread;
    int settrace;
} LineRecorder;

static PyObject *str_f_locals, *str_line, *str_call, *str_return;
static PyObject *one, *empty_tuple;
static PyObject *str_next_fid, *str_fid;

static void
lr_dealloc(LineRecorder *self)
{
    PyObject_GC_UnTrack(self);
    Py_CLEAR(self->frames);
    Py_CLEAR(self->names);
    Py_CLEAR(self->texts);
    Py_CLEAR(self->kl_append);
    Py_CLEAR(self->ctx_append);
    Py_CLEAR(self->nc_append);
    Py_CLEAR(self->kl_column);
    Py_CLEAR(self->ctx_column);
    Py_CLEAR(self->nc_column);
    Py_CLEAR(self->note_rare);
    Py_CLEAR(self->checkpoint);
    Py_CLEAR(self->fallback);
    Py_CLEAR(self->limit_obj);
    Py_CLEAR(self->stack);
    Py_CLEAR(self->value_name);
    Py_CLEAR(self->recorder);
    Py_CLEAR(self->user_codes);
    Py_CLEAR(self->table_add);
    Py_CLEAR(self->global_fallback);
    Py_CLEAR(self->start_fallback);
    Py_CLEAR(self->code_ids);
    Py_CLEAR(self->table_fid);
    Py_CLEAR(self->fid_append);
    Py_CLEAR(self->code_append);
    Py_CLEAR(self->depth_append);
    Py_CLEAR(self->parent_append);
    PyObject_GC_Del(self);
}

static int
lr_traverse(LineRecorder *self, visitproc visit, void *arg)
{
    Py_VISIT(self->frames);
    Py_VISIT(self->names);
    Py_VISIT(self->texts);
    Py_VISIT(self->kl_append);
    Py_VISIT(self->ctx_append);
    Py_VISIT(self->nc_append);
    Py_VISIT(self->kl_column);
    Py_VISIT(self->ctx_column);
    Py_VISIT(self->nc_column);
    Py_VISIT(self->note_rare);
    Py_VISIT(self->checkpoint);
    Py_VISIT(self->fallback);
    Py_VISIT(self->stack);
    Py_VISIT(self->recorder);
    Py_VISIT(self->user_codes);
    Py_VISIT(self->table_add);
    Py_VISIT(self->global_fallback);
    Py_VISIT(self->start_fallback);
    Py_VISIT(self->code_ids);
    Py_VISIT(self->table_fid);
    Py_VISIT(self->fid_append);
    Py_VISIT(self->code_append);
    Py_VISIT(self->depth_append);
    Py_VISIT(self->parent_append);
    return 0;
}

static int
append_ssize(PyObject *append, Py_ssize_t x)
{
    PyObject *v = PyLong_FromSsize_t(x);
    if (v == NULL)
        return -1;
    PyObject *r = PyObject_CallOneArg(append, v);
    Py_DECREF(v);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    return 0;
}

/* Appending to the store's array('i'/'I') columns without a method call per value. The array
 * module's object layout is not public; array_layout_ok() checks it once on a live array (size,
 * capacity, an item where it must be), and without that, or when an array is full or exported,
 * the column's own append() is called. */
typedef struct {
    PyObject_VAR_HEAD
    char *ob_item;
    Py_ssize_t allocated;
    const void *ob_descr;
    PyObject *weakreflist;
    Py_ssize_t ob_exports;
} ArrayLayout;

static int array_layout_checked = 0; /* 0 not yet, 1 matches, -1 does not */

static int
array_layout_ok(void)
{
    if (array_layout_checked != 0)
        return array_layout_checked > 0;
    array_layout_checked = -1;
    PyObject *module = PyImport_ImportModule("array");
    PyObject *a = module ? PyObject_CallMethod(module, "array", "s(iii)", "i", 7, 8, 9) : NULL;
    PyObject *itemsize = a ? PyObject_GetAttrString(a, "itemsize") : NULL;
    if (itemsize != NULL && PyLong_AsLong(itemsize) == 4 && Py_SIZE(a) == 3 && ((ArrayLayout *)a)->allocated >= 3 &&
        ((ArrayLayout *)a)->ob_exports == 0 && ((int32_t *)((ArrayLayout *)a)->ob_item)[1] == 8)
        array_layout_checked = 1;
    Py_XDECREF(itemsize);
    Py_XDECREF(a);
    Py_XDECREF(module);
    PyErr_Clear();
    return array_layout_checked > 0;
}

/* The array behind `append` (a bound array.append of a 4-byte column) when it can be written directly, else NULL. */
static PyObject *
direct_column(PyObject *append, const char *typecode)
{
    if (!PyCFunction_Check(append) || !array_layout_ok())
        return NULL;
    PyObject *self = PyCFunction_GET_SELF(append);
    if (self == NULL || strcmp(Py_TYPE(self)->tp_name, "array.array") != 0)
        return NULL;
    PyObject *code = PyObject_GetAttrString(self, "typecode");
    int same = code != NULL && PyUnicode_Check(code) && PyUnicode_CompareWithASCIIString(code, typecode) == 0;
    Py_XDECREF(code);
    PyErr_Clear();
    return same ? self : NULL;
}

/* Append x to a column: directly into `column` (an array from direct_column, or NULL) while it has room,
 * else by calling `append`. `lo`/`hi`: the item type's range (outside it, append raises as it would). */
static inline int
column_append(PyObject *column, PyObject *append, Py_ssize_t x, long long lo, long long hi)
{
    if (column != NULL) {
        ArrayLayout *a = (ArrayLayout *)column;
        Py_ssize_t n = Py_SIZE(a);
        if (n < a->allocated && a->ob_exports == 0 && x >= lo && x <= hi) {
            if (lo < 0)
                ((int32_t *)a->ob_item)[n] = (int32_t)x;
            else
                ((uint32_t *)a->ob_item)[n] = (uint32_t)x;
            Py_SET_SIZE(a, n + 1);
            return 0;
        }
    }
    return append_ssize(append, x);
}

/* Count one event against the budget; 0, or -1 with the checkpoint's exception. */
static int
lr_count(LineRecorder *self)
{
    if (--self->budget > 0)
        return 0;
    PyObject *r = PyObject_CallNoArgs(self->checkpoint);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    return 0;
}

static int
call_append(PyObject *append, PyObject *value)
{
    PyObject *r = PyObject_CallOneArg(append, value);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    return 0;
}

static int
is_recursion_or_memory_error(void)
{
    return PyErr_ExceptionMatches(PyExc_RecursionError) || PyErr_ExceptionMatches(PyExc_MemoryError);
}

/* The state of a recorded frame: frames[id(frame)], borrowed; NULL (no exception) when it is not recorded,
 * or when the program is too deep to look (the lookup compares keys: a RecursionError at the limit),
 * which skips the event as the Python hooks skip it. */
static FrameState *
lr_state(LineRecorder *self, PyObject *frame)
{
    Py_ssize_t depth = PyList_GET_SIZE(self->stack);
    if (depth > 0) { /* most events are the innermost recorded frame's: no lookup */
        PyObject *top = PyList_GET_ITEM(self->stack, depth - 1);
        if (Py_IS_TYPE(top, &FrameStateType) && ((FrameState *)top)->frame == (void *)frame)
            return (FrameState *)top;
    }
    PyObject *key = PyLong_FromVoidPtr(frame);
    if (key == NULL)
        return NULL;
    PyObject *state = PyDict_GetItemWithError(self->frames, key);
    Py_DECREF(key);
    if (state == NULL && PyErr_Occurred() && is_recursion_or_memory_error())
        PyErr_Clear();
    if (state != NULL && !Py_IS_TYPE(state, &FrameStateType)) {
        PyErr_SetString(PyExc_TypeError, "the recorder's frames must be FrameState objects");
        return NULL;
    }
    return (FrameState *)state;
}

/* The diff of `frame`'s locals against `state`'s snapshot (changed names and texts appended to
 * self->names / self->texts): the number of changes; -1 on error. Through the fast-locals view where
 * it applies, else through PyFrame_GetLocals. */
static Py_ssize_t
lr_diff_locals(LineRecorder *self, FrameState *state, PyObject *frame)
{
    PyObject *result = NULL;
#if DUCK_FAST_LOCALS
    if (fast_locals_apply((PyFrameObject *)frame, state)) {
        result = fast_diff(state, (PyFrameObject *)frame, self->limit, self->limit_obj, self->names, self->texts);
        if (result == NULL && PyErr_Occurred())
            return -1;
    }
#endif
    if (result == NULL) {
#if PY_VERSION_HEX >= 0x030B0000
        PyObject *locals = PyFrame_GetLocals((PyFrameObject *)frame);
#else
        PyObject *locals = PyObject_GetAttr(frame, str_f_locals);
#endif
        if (locals == NULL)
            return -1;
        result = diff_core(state->snap, locals, state->module, self->limit, self->limit_obj, self->names,
                           self->texts, &state->named);
        Py_DECREF(locals);
    }
    if (result != NULL && !PyLong_CheckExact(result))
        Py_SETREF(result, PyObject_CallOneArg(self->note_rare, result));
    if (result == NULL)
        return -1;
    Py_ssize_t count = PyLong_AsSsize_t(result);
    Py_DECREF(result);
    if (count < 0 && !PyErr_Occurred())
        PyErr_SetString(PyExc_ValueError, "a negative count of changes");
    return count;
}

/* Append one event (kind_line, ctx, count) to the store's columns and count it against the budget. */
static int
lr_append_event(LineRecorder *self, Py_ssize_t kind_line, Py_ssize_t ctx, Py_ssize_t count)
{
    if (column_append(self->kl_column, self->kl_append, kind_line, INT32_MIN, INT32_MAX) < 0 ||
        column_append(self->ctx_column, self->ctx_append, ctx, INT32_MIN, INT32_MAX) < 0 ||
        column_append(self->nc_column, self->nc_append, count, 0, UINT32_MAX) < 0)
        return -1;
    return lr_count(self);
}

/* Record a line event of `frame`. 0 on success (or an unrecorded frame), -1 on error. */
static int
lr_line(LineRecorder *self, PyObject *frame, int lineno)
{
    FrameState *state = lr_state(self, frame);
    if (state == NULL)
        return PyErr_Occurred() ? -1 : 0;
    Py_INCREF(state);
    int rc = -1;
    if (self->settrace)
        state->raised = 0;
    Py_ssize_t count = lr_diff_locals(self, state, frame);
    if (count >= 0)
        rc = lr_append_event(self, ((Py_ssize_t)lineno << 2) | 1, state->ctx, count);
    Py_DECREF(state);
    if (rc < 0 && is_recursion_or_memory_error()) {
        PyErr_Clear(); /* as the Python hooks do: a frame too deep to record is skipped */
        rc = 0;
    }
    return rc;
}

/* Record the return event of `frame` (not unwinding, not a yield): the diff of its locals, then its
 * value as the pseudo-local `value_name`; the frame leaves the stack and `frames`. 1 when recorded
 * (or the frame is not recorded), 0 when the frame needs the Python `leave` (settrace: it raised,
 * or it is a generator, whose return may be a yield), -1 on error. */
static int
lr_return(LineRecorder *self, PyObject *frame, PyObject *value)
{
    FrameState *state = lr_state(self, frame);
    if (state == NULL)
        return PyErr_Occurred() ? -1 : 1;
    if (self->settrace && (state->raised ||
                           (((PyCodeObject *)state->code)->co_flags & (CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR))))
        return 0;
    Py_INCREF(state);
    int rc = -1;
    PyObject *key = NULL, *text = NULL;
    Py_ssize_t count = lr_diff_locals(self, state, frame);
    if (count < 0)
        goto done;
    Py_ssize_t depth = PyList_GET_SIZE(self->stack);
    if (depth > 0 && PyList_GET_ITEM(self->stack, depth - 1) == (PyObject *)state) {
        if (PyList_SetSlice(self->stack, depth - 1, depth, NULL) < 0)
            goto done;
    } else {
        for (Py_ssize_t i = 0; i < depth; i++) {
            if (PyList_GET_ITEM(self->stack, i) == (PyObject *)state) {
                if (PyList_SetSlice(self->stack, i, i + 1, NULL) < 0)
                    goto done;
                break;
            }
        }
    }
    key = PyLong_FromVoidPtr(frame);
    if (key == NULL || PyDict_DelItem(self->frames, key) < 0)
        goto done;
    /* a returned local (just diffed) is not repr'd again */
    PyObject *known = known_entry(state->snap, value, (self->limit + 32) / 3 + 3);
    text = known != NULL ? Py_NewRef(PyTuple_GET_ITEM(known, 1)) : value_text(value, self->limit, self->limit_obj);
    if (text == NULL || PyList_Append(self->names, self->value_name) < 0)
        goto done;
    if (PyList_Append(self->texts, text) < 0)
        goto done;
    int lineno = PyFrame_GetLineNumber((PyFrameObject *)frame);
    rc = lr_append_event(self, ((Py_ssize_t)(lineno < 0 ? 0 : lineno) << 2) | 2, state->ctx, count + 1) < 0 ? -1 : 1;
done:
    Py_XDECREF(text);
    Py_XDECREF(key);
    Py_DECREF(state);
    if (rc < 0 && is_recursion_or_memory_error()) {
        PyErr_Clear(); /* as the Python hooks do: a frame too deep to record is skipped */
        rc = 1;
    }
    return rc;
}

/* FrameTable.add(fid, code, depth, parent): the new entry's row, appended here when the table
 * already knows `code` (else by the Python method, which indexes it). */
static PyObject *
lr_table_add(LineRecorder *self, PyObject *const *args)
{
    PyObject *index = PyDict_GetItemWithError(self->code_ids, args[1]);
    if (index == NULL) {
        if (PyErr_Occurred())
            return NULL;
        return PyObject_Vectorcall(self->table_add, args, 4, NULL);
    }
    PyObject *values[4] = {args[0], index, args[2], args[3]};
    PyObject *appends[4] = {self->fid_append, self->code_append, self->depth_append, self->parent_append};
    for (int i = 0; i < 4; i++) {
        Py_ssize_t x = PyLong_CheckExact(values[i]) ? PyLong_AsSsize_t(values[i]) : -1;
        if (x == -1 && PyErr_Occurred())
            PyErr_Clear();
        int r = x == -1 || self->table_columns[i] == NULL
                    ? call_append(appends[i], values[i])
                    : column_append(self->table_columns[i], appends[i], x, INT32_MIN, INT32_MAX);
        if (r < 0)
            return NULL;
    }
    Py_ssize_t rows = self->table_columns[0] != NULL ? Py_SIZE(self->table_columns[0]) : PyObject_Length(self->table_fid);
    return rows < 0 ? NULL : PyLong_FromSsize_t(rows - 1);
}

/* Record the call event of a fresh (not resumed) activation of user code `code` in `frame`: what the
 * Python `enter` does with may_resume false. 0 on success, -1 on error. */
static int
lr_enter(LineRecorder *self, PyObject *frame, PyCodeObject *code)
{
    PyObject *key = NULL, *fid = NULL, *next = NULL, *ctx = NULL, *depth_obj = NULL, *parent = NULL;
    FrameState *state = NULL;
    int rc = -1;
    fid = PyObject_GetAttr(self->recorder, str_next_fid);
    if (fid == NULL)
        goto done;
    next = PyNumber_Add(fid, one);
    if (next == NULL || PyObject_SetAttr(self->recorder, str_next_fid, next) < 0)
        goto done;
    state = fs_create(fid, (PyObject *)code);
    if (state == NULL)
        goto done;
    state->frame = frame;
    key = PyLong_FromVoidPtr(frame);
    if (key == NULL || PyDict_SetItem(self->frames, key, (PyObject *)state) < 0)
        goto done;
    Py_ssize_t depth = PyList_GET_SIZE(self->stack);
    if (depth > 0) {
        PyObject *top = PyList_GET_ITEM(self->stack, depth - 1);
        parent = Py_IS_TYPE(top, &FrameStateType) ? Py_NewRef(((FrameState *)top)->fid) : PyObject_GetAttr(top, str_fid);
    } else {
        parent = PyLong_FromLong(-1);
    }
    depth_obj = PyLong_FromSsize_t(depth);
    if (parent == NULL || depth_obj == NULL)
        goto done;
    PyObject *add_args[4] = {fid, (PyObject *)code, depth_obj, parent};
    ctx = lr_table_add(self, add_args);
    if (ctx == NULL)
        goto done;
    state->ctx = PyLong_AsSsize_t(ctx);
    if (state->ctx == -1 && PyErr_Occurred())
        goto done;
    if (PyList_Append(self->stack, (PyObject *)state) < 0)
        goto done;
    /* the arguments: a value the caller's snapshot holds (and still shows the same) is not repr'd again */
    PyObject *caller = depth > 0 ? PyList_GET_ITEM(self->stack, depth - 1) : NULL;
    reuse_snap = caller != NULL && Py_IS_TYPE(caller, &FrameStateType) ? ((FrameState *)caller)->snap : NULL;
    Py_XINCREF(reuse_snap);
    PyObject *held = reuse_snap;
    Py_ssize_t count = lr_diff_locals(self, state, frame);
    reuse_snap = NULL;
    Py_XDECREF(held);
    if (count < 0)
        goto done;
    rc = lr_append_event(self, (Py_ssize_t)code->co_firstlineno << 2, state->ctx, count);
done:
    Py_XDECREF(depth_obj);
    Py_XDECREF(parent);
    Py_XDECREF(ctx);
    Py_XDECREF((PyObject *)state);
    Py_XDECREF(next);
    Py_XDECREF(fid);
    Py_XDECREF(key);
    return rc;
}

/* Is `code` known to be the user's? 1 yes, 0 no or not known yet (the Python fallback decides), -1 error. */
static int
lr_known_user(LineRecorder *self, PyCodeObject *code)
{
    if (self->user_codes == NULL)
        return 0;
    PyObject *known = PyDict_GetItemWithError(self->user_codes, (PyObject *)code);
    if (known == NULL)
        return PyErr_Occurred() ? -1 : 0;
    return known == Py_True;
}

/* A settrace event name as a kind: 0 call, 1 line, 2 return, -1 any other. */
static int
event_kind(PyObject *event)
{
    if (event == str_line)
        return 1;
    if (event == str_call)
        return 0;
    if (event == str_return)
        return 2;
    if (!PyUnicode_Check(event))
        return -1;
    if (PyUnicode_CompareWithASCIIString(event, "line") == 0)
        return 1;
    if (PyUnicode_CompareWithASCIIString(event, "call") == 0)
        return 0;
    if (PyUnicode_CompareWithASCIIString(event, "return") == 0)
        return 2;
    return -1;
}

/* The settrace path as a C trace function (PyEval_SetTrace, installed by install()): the events of the
 * vectorcall path without what CPython does around a Python-level trace function (a locals dict
 * filled before each event and written back after it). Frames of code that is not the user's have
 * their line events switched off at their call (f_trace_lines), as a Python trace function returning
 * None would. An error stops tracing, as it stops a Python trace function, and reaches the program
 * (the step limit's StepLimitReached does so on purpose). */
static PyObject *str_exception, *str_f_trace_lines;

static int
lr_lines_off(PyFrameObject *frame)
{
#if DUCK_FAST_LOCALS
    frame->f_trace_lines = 0;
    return 0;
#else
    return PyObject_SetAttr((PyObject *)frame, str_f_trace_lines, Py_False);
#endif
}

/* Call a Python hook with (frame, event, arg). Too deep to call it (the program at the recursion limit)
 * is no error: the hook would skip the frame as it does when it meets the limit itself. */
static int
lr_call_fallback(PyObject *fallback, PyFrameObject *frame, PyObject *event, PyObject *arg, PyObject **result)
{
    PyObject *args[3] = {(PyObject *)frame, event, arg};
    PyObject *r = PyObject_Vectorcall(fallback, args, 3, NULL);
    if (r == NULL && is_recursion_or_memory_error()) {
        PyErr_Clear();
        r = Py_NewRef(Py_None);
    }
    if (r == NULL)
        return -1;
    if (result != NULL)
        *result = r;
    else
        Py_DECREF(r);
    return 0;
}

static int
lr_trace_event(LineRecorder *self, PyFrameObject *frame, int what, PyObject *arg)
{
    if (what == PyTrace_LINE)
        return lr_line(self, (PyObject *)frame, PyFrame_GetLineNumber(frame));
    if (what == PyTrace_CALL) {
        PyCodeObject *code = PyFrame_GetCode(frame);
        PyObject *known = self->user_codes == NULL ? NULL : PyDict_GetItemWithError(self->user_codes, (PyObject *)code);
        if (known == NULL && PyErr_Occurred()) {
            Py_DECREF(code);
            return -1;
        }
        int rc = 0;
        if (known == Py_False) {
            rc = lr_lines_off(frame);
        } else if (known == Py_True && !(code->co_flags & (CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR))) {
            rc = lr_enter(self, (PyObject *)frame, code);
            if (rc < 0 && is_recursion_or_memory_error()) {
                PyErr_Clear(); /* as _global_trace does: a frame too deep to record is not recorded */
                rc = lr_lines_off(frame);
            }
        } else if (self->global_fallback != NULL) {
            PyObject *local = NULL;
            rc = lr_call_fallback(self->global_fallback, frame, str_call, Py_None, &local);
            if (rc == 0) {
                if (local == Py_None)
                    rc = lr_lines_off(frame);
                Py_DECREF(local);
            }
        }
        Py_DECREF(code);
        return rc;
    }
    if (what == PyTrace_RETURN) {
        PyObject *value = arg != NULL ? arg : Py_None;
        int handled = lr_return(self, (PyObject *)frame, value);
        if (handled != 0)
            return handled < 0 ? -1 : 0;
        return lr_call_fallback(self->fallback, frame, str_return, value, NULL);
    }
    if (what == PyTrace_EXCEPTION) {
        FrameState *state = lr_state(self, (PyObject *)frame);

        if (state == NULL)
            return PyErr_Occurred() ? -1 : 0;
        return lr_call_fallback(self->fallback, frame, str_exception, arg != NULL ? arg : Py_None, NULL);
    }
    return 0;
}

/* The recorder's own Python-level work (the Python hooks, a repr, a dict lookup that compares keys) needs
 * frames above the program's. At the recursion limit it has none: the program's innermost frames would
 * lose their exception events and their unwinding returns would read as `return None`. So while an
 * event is handled near the limit, the limit is raised by RECORDER_HEADROOM and put back after it: the
 * program never runs in between, so it still meets its RecursionError where Python gives it. */
#define RECORDER_HEADROOM 200

static int
headroom_begin(void)
{
    PyThreadState *tstate = PyThreadState_Get();
#if PY_VERSION_HEX >= 0x030C0000
    int remaining = tstate->py_recursion_remaining;
#else
    int remaining = tstate->recursion_remaining;
#endif
    if (remaining >= RECORDER_HEADROOM)
        return 0;
    int limit = Py_GetRecursionLimit();
    Py_SetRecursionLimit(limit + RECORDER_HEADROOM);
    return limit;
}

static void
headroom_end(int limit)
{
    if (limit > 0)
        Py_SetRecursionLimit(limit);
}

static int
lr_trace(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    int limit = headroom_begin();
    int rc = lr_trace_event((LineRecorder *)obj, frame, what, arg);
    headroom_end(limit);
    if (rc == 0)
        return 0;
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    PyEval_SetTrace(NULL, NULL);
    PyErr_Restore(type, value, traceback);
    return -1;
}

static PyObject *
lr_install(LineRecorder *self, PyObject *unused)
{
    PyEval_SetTrace(lr_trace, (PyObject *)self);
    Py_RETURN_NONE;
}

static PyObject *lr_vectorcall_event(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames);

static PyObject *
lr_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    int limit = headroom_begin();
    PyObject *result = lr_vectorcall_event(callable, args, nargsf, kwnames);
    headroom_end(limit);
    return result;
}

static PyObject *
lr_vectorcall_event(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    LineRecorder *self = (LineRecorder *)callable;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (nargs != 3 || kwnames != NULL) {
        PyErr_SetString(PyExc_TypeError, "a trace function takes (frame, event, arg)");
        return NULL;
    }
    PyObject *event = args[1];
    int kind = event_kind(event);
    if (kind == 1) {
        if (!PyFrame_Check(args[0])) {
            PyErr_SetString(PyExc_TypeError, "not a frame");
            return NULL;
        }
        if (lr_line(self, args[0], PyFrame_GetLineNumber((PyFrameObject *)args[0])) < 0)
            return NULL;
        return Py_NewRef(callable);
    }
    if (kind == 0 && PyFrame_Check(args[0])) {
        /* the global trace function: a fresh activation of known user code is entered here */
        PyCodeObject *code = PyFrame_GetCode((PyFrameObject *)args[0]);
        int user = (code->co_flags & (CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR)) ? 0
                                                                                          : lr_known_user(self, code);
        if (user <= 0) {
            Py_DECREF(code);
            if (user < 0)
                return NULL;
            if (self->global_fallback == NULL)
                Py_RETURN_NONE;
            return PyObject_Vectorcall(self->global_fallback, args, 3, NULL);
        }
        int rc = lr_enter(self, args[0], code);
        Py_DECREF(code);
        if (rc < 0) {
            if (!is_recursion_or_memory_error())
                return NULL;
            PyErr_Clear(); /* as _global_trace does: a frame too deep to record is not recorded */
            Py_RETURN_NONE;
        }
        return Py_NewRef(callable);
    }
    if (kind == 2 && PyFrame_Check(args[0])) {
        int handled = lr_return(self, args[0], args[2]);
        if (handled < 0)
            return NULL;
        if (handled == 0) {
            PyObject *r = PyObject_Vectorcall(self->fallback, args, 3, NULL);
            if (r == NULL)
                return NULL;
            Py_DECREF(r);
        }
    } else {
        PyObject *r = PyObject_Vectorcall(self->fallback, args, 3, NULL);
        if (r == NULL)
            return NULL;
        Py_DECREF(r);
    }
    return Py_NewRef(callable);
}

static PyObject *lr_on_line_event(LineRecorder *self, PyObject *const *args, Py_ssize_t nargs);

static PyObject *
lr_on_line(LineRecorder *self, PyObject *const *args, Py_ssize_t nargs)
{
    int limit = headroom_begin();
    PyObject *result = lr_on_line_event(self, args, nargs);
    headroom_end(limit);
    return result;
}

static PyObject *
lr_on_line_event(LineRecorder *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "on_line(code, lineno)");
        return NULL;
    }
    if (PyThread_get_thread_ident() != self->thread)
        Py_RETURN_NONE;
    long lineno = PyLong_AsLong(args[1]);
    if (lineno == -1 && PyErr_Occurred())
        return NULL;
    PyFrameObject *frame = PyEval_GetFrame();
    if (frame == NULL)
        Py_RETURN_NONE;
    if (lr_line(self, (PyObject *)frame, (int)lineno) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *lr_on_return_event(LineRecorder *self, PyObject *const *args, Py_ssize_t nargs);

static PyObject *
lr_on_return(LineRecorder *self, PyObject *const *args, Py_ssize_t nargs)
{
    int limit = headroom_begin();
    PyObject *result = lr_on_return_event(self, args, nargs);
    headroom_end(limit);
    return result;
}

static PyObject *
lr_on_return_event(LineRecorder *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "on_return(code, offset, value)");
        return NULL;
    }
    if (PyThread_get_thread_ident() != self->thread)
        Py_RETURN_NONE;
    PyFrameObject *frame = PyEval_GetFrame();
    if (frame == NULL)
        Py_RETURN_NONE;
    if (lr_return(self, (PyObject *)frame, args[2]) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *lr_on_start_event(LineRecorder *self, PyObject *const *args, Py_ssize_t nargs);

static PyObject *
lr_on_start(LineRecorder *self, PyObject *const *args, Py_ssize_t nargs)
{
    int limit = headroom_begin();
    PyObject *result = lr_on_start_event(self, args, nargs);
    headroom_end(limit);
    return result;
}

static PyObject *
lr_on_start_event(LineRecorder *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyCode_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "on_start(code, offset)");
        return NULL;
    }
    if (PyThread_get_thread_ident() != self->thread)
        Py_RETURN_NONE;
    PyCodeObject *code = (PyCodeObject *)args[0];
    int user = lr_known_user(self, code);
    if (user < 0)
        return NULL;
    PyFrameObject *frame = PyEval_GetFrame();
    if (user == 0 || frame == NULL) {
        if (self->start_fallback == NULL)
            Py_RETURN_NONE;
        return PyObject_Vectorcall(self->start_fallback, args, 2, NULL);
    }
    if (lr_enter(self, (PyObject *)frame, code) < 0) {
        if (!is_recursion_or_memory_error())
            return NULL;
        PyErr_Clear();
    }
    Py_RETURN_NONE;
}

static PyObject *
lr_calls(LineRecorder *self, PyObject *args)
{
    PyObject *recorder, *user_codes, *table, *global_fallback, *start_fallback;
    if (!PyArg_ParseTuple(args, "OO!OOO:calls", &recorder, &PyDict_Type, &user_codes, &table, &global_fallback,
                          &start_fallback))
        return NULL;
    PyObject *got[6] = {NULL};
    const char *attrs[6] = {"add", "_code_ids", "fid", "code", "depth", "parent"};
    for (int i = 0; i < 6; i++) {
        got[i] = PyObject_GetAttrString(table, attrs[i]);
        if (got[i] == NULL)
            goto fail;
    }
    if (!PyDict_CheckExact(got[1])) {
        PyErr_SetString(PyExc_TypeError, "FrameTable._code_ids must be a dict");
        goto fail;
    }
    PyObject *appends[4] = {NULL};
    for (int i = 0; i < 4; i++) {
        appends[i] = PyObject_GetAttrString(got[2 + i], "append");
        if (appends[i] == NULL) {
            for (int j = 0; j < i; j++)
                Py_DECREF(appends[j]);
            goto fail;
        }
    }
    Py_XSETREF(self->recorder, Py_NewRef(recorder));
    Py_XSETREF(self->user_codes, Py_NewRef(user_codes));
    Py_XSETREF(self->table_add, Py_NewRef(got[0]));
    Py_XSETREF(self->code_ids, Py_NewRef(got[1]));
    Py_XSETREF(self->table_fid, Py_NewRef(got[2]));
    Py_XSETREF(self->fid_append, appends[0]);
    Py_XSETREF(self->code_append, appends[1]);
    Py_XSETREF(self->depth_append, appends[2]);
    Py_XSETREF(self->parent_append, appends[3]);
    self->table_columns[0] = direct_column(self->fid_append, "i");
    self->table_columns[1] = direct_column(self->code_append, "i");
    self->table_columns[2] = direct_column(self->depth_append, "i");
    self->table_columns[3] = direct_column(self->parent_append, "i");
    Py_XSETREF(self->global_fallback, Py_NewRef(global_fallback));
    Py_XSETREF(self->start_fallback, start_fallback == Py_None ? NULL : Py_NewRef(start_fallback));
    for (int i = 0; i < 6; i++)
        Py_DECREF(got[i]);
    Py_RETURN_NONE;
fail:
    for (int i = 0; i < 6; i++)
        Py_XDECREF(got[i]);
    return NULL;
}

static PyObject *
lr_tick(LineRecorder *self, PyObject *unused)
{
    if (lr_count(self) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
lr_get_budget(LineRecorder *self, void *closure)
{
    return PyLong_FromSsize_t(self->budget);
}

static int
lr_set_budget(LineRecorder *self, PyObject *value, void *closure)
{
    Py_ssize_t budget = value == NULL ? -1 : PyLong_AsSsize_t(value);
    if (budget == -1 && PyErr_Occurred())
        return -1;
    self->budget = budget;
    return 0;
}

static PyObject *
lr_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *frames, *names, *texts, *kl_append, *ctx_append, *nc_append, *note_rare, *checkpoint, *fallback;
    PyObject *limit_obj, *stack, *value_name;
    unsigned long thread;
    int settrace;
    if (!PyArg_ParseTuple(args, "O!O!O!OOOOOOO!kpO!U:LineRecorder", &PyDict_Type, &frames, &PyList_Type, &names,
                          &PyList_Type, &texts, &kl_append, &ctx_append, &nc_append, &note_rare, &checkpoint,
                          &fallback, &PyLong_Type, &limit_obj, &thread, &settrace, &PyList_Type, &stack,
                          &value_name))
        return NULL;
    Py_ssize_t limit = PyLong_AsSsize_t(limit_obj);
    if (limit == -1 && PyErr_Occurred())
        return NULL;
    LineRecorder *self = PyObject_GC_New(LineRecorder, type);
    if (self == NULL)
        return NULL;
    self->vectorcall = lr_vectorcall;
    self->frames = Py_NewRef(frames);
    self->names = Py_NewRef(names);
    self->texts = Py_NewRef(texts);
    self->kl_append = Py_NewRef(kl_append);
    self->ctx_append = Py_NewRef(ctx_append);
    self->nc_append = Py_NewRef(nc_append);
    self->kl_column = Py_XNewRef(direct_column(kl_append, "i"));
    self->ctx_column = Py_XNewRef(direct_column(ctx_append, "i"));
    self->nc_column = Py_XNewRef(direct_column(nc_append, "I"));
    self->note_rare = Py_NewRef(note_rare);
    self->checkpoint = Py_NewRef(checkpoint);
    self->fallback = Py_NewRef(fallback);
    self->limit_obj = Py_NewRef(limit_obj);
    self->stack = Py_NewRef(stack);
    self->value_name = Py_NewRef(value_name);
    self->recorder = self->user_codes = self->table_add = NULL;
    self->global_fallback = self->start_fallback = NULL;
    self->code_ids = self->table_fid = self->fid_append = self->code_append = NULL;
    self->depth_append = self->parent_append = NULL;
    for (int i = 0; i < 4; i++)
        self->table_columns[i] = NULL;
    self->limit = limit;
    self->budget = 1;
    self->thread = thread;
    self->settrace = settrace;
    PyObject_GC_Track(self);
    return (PyObject *)self;
}

static PyMethodDef lr_methods[] = {
    {"on_line", (PyCFunction)(void (*)(void))lr_on_line, METH_FASTCALL, "the sys.monitoring LINE callback"},
    {"on_return", (PyCFunction)(void (*)(void))lr_on_return, METH_FASTCALL,
     "the sys.monitoring PY_RETURN callback"},
    {"on_start", (PyCFunction)(void (*)(void))lr_on_start, METH_FASTCALL,
     "the sys.monitoring PY_START callback"},
    {"calls", (PyCFunction)lr_calls, METH_VARARGS,
     "calls(recorder, user_codes, frame_table, global_trace, on_start): enable the call path"},
    {"install", (PyCFunction)lr_install, METH_NOARGS,
     "install(): become this thread's trace function in C (PyEval_SetTrace; sys.gettrace() gives this object)"},
    {"tick", (PyCFunction)lr_tick, METH_NOARGS, "count one event recorded by Python against the budget"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef lr_getset[] = {
    {"budget", (getter)lr_get_budget, (setter)lr_set_budget, "events until the next checkpoint()", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject LineRecorderType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "duck.trace._speedups.LineRecorder",
    .tp_basicsize = sizeof(LineRecorder),
    .tp_dealloc = (destructor)lr_dealloc,
    .tp_vectorcall_offset = offsetof(LineRecorder, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "The recorder's line event in C (see duck.trace.recorder).",
    .tp_traverse = (traverseproc)lr_traverse,
    .tp_methods = lr_methods,
    .tp_getset = lr_getset,
    .tp_new = lr_new,
};

static PyObject *
value_text_py(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "safe_repr(value, limit)");
        return NULL;
    }
    if (safe_repr_fn == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "duck.trace._speedups.configure() was not called");
        return NULL;
    }
    Py_ssize_t limit = PyLong_AsSsize_t(args[1]);
    if (limit == -1 && PyErr_Occurred())
        return NULL;
    return value_text(args[0], limit, args[1]);
}

static PyObject *
flat_safe_repr_py(PyObject *self, PyObject *args)
{
    PyObject *value;
    Py_ssize_t limit;
    if (!PyArg_ParseTuple(args, "On:flat_safe_repr", &value, &limit))
        return NULL;
    PyTypeObject *t = Py_TYPE(value);
    PyObject *text = t == &PyList_Type || t == &PyTuple_Type || t == &PyDict_Type ? walk_safe_repr(value, limit) : NULL;
    if (text == NULL && !PyErr_Occurred())
        Py_RETURN_NONE;
    return text;
}

static PyObject *
fingerprint_py(PyObject *self, PyObject *args)
{
    PyObject *value;
    Py_ssize_t k;
    if (!PyArg_ParseTuple(args, "On:fingerprint", &value, &k))
        return NULL;
    PyObject *fp = fingerprint(value, k);
    if (fp == NULL && !PyErr_Occurred())
        Py_RETURN_NONE;
    return fp;
}

static PyObject *
same_fingerprint_py(PyObject *self, PyObject *args)
{
    PyObject *value, *fp;
    Py_ssize_t k;
    if (!PyArg_ParseTuple(args, "OO!n:same_fingerprint", &value, &PyTuple_Type, &fp, &k))
        return NULL;
    return PyBool_FromLong(same_fingerprint(value, fp, k));
}

static PyObject *
configure(PyObject *self, PyObject *args)
{
    PyObject *repr_fn, *stable, *classify, *kinds = NULL, *layouts = NULL;
    long struct_kind = -1, opaque_kind = -1;
    if (!PyArg_ParseTuple(args, "OO!O|O!O!ll:configure", &repr_fn, &PyDict_Type, &stable, &classify,
                          &PyDict_Type, &kinds, &PyDict_Type, &layouts, &struct_kind, &opaque_kind))
        return NULL;
    Py_XSETREF(safe_repr_fn, Py_NewRef(repr_fn));
    Py_XSETREF(stable_types, Py_NewRef(stable));
    Py_XSETREF(classify_fn, Py_NewRef(classify));
    Py_XSETREF(repr_kinds, Py_XNewRef(kinds));
    Py_XSETREF(object_layouts, Py_XNewRef(layouts));
    k_struct = struct_kind;
    k_opaque = opaque_kind;
    type_cache_flush(); /* other dicts, or another K_STRUCT */
    Py_RETURN_NONE;
}

static PyObject *
set_fast_locals(PyObject *self, PyObject *arg)
{
    int on = PyObject_IsTrue(arg);
    if (on < 0)
        return NULL;
    int was = use_fast_locals;
    use_fast_locals = on && DUCK_FAST_LOCALS;
    return PyBool_FromLong(was);
}

/* ------------------------------------------------------------------ the v2 writer's columns
 * encode_column(values, signed) and intern_column(ids, texts, next_id, new): the hot part of
 * duck.trace.chunks.ChunkWriter, byte for byte what its pure-Python _column and _ids + _column
 * write (tests/duck/trace/test_chunks.py compares them). */

/* A width byte (1, 2 or 4) and the values at that width, little-endian (chunks._column). */
static PyObject *
column_bytes(const int64_t *values, Py_ssize_t n, int is_signed)
{
    if (n == 0)
        return PyBytes_FromStringAndSize("\x01", 1);
    int64_t low = values[0], high = values[0];
    for (Py_ssize_t i = 1; i < n; i++) {
        if (values[i] < low)
            low = values[i];
        if (values[i] > high)
            high = values[i];
    }
    int width;
    if (is_signed)
        width = (low >= -128 && high < 128) ? 1 : (low >= -32768 && high < 32768) ? 2 : 4;
    else {
        if (low < 0) {
            PyErr_SetString(PyExc_OverflowError, "a negative value in an unsigned column");
            return NULL;
        }
        width = high < 256 ? 1 : high < 65536 ? 2 : 4;
    }
    if ((is_signed && (low < INT32_MIN || high > INT32_MAX)) || (!is_signed && high > UINT32_MAX)) {
        PyErr_SetString(PyExc_OverflowError, "a value too large for a column");
        return NULL;
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, 1 + width * n);
    if (out == NULL)
        return NULL;
    unsigned char *p = (unsigned char *)PyBytes_AS_STRING(out);
    *p++ = (unsigned char)width;
    for (Py_ssize_t i = 0; i < n; i++) {
        uint32_t v = (uint32_t)values[i];
        p[0] = (unsigned char)(v & 0xFF);
        if (width > 1) {
            p[1] = (unsigned char)((v >> 8) & 0xFF);
            if (width > 2) {
                p[2] = (unsigned char)((v >> 16) & 0xFF);
                p[3] = (unsigned char)((v >> 24) & 0xFF);
            }
        }
        p += width;
    }
    return out;
}

/* encode_column(values, signed) -> bytes: an array('i'/'I'/'l'/'q'...) of integers as chunks._column writes it */
static PyObject *
encode_column(PyObject *self, PyObject *args)
{
    PyObject *values;
    int is_signed;
    if (!PyArg_ParseTuple(args, "Op:encode_column", &values, &is_signed))
        return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(values, &view, PyBUF_FORMAT | PyBUF_ND) < 0)
        return NULL;
    Py_ssize_t n = view.itemsize ? view.len / view.itemsize : 0;
    const char *fmt = view.format ? view.format : "B";
    if (*fmt == '@' || *fmt == '=' || *fmt == '<')
        fmt++;
    int64_t *wide = PyMem_Malloc(sizeof(int64_t) * (n ? n : 1));
    if (wide == NULL) {
        PyBuffer_Release(&view);
        return PyErr_NoMemory();
    }
    int ok = 1;
    for (Py_ssize_t i = 0; i < n && ok; i++) {
        const char *item = (const char *)view.buf + i * view.itemsize;
        switch (*fmt) {
        case 'b': wide[i] = *(const signed char *)item; break;
        case 'B': wide[i] = *(const unsigned char *)item; break;
        case 'h': wide[i] = *(const short *)item; break;
        case 'H': wide[i] = *(const unsigned short *)item; break;
        case 'i': wide[i] = *(const int *)item; break;
        case 'I': wide[i] = *(const unsigned int *)item; break;
        case 'l': wide[i] = *(const long *)item; break;
        case 'q': wide[i] = *(const long long *)item; break;
        default: ok = 0;
        }
    }
    PyBuffer_Release(&view);
    PyObject *out = NULL;
    if (!ok)
        PyErr_Format(PyExc_TypeError, "encode_column: an array of integers expected, not format '%s'", fmt);
    else
        out = column_bytes(wide, n, is_signed);
    PyMem_Free(wide);
    return out;
}

/* intern_column(ids, texts, next_id, new) -> (bytes, next_id): the string id of each of texts (a list or
 * tuple of str), new ones numbered from next_id, put in ids and appended to new; the ids as an unsigned
 * column (chunks.ChunkWriter._ids, then _column). */
static PyObject *
intern_column(PyObject *self, PyObject *args)
{
    PyObject *ids, *texts, *new;
    Py_ssize_t next_id;
    if (!PyArg_ParseTuple(args, "O!OnO!:intern_column", &PyDict_Type, &ids, &texts, &next_id, &PyList_Type, &new))
        return NULL;
    PyObject *seq = PySequence_Fast(texts, "intern_column: texts must be a sequence");
    if (seq == NULL)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    int64_t *found = PyMem_Malloc(sizeof(int64_t) * (n ? n : 1));
    if (found == NULL) {
        Py_DECREF(seq);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *sid = PyDict_GetItemWithError(ids, items[i]);  /* borrowed */
        if (sid == NULL) {
            if (PyErr_Occurred())
                goto fail;
            sid = PyLong_FromSsize_t(next_id);
            if (sid == NULL)
                goto fail;
            int bad = PyDict_SetItem(ids, items[i], sid) < 0 || PyList_Append(new, items[i]) < 0;
            Py_DECREF(sid);
            if (bad)
                goto fail;
            found[i] = next_id++;
            continue;
        }
        found[i] = PyLong_AsLongLong(sid);
        if (found[i] == -1 && PyErr_Occurred())
            goto fail;
    }
    Py_DECREF(seq);
    PyObject *column = column_bytes(found, n, 0);
    PyMem_Free(found);
    if (column == NULL)
        return NULL;
    return Py_BuildValue("(Nn)", column, next_id);
fail:
    Py_DECREF(seq);
    PyMem_Free(found);
    return NULL;
}

/* set_parent_death_signal(signum) -> bool: prctl(PR_SET_PDEATHSIG, signum) on Linux (False elsewhere);
 * OSError where it fails. The recording child arms it at start (duck.trace.child._die_with), which
 * otherwise imports ctypes for this one call: ~2-3 ms of every recording's start-up. */
static PyObject *
set_parent_death_signal(PyObject *Py_UNUSED(module), PyObject *arg)
{
    long signum = PyLong_AsLong(arg);
    if (signum == -1 && PyErr_Occurred())
        return NULL;
#ifdef __linux__
    if (prctl(PR_SET_PDEATHSIG, (unsigned long)signum, 0UL, 0UL, 0UL) != 0)
        return PyErr_SetFromErrno(PyExc_OSError);
    Py_RETURN_TRUE;
#else
    (void)signum;
    Py_RETURN_FALSE;
#endif
}

/* run_as_outermost(code, globals) -> the value of exec(code, globals), with the code's frame the
 * thread's outermost, as the interpreter runs a main script: its f_back is None, so the program does
 * not see the recording child's frames beneath it (inspect.stack(), traceback.print_stack(),
 * warnings.warn(stacklevel=2) at module level, logging's caller). The thread state's current
 * frame is set aside for the call and put back after it, whatever way the code ends; the frames
 * set aside stay alive on the C stack (only the link to them is cut). Only where the thread state's
 * layout is known (DUCK_FAST_LOCALS); elsewhere it is exec(). */
static PyObject *
run_as_outermost(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *code, *globals;
    if (!PyArg_ParseTuple(args, "O!O!:run_as_outermost", &PyCode_Type, &code, &PyDict_Type, &globals))
        return NULL;
#if DUCK_FAST_LOCALS
    PyThreadState *tstate = PyThreadState_Get();
#if PY_VERSION_HEX >= 0x030D0000
    struct _PyInterpreterFrame *below = tstate->current_frame;
    tstate->current_frame = NULL;
#else
    struct _PyInterpreterFrame *below = tstate->cframe->current_frame;
    tstate->cframe->current_frame = NULL;
#endif
    PyObject *result = PyEval_EvalCode(code, globals, globals);
#if PY_VERSION_HEX >= 0x030D0000
    tstate->current_frame = below;
#else
    tstate->cframe->current_frame = below;
#endif
    return result;
#else
    return PyEval_EvalCode(code, globals, globals);
#endif
}

static PyMethodDef methods[] = {
    {"run_as_outermost", run_as_outermost, METH_VARARGS,
     "run_as_outermost(code, globals): exec(code, globals) with the code's frame the thread's outermost"},
    {"set_parent_death_signal", set_parent_death_signal, METH_O,
     "set_parent_death_signal(signum) -> bool: have the kernel send signum when the parent dies (Linux's\n"
     "prctl(PR_SET_PDEATHSIG)); False where the platform has no such thing."},
    {"set_fast_locals", set_fast_locals, METH_O,
     "set_fast_locals(on) -> bool: read frames' fast locals directly where this build can (FAST_LOCALS), or\n"
     "only through the public API (PyFrame_GetLocals); returns the previous setting."},
    {"diff_locals", (PyCFunction)(void (*)(void))diff_locals, METH_FASTCALL,
     "diff_locals(snap, f_locals, module, limit, names, texts) -> count | (count, deleted)\n\n"
     "Append the name and safe repr of each new or changed local; see duck.trace.localdiff."},
    {"format_run", (PyCFunction)(void (*)(void))format_run, METH_FASTCALL,
     "format_run(first_step, kind_line, ctx, nchanges, names, texts, fid, code, depth, parent, codes,\n"
     "           value_name, special, one_line) -> bytes\n\n"
     "The trace-format JSON lines of a run of events as UTF-8; see duck.trace.store.format_events_bytes."},
    {"safe_repr", (PyCFunction)(void (*)(void))value_text_py, METH_FASTCALL,
     "safe_repr(value, limit) -> str: saferepr.safe_repr, with scalars, containers and structural objects done in C."},
    {"flat_safe_repr", flat_safe_repr_py, METH_VARARGS,
     "flat_safe_repr(value, limit) -> str | None: safe_repr of a list/tuple/dict by the C walk, None where it\n"
     "leaves the value to safe_repr."},
    {"fingerprint", fingerprint_py, METH_VARARGS,
     "fingerprint(value, k) -> tuple | None: localdiff.fingerprint, in C."},
    {"same_fingerprint", same_fingerprint_py, METH_VARARGS,
     "same_fingerprint(value, fp, k) -> bool: whether value still has the fingerprint fp (localdiff._same)."},
    {"encode_column", encode_column, METH_VARARGS,
     "encode_column(values, signed) -> bytes: an array of integers as a v2 column (duck.trace.chunks._column)."},
    {"intern_column", intern_column, METH_VARARGS,
     "intern_column(ids, texts, next_id, new) -> (bytes, next_id): texts as string ids, new ones numbered and\n"
     "appended to new, written as a v2 column (duck.trace.chunks.ChunkWriter)."},
    {"configure", configure, METH_VARARGS,
     "configure(safe_repr, stable_types, classify[, repr_kinds, object_layouts, K_STRUCT, K_OPAQUE]): the Python\n"
     "helpers and tables the diff calls back and reads (without the last four, objects get no fingerprint and\n"
     "are repr'd by safe_repr)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "duck.trace._speedups",
    "The recorder's per-event diff of a frame's locals, in C (see duck.trace.localdiff).", -1, methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    static const Interned strings[] = {
        {&str_f_locals, "f_locals"}, {&str_exception, "exception"}, {&str_f_trace_lines, "f_trace_lines"}, {&str_line, "line"},
        {&str_call, "call"}, {&str_return, "return"}, {&str_next_fid, "_next_fid"}, {&str_fid, "fid"},
        {&str_module_name, "<module>"}, {NULL, NULL},
    };
    if (intern_all(strings) < 0 || intern_all(walk_strings) < 0)
        return NULL;
    one = PyLong_FromLong(1);
    empty_tuple = PyTuple_New(0);
    if (!one || !empty_tuple || PyType_Ready(&LineRecorderType) < 0 || PyType_Ready(&FrameStateType) < 0)
        return NULL;
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL)
        return NULL;
    if (PyModule_AddObjectRef(module, "LineRecorder", (PyObject *)&LineRecorderType) < 0 ||
        PyModule_AddObjectRef(module, "FrameState", (PyObject *)&FrameStateType) < 0 ||
        PyModule_AddIntConstant(module, "FAST_LOCALS", DUCK_FAST_LOCALS) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
