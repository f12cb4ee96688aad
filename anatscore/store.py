"""The run store: SQLite (standard library) as the store of record, CSV/JSON exports beside it.

Schema (one database may hold many runs, keyed by ``run_id``; ``--db PATH`` shares one between
runs so the leaderboard can read them all)::

    runs(run_id PK, input_dir, run_dir, started, finished, status, config JSON, manifest JSON)
    images(run_id, image_id, path, sha256, size_bytes, width, height, format, modality, region,
           view, task, prompt, backend, seed, refused, load_status, load_reason, inferred JSON,
           extra JSON, seq)                                        PK (run_id, image_id)
    results(run_id, image_id, check_name, value, passed, reason, extra JSON, evidence JSON, seq)
                                                                   PK (run_id, image_id, check_name)
    thumbnails(run_id, image_id, png BLOB)                         small PNGs of failing images
    metrics(run_id PK, document JSON)

Exactly-once: an image's ``images`` row and all its ``results`` rows are written in the same
transaction as the rest of its batch (:meth:`RunStore.commit_batch`). An image is "done" iff its
``images`` row exists, so a run killed at any point (``kill -9`` included) and resumed re-scores
precisely the images whose batch had not committed; the primary keys make a duplicate row an
error instead of a silent double count. The database runs in WAL mode so that readers (the
leaderboard, a second run on the same ``--db``) do not block the writer.

``passed`` is stored as 1 / 0 / NULL (not applicable); the exports write ``true`` / ``false`` /
empty.
"""

from __future__ import annotations

import json
import math
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

from .types import CheckResult, ImageMeta

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    input_dir TEXT NOT NULL DEFAULT '',
    run_dir TEXT NOT NULL DEFAULT '',
    started TEXT NOT NULL DEFAULT '',
    finished TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'running',
    config TEXT NOT NULL DEFAULT '{}',
    manifest TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS images (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    image_id TEXT NOT NULL,
    path TEXT NOT NULL DEFAULT '',
    sha256 TEXT NOT NULL DEFAULT '',
    size_bytes INTEGER NOT NULL DEFAULT 0,
    width INTEGER NOT NULL DEFAULT 0,
    height INTEGER NOT NULL DEFAULT 0,
    format TEXT NOT NULL DEFAULT '',
    modality TEXT NOT NULL DEFAULT '',
    region TEXT NOT NULL DEFAULT '',
    view TEXT NOT NULL DEFAULT '',
    task TEXT NOT NULL DEFAULT '',
    prompt TEXT NOT NULL DEFAULT '',
    backend TEXT NOT NULL DEFAULT '',
    seed TEXT NOT NULL DEFAULT '',
    refused INTEGER NOT NULL DEFAULT 0,
    load_status TEXT NOT NULL,
    load_reason TEXT NOT NULL DEFAULT '',
    inferred TEXT NOT NULL DEFAULT '{}',
    extra TEXT NOT NULL DEFAULT '{}',
    seq INTEGER NOT NULL,
    PRIMARY KEY (run_id, image_id)
);
CREATE TABLE IF NOT EXISTS results (
    run_id TEXT NOT NULL,
    image_id TEXT NOT NULL,
    check_name TEXT NOT NULL,
    value REAL,
    passed INTEGER,
    reason TEXT NOT NULL DEFAULT '',
    extra TEXT NOT NULL DEFAULT '{}',
    evidence TEXT,
    seq INTEGER NOT NULL,
    PRIMARY KEY (run_id, image_id, check_name),
    FOREIGN KEY (run_id, image_id) REFERENCES images(run_id, image_id)
);
CREATE TABLE IF NOT EXISTS thumbnails (
    run_id TEXT NOT NULL,
    image_id TEXT NOT NULL,
    png BLOB NOT NULL,
    PRIMARY KEY (run_id, image_id),
    FOREIGN KEY (run_id, image_id) REFERENCES images(run_id, image_id)
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT PRIMARY KEY REFERENCES runs(run_id),
    document TEXT NOT NULL
);
"""

#: ``load_status`` values of an ``images`` row.
LOAD_OK, LOAD_FAILED, LOAD_REFUSED = "ok", "failed", "refused"

#: Metadata columns of images.csv, in order (after ``image_id``).
IMAGE_COLUMNS: tuple[str, ...] = (
    "path", "sha256", "size_bytes", "width", "height", "format", "modality", "region", "view",
    "task", "prompt", "backend", "seed", "refused", "load_status", "load_reason",
)


def _json_default(obj: Any) -> Any:
    """JSON fallback for numpy scalars/arrays, tuples, sets and paths found in ``extra``."""
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    return str(obj)


def dumps(obj: Any) -> str:
    """Compact, deterministic JSON (non-finite floats become ``null``)."""
    return json.dumps(_finite(obj), default=_json_default, sort_keys=True, separators=(",", ":"))


def _finite(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def _value(v: Optional[float]) -> Optional[float]:
    """A check value as a finite float, or None."""
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _passed(p: Optional[bool]) -> Optional[int]:
    return None if p is None else int(bool(p))


@dataclass
class ImageRecord:
    """One image's outcome, ready to be committed: its metadata, load status and check results."""

    meta: ImageMeta
    load_status: str
    load_reason: str
    results: list[CheckResult]
    thumbnail: Optional[bytes] = None  # a small PNG for the report (failing images only)


class RunStore:
    """A connection to one anatscore database, scoped to one ``run_id``.

    Args:
        db_path: the SQLite file (created if missing) or ``":memory:"`` for a run with no files.
        run_id: the run this store writes and reads.
    """

    def __init__(self, db_path: str | Path, run_id: str) -> None:
        self.db_path = str(db_path)
        self.run_id = run_id
        if self.db_path != ":memory:":
            Path(self.db_path).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves so a batch is one transaction.
        self.conn = sqlite3.connect(self.db_path, isolation_level=None, timeout=60.0, check_same_thread=False)
        self.conn.execute("PRAGMA foreign_keys=ON")
        if self.db_path != ":memory:":
            self.conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL is durable against process death (kill -9) in WAL mode; only an OS crash or
            # power loss can lose the last committed transactions, never corrupt the file.
            self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(_SCHEMA)
        self.conn.execute(
            "INSERT OR IGNORE INTO schema_info(key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
        )
        self._seq = self._max_seq()

    # -- runs ---------------------------------------------------------------------------------
    def run_exists(self) -> bool:
        return self.conn.execute("SELECT 1 FROM runs WHERE run_id=?", (self.run_id,)).fetchone() is not None

    def create_run(self, input_dir: str, run_dir: str, started: str, config: dict[str, Any]) -> None:
        """Register a new run; ``sqlite3.IntegrityError`` if ``run_id`` already exists."""
        with self._tx():
            self.conn.execute(
                "INSERT INTO runs(run_id, input_dir, run_dir, started, status, config) VALUES (?,?,?,?,?,?)",
                (self.run_id, input_dir, run_dir, started, "running", dumps(config)),
            )

    def run_row(self) -> dict[str, Any]:
        cur = self.conn.execute("SELECT * FROM runs WHERE run_id=?", (self.run_id,))
        row = cur.fetchone()
        if row is None:
            raise KeyError(f"run {self.run_id!r} is not in {self.db_path}")
        return dict(zip([d[0] for d in cur.description], row))

    def finish_run(self, finished: str, status: str, manifest: dict[str, Any]) -> None:
        with self._tx():
            self.conn.execute(
                "UPDATE runs SET finished=?, status=?, manifest=? WHERE run_id=?",
                (finished, status, dumps(manifest), self.run_id),
            )

    def mark_running(self) -> None:
        with self._tx():
            self.conn.execute("UPDATE runs SET status='running' WHERE run_id=?", (self.run_id,))

    # -- images and results -------------------------------------------------------------------
    def done_ids(self) -> set[str]:
        """``image_id`` of every image whose batch has been committed."""
        cur = self.conn.execute("SELECT image_id FROM images WHERE run_id=?", (self.run_id,))
        return {r[0] for r in cur}

    def commit_batch(self, records: Sequence[ImageRecord]) -> None:
        """Write a batch of images and all their results in one transaction (all or nothing)."""
        img_rows: list[tuple[Any, ...]] = []
        res_rows: list[tuple[Any, ...]] = []
        for rec in records:
            m = rec.meta
            self._seq += 1
            img_rows.append((
                self.run_id, m.image_id, m.path, m.sha256, int(m.size_bytes), int(m.width), int(m.height),
                m.format, m.modality, m.region, m.view, m.task, m.prompt, m.backend, str(m.seed),
                int(bool(m.refused)), rec.load_status, rec.load_reason, dumps(m.inferred), dumps(m.extra),
                self._seq,
            ))
            for r in rec.results:
                self._seq += 1
                res_rows.append((
                    self.run_id, m.image_id, r.check, _value(r.value), _passed(r.passed), r.reason,
                    dumps(r.extra), None if r.evidence is None else dumps(r.evidence), self._seq,
                ))
        thumbs = [(self.run_id, rec.meta.image_id, rec.thumbnail) for rec in records if rec.thumbnail]
        with self._tx():
            self.conn.executemany(
                "INSERT INTO images(run_id, image_id, path, sha256, size_bytes, width, height, format, "
                "modality, region, view, task, prompt, backend, seed, refused, load_status, load_reason, "
                "inferred, extra, seq) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                img_rows,
            )
            self.conn.executemany(
                "INSERT INTO results(run_id, image_id, check_name, value, passed, reason, extra, evidence, seq) "
                "VALUES (?,?,?,?,?,?,?,?,?)",
                res_rows,
            )
            self.conn.executemany("INSERT INTO thumbnails(run_id, image_id, png) VALUES (?,?,?)", thumbs)

    def thumbnails(self) -> dict[str, bytes]:
        """image_id -> PNG bytes of the thumbnails stored for this run."""
        cur = self.conn.execute("SELECT image_id, png FROM thumbnails WHERE run_id=?", (self.run_id,))
        return {r[0]: bytes(r[1]) for r in cur}

    def thumbnail_count(self) -> int:
        row = self.conn.execute("SELECT COUNT(*) FROM thumbnails WHERE run_id=?", (self.run_id,)).fetchone()
        return int(row[0])

    def save_metrics(self, document: dict[str, Any]) -> None:
        with self._tx():
            self.conn.execute(
                "INSERT OR REPLACE INTO metrics(run_id, document) VALUES (?, ?)", (self.run_id, dumps(document))
            )

    def load_metrics(self) -> Optional[dict[str, Any]]:
        row = self.conn.execute("SELECT document FROM metrics WHERE run_id=?", (self.run_id,)).fetchone()
        return None if row is None else json.loads(row[0])

    # -- reading back -------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        """Images by load status: ``{"ok": n, "failed": n, "refused": n}``."""
        out = {LOAD_OK: 0, LOAD_FAILED: 0, LOAD_REFUSED: 0}
        cur = self.conn.execute(
            "SELECT load_status, COUNT(*) FROM images WHERE run_id=? GROUP BY load_status", (self.run_id,)
        )
        for status, n in cur:
            out[status] = int(n)
        return out

    def check_error_count(self) -> int:
        row = self.conn.execute(
            "SELECT COUNT(*) FROM results WHERE run_id=? AND passed IS NULL AND reason LIKE 'check error:%'",
            (self.run_id,),
        ).fetchone()
        return int(row[0])

    def checks_frame(self) -> "Any":
        """The long table (pandas DataFrame): image_id, path, check, value, passed, reason, extra."""
        import pandas as pd

        df = pd.read_sql_query(
            "SELECT r.image_id, i.path, r.check_name AS \"check\", r.value, r.passed, r.reason, r.extra "
            "FROM results r JOIN images i ON i.run_id=r.run_id AND i.image_id=r.image_id "
            "WHERE r.run_id=? ORDER BY i.seq, r.seq",
            self.conn,
            params=(self.run_id,),
        )
        df["passed"] = df["passed"].map({1: True, 0: False}).astype("object")
        df.loc[df["passed"].isna(), "passed"] = None
        return df

    def images_frame(self, headline: Iterable[str] = ()) -> "Any":
        """One row per image: metadata, load status, inferred fields and headline verdicts.

        Headline columns hold True/False/None per headline check; ``n_checks`` counts the checks
        that judged the image (passed not empty, ``load`` excluded), ``n_failed`` those that
        failed and ``failed_checks`` names them (``;``-separated).
        """
        import pandas as pd

        cols = ", ".join(IMAGE_COLUMNS)
        df = pd.read_sql_query(
            f"SELECT image_id, {cols}, inferred FROM images WHERE run_id=? ORDER BY seq",
            self.conn,
            params=(self.run_id,),
        )
        df["refused"] = df["refused"].astype(bool)
        df["inferred"] = [
            ";".join(f"{k}={v}" for k, v in sorted(json.loads(s).items())) for s in df["inferred"]
        ]
        res = pd.read_sql_query(
            "SELECT image_id, check_name, passed FROM results WHERE run_id=?", self.conn, params=(self.run_id,)
        )
        judged = res[(res["check_name"] != "load") & res["passed"].notna()]
        n_checks = judged.groupby("image_id").size()
        failed = judged[judged["passed"] == 0]
        n_failed = failed.groupby("image_id").size()
        failed_names = failed.groupby("image_id")["check_name"].agg(lambda s: ";".join(s))
        for name in headline:
            sub = res[res["check_name"] == name].set_index("image_id")["passed"]
            mapped = df["image_id"].map(sub)
            df[name] = [None if pd.isna(v) else bool(v) for v in mapped]
        df["n_checks"] = df["image_id"].map(n_checks).fillna(0).astype(int)
        df["n_failed"] = df["image_id"].map(n_failed).fillna(0).astype(int)
        df["failed_checks"] = [failed_names.get(i, "") for i in df["image_id"]]
        return df

    def pass_rates(self) -> "Any":
        """Per check: images judged, passed, failed, not applicable, errors and pass rate."""
        import pandas as pd

        return pd.read_sql_query(
            "SELECT check_name AS \"check\", COUNT(*) AS n, "
            "SUM(passed=1) AS passed, SUM(passed=0) AS failed, "
            "SUM(passed IS NULL AND reason NOT LIKE 'check error:%') AS not_applicable, "
            "SUM(passed IS NULL AND reason LIKE 'check error:%') AS errors, "
            "CAST(SUM(passed=1) AS REAL) / NULLIF(SUM(passed IS NOT NULL), 0) AS pass_rate "
            "FROM results WHERE run_id=? GROUP BY check_name ORDER BY MIN(seq)",
            self.conn,
            params=(self.run_id,),
        )

    # -- plumbing -----------------------------------------------------------------------------
    def _max_seq(self) -> int:
        a = self.conn.execute("SELECT COALESCE(MAX(seq), 0) FROM images WHERE run_id=?", (self.run_id,)).fetchone()
        b = self.conn.execute("SELECT COALESCE(MAX(seq), 0) FROM results WHERE run_id=?", (self.run_id,)).fetchone()
        return max(int(a[0]), int(b[0]))

    def _tx(self) -> "_Transaction":
        return _Transaction(self.conn)

    def close(self) -> None:
        self.conn.close()


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error) on an autocommit connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")


def list_runs(db_path: str | Path) -> list[dict[str, Any]]:
    """Every run in a database (for the leaderboard): run_id, input_dir, run_dir, times, status."""
    conn = sqlite3.connect(str(db_path))
    try:
        cur = conn.execute("SELECT run_id, input_dir, run_dir, started, finished, status FROM runs ORDER BY started")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur]
    finally:
        conn.close()
