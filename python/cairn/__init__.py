"""cairn - a light MLflow-style tracking client: ctypes over libcairn.

Reads like MLflow's fluent API::

    import cairn
    cairn.init_tracking()                      # MLFLOW_TRACKING_URI, ... from the environment
    cairn.set_experiment("wine")
    with cairn.start_run(run_name="ridge") as run:
        cairn.log_param("alpha", 0.5)
        cairn.log_metric("rmse", 0.71, step=0)
        cairn.set_tag("team", "hpc")
        cairn.log_artifact("model.pkl")

Logging calls are queued by libcairn's background thread and sent as
log-batch requests; end_run() flushes. When the server cannot be reached
(or CAIRN_OFFLINE=1) everything goes to the offline spool; replay it with
`cairn sync`. libcairn is found through CAIRN_LIBRARY, next to this package,
in the repository's build/ folder, or on the system library path.
"""
import atexit
import ctypes
import ctypes.util
import os
import threading

__all__ = [
    "CairnError", "Run", "init_tracking", "set_experiment", "start_run", "end_run", "active_run",
    "log_param", "log_params", "log_metric", "log_metrics", "set_tag", "set_tags", "log_artifact",
    "log_artifacts", "flush", "get_run", "search_runs", "get_metric_history", "sync", "is_offline",
]

_OK = 0
_CODES = {
    -1: "EINVAL", -2: "ENOMEM", -3: "EUNREACHABLE", -4: "ESERVER", -5: "ENOTFOUND",
    -6: "EIO", -7: "EPROTO", -8: "EOFFLINE", -9: "ETLS",
}


class CairnError(Exception):
    """A libcairn failure: code (e.g. "EUNREACHABLE"), error_code (MLflow's, or ""), message."""

    def __init__(self, code, message, error_code="", http_status=0):
        super().__init__(f"{error_code + ': ' if error_code else ''}{message}")
        self.code = _CODES.get(code, str(code))
        self.message = message
        self.error_code = error_code
        self.http_status = http_status


class _Error(ctypes.Structure):
    _fields_ = [("code", ctypes.c_int), ("http_status", ctypes.c_int),
                ("error_code", ctypes.c_char_p), ("message", ctypes.c_char_p)]


class _Options(ctypes.Structure):
    _fields_ = [("tracking_uri", ctypes.c_char_p), ("token", ctypes.c_char_p),
                ("username", ctypes.c_char_p), ("password", ctypes.c_char_p),
                ("spool_dir", ctypes.c_char_p), ("offline", ctypes.c_int), ("no_spool", ctypes.c_int),
                ("max_retries", ctypes.c_int), ("flush_interval_ms", ctypes.c_int)]


class _SyncStats(ctypes.Structure):
    _fields_ = [("records_sent", ctypes.c_int), ("records_skipped", ctypes.c_int),
                ("records_failed", ctypes.c_int), ("records_corrupt", ctypes.c_int),
                ("runs_created", ctypes.c_int)]


def _find_library():
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [os.environ.get("CAIRN_LIBRARY"),
                  os.path.join(here, "libcairn.so"),
                  os.path.join(here, "..", "..", "build", "libcairn.so")]
    for path in candidates:
        if path and os.path.exists(path):
            return path
    found = ctypes.util.find_library("cairn")
    if found:
        return found
    raise OSError("libcairn not found: build it with `make`, or set CAIRN_LIBRARY to libcairn.so")


def _load():
    lib = ctypes.CDLL(_find_library())
    p, s, i, i64, d = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int64, ctypes.c_double
    out = ctypes.POINTER(ctypes.c_void_p)
    sigs = {
        "cairn_error_last": (ctypes.POINTER(_Error), []),
        "cairn_free": (None, [p]),
        "cairn_client_open": (i, [ctypes.POINTER(p), ctypes.POINTER(_Options)]),
        "cairn_client_close": (i, [p]),
        "cairn_client_flush": (i, [p]),
        "cairn_client_is_offline": (i, [p]),
        "cairn_client_tracking_uri": (s, [p]),
        "cairn_experiment_ensure": (i, [p, s, out]),
        "cairn_run_create": (i, [p, s, s, i64, out]),
        "cairn_run_get": (i, [p, s, out]),
        "cairn_run_search": (i, [p, s, s, s, s, i, out]),
        "cairn_run_update_status": (i, [p, s, s, i64]),
        "cairn_run_end": (i, [p, s, s]),
        "cairn_log_param": (i, [p, s, s, s]),
        "cairn_log_metric": (i, [p, s, s, d, i64, i64]),
        "cairn_set_tag": (i, [p, s, s, s]),
        "cairn_metric_history": (i, [p, s, s, out]),
        "cairn_artifact_upload": (i, [p, s, s, s, p, p]),
        "cairn_spool_sync": (i, [p, s, ctypes.POINTER(_SyncStats)]),
    }
    for name, (res, args) in sigs.items():
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args
    return lib


_lib = None
_lock = threading.RLock()
_client = None
_experiment_id = None
_runs = []          # stack of active Run objects (nested runs)


def _b(v):
    return None if v is None else str(v).encode()


def _check(rc):
    if rc < 0:
        e = _lib.cairn_error_last().contents
        raise CairnError(rc, (e.message or b"").decode(errors="replace"),
                         (e.error_code or b"").decode(), e.http_status)
    return rc


def _take(ptr):
    try:
        return ctypes.string_at(ptr.value).decode() if ptr.value else None
    finally:
        _lib.cairn_free(ptr)


def _json(ptr):
    import json
    text = _take(ptr)
    return json.loads(text) if text else {}


def init_tracking(tracking_uri=None, token=None, username=None, password=None, spool_dir=None,
                  offline=False):
    """Opens the process's client. Every argument defaults to the environment
    (MLFLOW_TRACKING_URI, MLFLOW_TRACKING_TOKEN, MLFLOW_TRACKING_USERNAME/_PASSWORD,
    CAIRN_SPOOL_DIR, CAIRN_OFFLINE). Calling it again reopens the client."""
    global _lib, _client
    with _lock:
        if _lib is None:
            _lib = _load()
        if _client is not None:
            _lib.cairn_client_close(_client)
            _client = None
        opts = _Options(_b(tracking_uri), _b(token), _b(username), _b(password), _b(spool_dir),
                        1 if offline else 0, 0, 0, 0)
        handle = ctypes.c_void_p()
        _check(_lib.cairn_client_open(ctypes.byref(handle), ctypes.byref(opts)))
        _client = handle
        return _lib.cairn_client_tracking_uri(_client).decode()


def _c():
    if _client is None:
        init_tracking()
    return _client


class RunInfo:
    def __init__(self, run_id, experiment_id, run_name):
        self.run_id = run_id
        self.experiment_id = experiment_id
        self.run_name = run_name
        self.status = "RUNNING"


class Run:
    """The active run; a context manager that ends the run (FAILED on an exception)."""

    def __init__(self, run_id, experiment_id, run_name):
        self.info = RunInfo(run_id, experiment_id, run_name)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if any(r is self for r in _runs):
            end_run("FINISHED" if exc_type is None else "FAILED")
        return False

    def __repr__(self):
        return f"<cairn.Run run_id={self.info.run_id!r} experiment_id={self.info.experiment_id!r}>"


def set_experiment(experiment_name):
    """Uses (creating if needed) the experiment with this name for new runs; returns its id."""
    global _experiment_id
    ptr = ctypes.c_void_p()
    _check(_lib_call("cairn_experiment_ensure", _b(experiment_name), ctypes.byref(ptr)))
    _experiment_id = _take(ptr)
    return _experiment_id


def _lib_call(name, *args):
    client = _c()
    return getattr(_lib, name)(client, *args)


def start_run(run_id=None, experiment_id=None, run_name=None, nested=False):
    """Starts a run (or resumes run_id, or MLFLOW_RUN_ID) and makes it active."""
    with _lock:
        if _runs and not nested:
            raise CairnError(-1, f"run {_runs[-1].info.run_id} is already active; "
                                 "end it first or pass nested=True")
        run_id = run_id or (None if _runs else os.environ.get("MLFLOW_RUN_ID"))
        exp = experiment_id or _experiment_id
        if run_id is None:
            ptr = ctypes.c_void_p()
            _check(_lib_call("cairn_run_create", _b(exp), _b(run_name), 0, ctypes.byref(ptr)))
            run_id = _take(ptr)
            if nested and _runs:
                _check(_lib_call("cairn_set_tag", _b(run_id), b"mlflow.parentRunId",
                                 _b(_runs[-1].info.run_id)))
        run = Run(run_id, exp, run_name)
        _runs.append(run)
        return run


def active_run():
    """The active Run, or None."""
    return _runs[-1] if _runs else None


def _active_id():
    if not _runs:
        start_run()
    return _runs[-1].info.run_id


def end_run(status="FINISHED"):
    """Flushes everything logged and ends the active run with status."""
    with _lock:
        if not _runs:
            return
        run = _runs[-1]
        try:
            _check(_lib_call("cairn_run_end", _b(run.info.run_id), _b(status)))
        finally:
            _runs.pop()
        run.info.status = status


def log_param(key, value):
    _check(_lib_call("cairn_log_param", _b(_active_id()), _b(key), _b(value)))
    return value


def log_params(params):
    for k, v in params.items():
        log_param(k, v)


def log_metric(key, value, step=None, timestamp=None):
    _check(_lib_call("cairn_log_metric", _b(_active_id()), _b(key), float(value),
                     int(timestamp or 0), int(step or 0)))


def log_metrics(metrics, step=None, timestamp=None):
    for k, v in metrics.items():
        log_metric(k, v, step=step, timestamp=timestamp)


def set_tag(key, value):
    _check(_lib_call("cairn_set_tag", _b(_active_id()), _b(key), _b(value)))


def set_tags(tags):
    for k, v in tags.items():
        set_tag(k, v)


def log_artifact(local_path, artifact_path=None):
    """Uploads a file into the run's artifacts (into folder artifact_path, if given)."""
    dest = None
    if artifact_path:
        dest = artifact_path.strip("/") + "/" + os.path.basename(local_path)
    _check(_lib_call("cairn_artifact_upload", _b(_active_id()), _b(local_path), _b(dest), None, None))


def log_artifacts(local_dir, artifact_path=None):
    """Uploads every file below local_dir, keeping the folder layout."""
    for root, _dirs, files in os.walk(local_dir):
        for name in files:
            full = os.path.join(root, name)
            rel = os.path.relpath(full, local_dir)
            dest = "/".join(p for p in [(artifact_path or "").strip("/"), rel] if p)
            _check(_lib_call("cairn_artifact_upload", _b(_active_id()), _b(full), _b(dest), None, None))


def flush():
    """Waits until everything logged so far is delivered (or spooled)."""
    _check(_lib.cairn_client_flush(_c()))


def is_offline():
    return bool(_lib.cairn_client_is_offline(_c()))


def get_run(run_id):
    ptr = ctypes.c_void_p()
    _check(_lib_call("cairn_run_get", _b(run_id), ctypes.byref(ptr)))
    return _json(ptr)["run"]


def search_runs(experiment_ids=None, filter_string=None, order_by=None, run_view_type=None, max_results=0):
    """Returns the runs (dicts as the server sends them)."""
    ids = experiment_ids if experiment_ids is None or isinstance(experiment_ids, str) \
        else ",".join(str(e) for e in experiment_ids)
    if ids is None and _experiment_id is not None:
        ids = _experiment_id
    order = order_by if order_by is None or isinstance(order_by, str) else ",".join(order_by)
    ptr = ctypes.c_void_p()
    _check(_lib_call("cairn_run_search", _b(ids), _b(filter_string), _b(order), _b(run_view_type),
                     int(max_results), ctypes.byref(ptr)))
    return _json(ptr).get("runs", [])


def get_metric_history(run_id, key):
    ptr = ctypes.c_void_p()
    _check(_lib_call("cairn_metric_history", _b(run_id), _b(key), ctypes.byref(ptr)))
    return _json(ptr).get("metrics", [])


def sync(spool_dir=None):
    """Replays the offline spool; returns the counts as a dict."""
    st = _SyncStats()
    _check(_lib_call("cairn_spool_sync", _b(spool_dir), ctypes.byref(st)))
    return {"sent": st.records_sent, "skipped": st.records_skipped, "kept": st.records_failed,
            "runs_created": st.runs_created}


@atexit.register
def _at_exit():
    """Ends runs still active (FINISHED, as MLflow does) and flushes the client."""
    global _client
    while _runs:
        try:
            end_run()
        except CairnError:
            _runs.pop()
    if _client is not None and _lib is not None:
        _lib.cairn_client_close(_client)
        _client = None
