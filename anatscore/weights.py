"""The one weights manager for every pretrained file anatscore uses.

Records are data in ``models/weights/<name>.json`` (plus any ``*.json`` in the folders listed in
``$ANATSCORE_WEIGHT_RECORDS``, for local models): source URLs, accepted file variants with their
sha256 (``"unknown"`` where no published hash exists; the hash is then recorded on first
install), size, licence, the architecture to verify against and the preprocessing contract.

Cache: ``$ANATSCORE_HOME/weights/<name>/`` (platform cache dir by default, see
:mod:`anatscore.paths`) holding the payload and ``installed.json`` (variant, source, hashes,
how the architecture check went).

Install (``download`` and ``import`` share it), all inside the cache folder:

1. the source is streamed/copied to a temporary ``*.part`` file, hashing as it goes;
2. its sha256 must match one of the record's variants (a full hash, or the 8-hex prefix that
   torch.hub-style file names carry); a mismatch is refused and the temporary file deleted;
3. the file is read as tensors: ``torch.load(weights_only=True)`` for state_dicts; torchxrayvision's
   whole pickled modules are unpickled once (only from the record's own URL, a pinned hash, or
   with ``trust_pickle=True``) and converted to a plain state_dict ``.pt``;
4. the record's architecture is built with random weights and the tensors are loaded strictly
   (variants may declare ``untrained_keys``/optional keys; see :func:`check_architecture`);
5. the payload is renamed into place atomically (``os.replace``) and ``installed.json`` written.

Interface used by the rest of the package (stable):

- :func:`local_path` ``(name) -> Path`` of a verified local file (a folder for folder records
  such as ``biomedclip``), or :class:`WeightsMissingError` whose message names the
  ``anatscore weights download|import`` command that fixes it.
- :func:`load_state_dict` ``(name) -> dict`` via ``torch.load(..., weights_only=True)``.
- :func:`sha256_of` ``(name) -> str``: the installed payload's hash (for ``run.json``).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import http.client
import json
import logging
import os
import shutil
import socket
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

from . import paths

log = logging.getLogger(__name__)

RECORDS_ENV = "ANATSCORE_WEIGHT_RECORDS"
INSTALLED = "installed.json"
UNKNOWN = "unknown"
_CHUNK = 1 << 20


class WeightsError(RuntimeError):
    """A weights operation failed (bad file, hash mismatch, architecture mismatch)."""


class WeightsMissingError(WeightsError):
    """A needed weight file is not in the cache; the message says how to get it."""


class WeightsHashError(WeightsError):
    """A file's sha256 is not one the record accepts; nothing was written to the cache."""


# ----------------------------------------------------------------------------------------------
# records
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileSpec:
    """One file of a variant: its name, where to get it and how to recognise it."""

    file_name: str
    urls: tuple[str, ...] = ()
    sha256: str = UNKNOWN
    sha256_prefix: str = ""
    size: Optional[int] = None

    def hash_matches(self, digest: str) -> Optional[bool]:
        """True/False when the record pins a hash (full or prefix), None when it pins none."""
        if self.sha256 and self.sha256 != UNKNOWN:
            return digest.lower() == self.sha256.lower()
        if self.sha256_prefix:
            return digest.lower().startswith(self.sha256_prefix.lower())
        return None


@dataclass(frozen=True)
class Variant:
    """One accepted form of a record's weights (e.g. pytorch-fid's file vs the no-fc port).

    ``format``: ``state_dict`` (``torch.load(weights_only=True)``), ``pickled_module`` (a whole
    pickled ``nn.Module``), ``checkpoint`` (a dict that may need unpickling), ``torchscript``.
    ``untrained_keys``: tensors present only as placeholders (loaded, but not meaningful).
    """

    id: str
    files: tuple[FileSpec, ...]
    format: str = "state_dict"
    untrained_keys: tuple[str, ...] = ()
    note: str = ""

    @property
    def main(self) -> FileSpec:
        return self.files[0]


@dataclass(frozen=True)
class WeightRecord:
    """A weights record (``models/weights/<name>.json``) as typed data.

    ``layout`` is ``file`` (one weights file; :func:`local_path` returns it) or ``folder``
    (several files such as open_clip's config + weights; :func:`local_path` returns the folder
    and ``weights_file`` names the tensor file in it).
    """

    name: str
    summary: str
    licence: str
    variants: tuple[Variant, ...]
    architecture: str = ""
    architecture_kwargs: dict[str, Any] = field(default_factory=dict)
    architecture_fallback: str = ""
    fallback_kwargs: Optional[dict[str, Any]] = None
    converter: str = ""
    strict: bool = True
    strip_prefix: str = ""
    ignore_keys: tuple[str, ...] = ()
    optional_keys: tuple[str, ...] = ()
    layout: str = "file"
    weights_file: str = ""
    homepage: str = ""
    preprocessing: dict[str, Any] = field(default_factory=dict)
    source: str = ""  # the JSON file it came from
    extra: dict[str, Any] = field(default_factory=dict)  # other keys, e.g. "open_clip_name"

    @property
    def urls(self) -> tuple[str, ...]:
        return tuple(u for v in self.variants for f in v.files[:1] for u in f.urls)

    def hint(self) -> str:
        """How to install this record (named in every missing-weights message)."""
        url = self.urls[0] if self.urls else ""
        fetch = f" (fetch {url} on a connected machine)" if url else ""
        what = "FOLDER" if self.layout == "folder" else "FILE"
        return (f"run `anatscore weights download {self.name}`; offline, "
                f"`anatscore weights import {self.name} {what}`{fetch}")


def _file_spec(d: dict[str, Any]) -> FileSpec:
    return FileSpec(
        file_name=str(d["file_name"]),
        urls=tuple(d.get("urls") or ()),
        sha256=str(d.get("sha256") or UNKNOWN),
        sha256_prefix=str(d.get("sha256_prefix") or ""),
        size=d.get("size"),
    )


def _parse_record(d: dict[str, Any], source: str) -> WeightRecord:
    variants = []
    for v in d.get("variants", []):
        files = [_file_spec(f) for f in v["files"]] if "files" in v else [_file_spec(v)]
        variants.append(Variant(id=str(v.get("id", "default")), files=tuple(files),
                                format=str(v.get("format", "state_dict")),
                                untrained_keys=tuple(v.get("untrained_keys", ())),
                                note=str(v.get("note", ""))))
    if not variants:
        raise WeightsError(f"weights record {source} lists no variants")
    return WeightRecord(
        name=str(d["name"]), summary=str(d.get("summary", "")), licence=str(d.get("licence", "")),
        variants=tuple(variants), architecture=str(d.get("architecture", "")),
        architecture_kwargs=dict(d.get("architecture_kwargs") or {}),
        architecture_fallback=str(d.get("architecture_fallback", "")),
        fallback_kwargs=d.get("fallback_kwargs"), converter=str(d.get("converter", "")),
        strict=bool(d.get("strict", True)), strip_prefix=str(d.get("strip_prefix", "")),
        ignore_keys=tuple(d.get("ignore_keys", ())), optional_keys=tuple(d.get("optional_keys", ())),
        layout=str(d.get("layout", "file")), weights_file=str(d.get("weights_file", "")),
        homepage=str(d.get("homepage", "")), preprocessing=dict(d.get("preprocessing") or {}),
        source=source, extra={k: v for k, v in d.items() if k not in _RECORD_KEYS},
    )


_RECORD_KEYS = frozenset({
    "name", "summary", "licence", "variants", "architecture", "architecture_kwargs",
    "architecture_fallback", "fallback_kwargs", "converter", "strict", "strip_prefix", "ignore_keys",
    "optional_keys", "layout", "weights_file", "homepage", "preprocessing",
})


def _record_dirs() -> list[Path]:
    dirs = []
    try:
        dirs.append(paths.models_dir() / "weights")
    except FileNotFoundError:
        pass
    for extra in os.environ.get(RECORDS_ENV, "").split(os.pathsep):
        if extra.strip():
            dirs.append(Path(extra.strip()))
    return dirs


_RECORDS_CACHE: dict[tuple[tuple[str, int], ...], dict[str, WeightRecord]] = {}


def records() -> dict[str, WeightRecord]:
    """Every weights record by name (``models/weights`` plus ``$ANATSCORE_WEIGHT_RECORDS``).

    Parsed once per set of record files (keyed by path and mtime).
    """
    files = [f for d in _record_dirs() if d.is_dir() for f in sorted(d.glob("*.json"))]
    key = tuple((str(f), f.stat().st_mtime_ns) for f in files)
    cached = _RECORDS_CACHE.get(key)
    if cached is not None:
        return dict(cached)
    out = _parse_records(files)
    _RECORDS_CACHE.clear()
    _RECORDS_CACHE[key] = out
    return dict(out)


def _parse_records(files: list[Path]) -> dict[str, WeightRecord]:
    out: dict[str, WeightRecord] = {}
    for f in files:
        try:
            data = json.loads(f.read_text(encoding="utf-8"))
            rec = _parse_record(data, str(f))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise WeightsError(f"weights record {f} is malformed: {exc}") from exc
        out[rec.name] = rec
    return out


def get_record(name: str) -> WeightRecord:
    """The record ``name``; :class:`WeightsError` listing the known names otherwise."""
    recs = records()
    if name not in recs:
        raise WeightsError(f"no weights record named {name!r}; known: {', '.join(sorted(recs)) or 'none'}")
    return recs[name]


# ----------------------------------------------------------------------------------------------
# the cache
# ----------------------------------------------------------------------------------------------


def record_dir(name: str) -> Path:
    """``<weights_dir>/<name>``: the record's cache folder."""
    return paths.weights_dir() / name


def installed(name: str) -> Optional[dict[str, Any]]:
    """The record's ``installed.json`` as a dict, or None when not installed."""
    f = record_dir(name) / INSTALLED
    if not f.is_file():
        return None
    try:
        return json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


_VERIFIED: dict[tuple[str, int, int], str] = {}
_VERIFIED_LOCK = threading.Lock()


def _payload_files(name: str, info: dict[str, Any]) -> list[tuple[Path, str]]:
    base = record_dir(name)
    return [(base / rel, sha) for rel, sha in info.get("files", {}).items()]


def _verify_payload(name: str, info: dict[str, Any], rehash: bool) -> list[str]:
    """Problems with the installed payload (empty = fine). Hashes are memoised per process by
    (path, size, mtime) unless ``rehash``."""
    problems: list[str] = []
    for path, want in _payload_files(name, info):
        if not path.is_file():
            problems.append(f"{path.name} is missing from the cache")
            continue
        st = path.stat()
        key = (str(path), st.st_size, st.st_mtime_ns)
        with _VERIFIED_LOCK:
            got = None if rehash else _VERIFIED.get(key)
        if got is None:
            got = sha256_file(path)
            with _VERIFIED_LOCK:
                _VERIFIED[key] = got
        if got != want:
            problems.append(f"{path.name}: sha256 {got} differs from the installed {want}")
    return problems


def local_path(name: str) -> Path:
    """Path of the cached, verified weights of record ``name`` (a folder for folder records).

    The payload is re-hashed once per process (memoised by size and mtime).

    Raises:
        WeightsMissingError: not installed, or the cached file is missing/corrupt; the message
            names the command that fixes it.
        WeightsError: ``name`` is not a known record.
    """
    rec = get_record(name)
    info = installed(name)
    if info is None:
        raise WeightsMissingError(
            f"weights {name!r} are not installed (cache: {record_dir(name)}); {rec.hint()}"
        )
    problems = _verify_payload(name, info, rehash=False)
    if problems:
        raise WeightsMissingError(
            f"weights {name!r} in the cache are damaged ({'; '.join(problems)}); reinstall: {rec.hint()}"
        )
    return record_dir(name) / info["payload"]


def sha256_of(name: str) -> str:
    """sha256 of the installed weights file (the tensor file for folder records)."""
    local_path(name)
    info = installed(name) or {}
    return str(info.get("sha256", ""))


def load_state_dict(name: str) -> dict:
    """Load record ``name``'s state_dict with ``torch.load(..., weights_only=True)``."""
    import torch

    path = local_path(name)
    rec = get_record(name)
    if rec.layout == "folder":
        path = path / (rec.weights_file or rec.variants[0].main.file_name)
    return torch.load(path, map_location="cpu", weights_only=True)


# ----------------------------------------------------------------------------------------------
# architecture check
# ----------------------------------------------------------------------------------------------


class ArchitectureUnavailable(WeightsError):
    """The record's architecture cannot be built here (e.g. needs a hub config offline)."""


def resolve(target: str) -> Callable[..., Any]:
    """Import ``"module:attr"``."""
    import importlib

    mod, _, attr = target.partition(":")
    obj: Any = importlib.import_module(mod)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def build_architecture(rec: WeightRecord, folder: Path | None = None) -> Any:
    """The record's network with random weights: ``architecture`` (the owning module's builder)
    or, when that is not importable, ``architecture_fallback``. String kwargs may contain
    ``{folder}`` (folder records: the folder holding the files)."""
    errors = []
    for target, kwargs in ((rec.architecture, rec.architecture_kwargs),
                           (rec.architecture_fallback, rec.fallback_kwargs
                            if rec.fallback_kwargs is not None else rec.architecture_kwargs)):
        if not target:
            continue
        try:
            fn = resolve(target)
        except (ImportError, AttributeError) as exc:
            errors.append(f"{target}: {exc}")
            continue
        if folder is not None:
            kwargs = {k: v.replace("{folder}", str(folder)) if isinstance(v, str) else v
                      for k, v in kwargs.items()}
        try:
            return fn(**kwargs)
        except Exception as exc:  # noqa: BLE001 - e.g. a hub config that cannot be fetched
            errors.append(f"{target}: {type(exc).__name__}: {exc}")
    raise ArchitectureUnavailable("; ".join(errors) or f"record {rec.name} names no architecture")


def check_architecture(rec: WeightRecord, variant: Variant, state: dict[str, Any],
                       folder: Path | None = None) -> str:
    """Load ``state`` into the record's architecture; return how it went, raise on mismatch.

    Strict means: every tensor the network has is in the file with the same shape and the file
    has nothing else. Exceptions, all declared in the record: ``optional_keys`` patterns (e.g.
    ``num_batches_tracked``) may be absent; a variant's ``untrained_keys`` may be absent (the
    Inception no-fc port: strict over the layers it has) or present as placeholders; records
    with ``strict: false`` (CXAS, loaded non-strictly upstream) only require that every file
    tensor maps onto the network with the right shape.
    """
    import torch

    try:
        model = build_architecture(rec, folder)
    except ArchitectureUnavailable as exc:
        prefixes = rec.preprocessing.get("expected_key_prefixes") or []
        missing = [p for p in prefixes if not any(k.startswith(p) for k in state)]
        if prefixes and not missing:
            return f"keys only ({len(state)} tensors with {', '.join(prefixes)}); architecture not built: {exc}"
        raise
    expected = model.state_dict()
    file_keys = set(state)
    net_keys = set(expected)
    unexpected = sorted(file_keys - net_keys)
    missing = sorted(net_keys - file_keys)
    optional = [k for k in missing if _optional(k, rec.optional_keys)]
    absent_untrained = [k for k in missing if k in variant.untrained_keys]
    missing = [k for k in missing if k not in optional and k not in absent_untrained]
    shape_bad = [f"{k}: file {tuple(state[k].shape)} vs network {tuple(expected[k].shape)}"
                 for k in sorted(file_keys & net_keys)
                 if hasattr(state[k], "shape") and tuple(state[k].shape) != tuple(expected[k].shape)]
    if unexpected or shape_bad or (missing and rec.strict):
        parts = []
        if missing:
            parts.append(f"{len(missing)} network tensors missing from the file (e.g. {missing[:3]})")
        if unexpected:
            parts.append(f"{len(unexpected)} file tensors the network does not have (e.g. {unexpected[:3]})")
        if shape_bad:
            parts.append(f"{len(shape_bad)} shape mismatches (e.g. {shape_bad[:2]})")
        raise WeightsError(f"{rec.name}: the file does not fit {rec.architecture or rec.architecture_fallback}: "
                           + "; ".join(parts))
    result = model.load_state_dict({k: v for k, v in state.items() if isinstance(v, torch.Tensor)},
                                   strict=False)
    how = "strict" if rec.strict else "non-strict (record declares strict: false)"
    notes = []
    if absent_untrained:
        notes.append(f"over the layers it has (absent: {', '.join(absent_untrained)})")
    present_untrained = [k for k in variant.untrained_keys if k in file_keys]
    if present_untrained:
        notes.append(f"{', '.join(present_untrained)} are untrained placeholders")
    if optional:
        notes.append(f"{len(optional)} optional buffers absent")
    if missing:
        notes.append(f"{len(missing)} network tensors not in the file")
    del result
    return how + (f"; {'; '.join(notes)}" if notes else "")


def _optional(key: str, patterns: Iterable[str]) -> bool:
    import fnmatch

    return any(fnmatch.fnmatch(key, p) for p in patterns)


# ----------------------------------------------------------------------------------------------
# install: download / import
# ----------------------------------------------------------------------------------------------


def _match_variant(rec: WeightRecord, digest: str, file_name: str) -> tuple[Variant, bool]:
    """The variant a file with ``digest`` belongs to and whether its hash was pinned.

    A pinned full hash that matches wins. Otherwise a variant that pins only a prefix must match
    it; a variant that pins nothing accepts any file (its hash is recorded on install). Files of
    a record whose every variant pins a hash and none matches are refused.
    """
    for v in rec.variants:
        if v.main.hash_matches(digest) is True:
            return v, bool(v.main.sha256 and v.main.sha256 != UNKNOWN)
    open_variants = [v for v in rec.variants if v.main.hash_matches(digest) is None]
    if open_variants:
        by_name = [v for v in open_variants if v.main.file_name == file_name]
        return (by_name or open_variants)[0], False
    accepted = []
    for v in rec.variants:
        f = v.main
        accepted.append(f"{v.id}: {f.sha256 if f.sha256 != UNKNOWN else f.sha256_prefix + '...'}")
    raise WeightsHashError(
        f"{rec.name}: sha256 {digest} of {file_name} matches none of the accepted files "
        f"({'; '.join(accepted)}); the file was not installed"
    )


def _torch_read(path: Path, fmt: str, allow_pickle: bool, rec: WeightRecord) -> Any:
    import pickle

    import torch

    if fmt == "torchscript":
        return torch.jit.load(str(path), map_location="cpu")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, AttributeError, TypeError) as exc:
        if fmt == "state_dict":
            raise WeightsError(f"{rec.name}: {path.name} cannot be read with torch.load(weights_only=True): "
                               f"{str(exc).splitlines()[0]}") from exc
        if not allow_pickle:
            raise WeightsError(
                f"{rec.name}: {path.name} is a pickled Python object (format {fmt}) and its sha256 is not "
                "pinned by the record, so reading it would run code from the file. If you trust where "
                "it came from, rerun with --trust-pickle (Python: trust_pickle=True)."
            ) from exc
        log.info("%s: unpickling %s once to convert it to a plain state_dict", rec.name, path.name)
        return torch.load(path, map_location="cpu", weights_only=False)


def _to_state_dict(obj: Any, rec: WeightRecord) -> tuple[dict[str, Any], bool]:
    """A flat {name: tensor} dict from whatever the file held; (state, changed)."""
    import torch

    changed = False
    if isinstance(obj, torch.nn.Module) or hasattr(obj, "state_dict") and not isinstance(obj, dict):
        obj = obj.state_dict()
        changed = True
    if rec.converter:
        obj = resolve(rec.converter)(obj)
        changed = True
    if isinstance(obj, dict) and not any(isinstance(v, torch.Tensor) for v in obj.values()):
        for key in ("state_dict", "model", "model_state_dict", "network", "net"):
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                changed = True
                break
    if not isinstance(obj, dict):
        raise WeightsError(f"{rec.name}: the file holds a {type(obj).__name__}, not tensors")
    state = {str(k): v for k, v in obj.items()}
    non_tensor = [k for k, v in state.items() if not isinstance(v, torch.Tensor)]
    if non_tensor:
        state = {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
        changed = True
    if rec.strip_prefix and any(k.startswith(rec.strip_prefix) for k in state):
        n = len(rec.strip_prefix)
        state = {(k[n:] if k.startswith(rec.strip_prefix) else k): v for k, v in state.items()}
        changed = True
    dropped = [k for k in state if k in rec.ignore_keys]
    if dropped:
        state = {k: v for k, v in state.items() if k not in rec.ignore_keys}
        changed = True
    if not state:
        raise WeightsError(f"{rec.name}: the file holds no tensors")
    return state, changed


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".installed-", suffix=".part", dir=path.parent)
    _chmod_default(Path(tmp))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        _unlink(Path(tmp))
        raise


def _unlink(p: Path) -> None:
    try:
        if p.is_dir():
            shutil.rmtree(p)
        else:
            p.unlink()
    except FileNotFoundError:
        pass


def _tmp_in(base: Path, suffix: str = ".part") -> Path:
    base.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".incoming-", suffix=suffix, dir=base)
    os.close(fd)
    _chmod_default(Path(tmp))
    return Path(tmp)


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # read once at import: os.umask is process-global and not thread-safe


def _chmod_default(p: Path) -> None:
    """mkstemp files are 0600; cached weights are ordinary files (0644 less the umask)."""
    os.chmod(p, 0o644 & ~_UMASK)


def _install_file(rec: WeightRecord, src_tmp: Path, source: str, trusted_source: bool,
                  trust_pickle: bool, original_name: str) -> dict[str, Any]:
    """Verify ``src_tmp`` (already inside the record's cache folder) and move it into place.

    ``src_tmp`` is always consumed (renamed into place or deleted).
    """
    import torch

    base = record_dir(rec.name)
    converted_tmp: Optional[Path] = None
    try:
        digest = sha256_file(src_tmp)
        size = src_tmp.stat().st_size
        variant, pinned = _match_variant(rec, digest, original_name)
        spec = variant.main
        if spec.size is not None and pinned is False and spec.size != size:
            log.warning("%s: size %d differs from the record's %d", rec.name, size, spec.size)
        allow_pickle = pinned or trusted_source or trust_pickle
        obj = _torch_read(src_tmp, variant.format, allow_pickle, rec)
        state, changed = _to_state_dict(obj, rec)
        arch = check_architecture(rec, variant, state)
        if changed or variant.format != "state_dict":
            payload = Path(spec.file_name).stem + ".state_dict.pt"
            converted_tmp = _tmp_in(base)
            torch.save(state, converted_tmp)
            final_digest = sha256_file(converted_tmp)
            os.replace(converted_tmp, base / payload)
            converted_tmp = None
            _unlink(src_tmp)
        else:
            payload = spec.file_name
            final_digest = digest
            os.replace(src_tmp, base / payload)
        info = {
            "name": rec.name, "variant": variant.id, "payload": payload, "sha256": final_digest,
            "size": (base / payload).stat().st_size, "files": {payload: final_digest},
            "source": source, "source_file": original_name, "source_sha256": digest,
            "source_size": size, "source_hash_pinned": pinned, "converted": payload != spec.file_name,
            "tensors": len(state), "arch_check": arch, "installed_at": _now(),
            "untrained_keys": list(variant.untrained_keys),
        }
        old = installed(rec.name)
        _write_json_atomic(base / INSTALLED, info)
        if old and old.get("payload") and old["payload"] != payload:
            _unlink(base / old["payload"])
        return info
    finally:
        _unlink(src_tmp)
        if converted_tmp is not None:
            _unlink(converted_tmp)


def _install_folder(rec: WeightRecord, staged: Path, source: str) -> dict[str, Any]:
    """Folder records: every file of a variant staged in ``staged`` (inside the cache)."""
    import torch

    base = record_dir(rec.name)
    try:
        names = {p.name for p in staged.iterdir()}
        chosen = None
        for v in rec.variants:
            if all(f.file_name in names for f in v.files):
                chosen = v
                break
        if chosen is None:
            want = ", ".join(f.file_name for f in rec.variants[0].files)
            raise WeightsError(f"{rec.name}: the folder must contain {want}")
        hashes: dict[str, str] = {}
        pinned = True
        for f in chosen.files:
            digest = sha256_file(staged / f.file_name)
            ok = f.hash_matches(digest)
            if ok is False:
                raise WeightsHashError(f"{rec.name}: sha256 {digest} of {f.file_name} does not match the "
                                       f"record's {f.sha256 or f.sha256_prefix}; nothing was installed")
            pinned = pinned and ok is True
            hashes[f"model/{f.file_name}"] = digest
        wfile = rec.weights_file or chosen.main.file_name
        state = torch.load(staged / wfile, map_location="cpu", weights_only=True)
        state, _ = _to_state_dict(state, rec)
        arch = check_architecture(rec, chosen, state, folder=staged)
        for p in list(staged.iterdir()):
            if p.name not in {f.file_name for f in chosen.files}:
                _unlink(p)
        target = base / "model"
        old = base / ".model-old"
        _unlink(old)
        if target.exists():
            os.replace(target, old)
        os.replace(staged, target)
        _unlink(old)
        info = {
            "name": rec.name, "variant": chosen.id, "payload": "model", "sha256": hashes[f"model/{wfile}"],
            "files": hashes, "source": source, "source_hash_pinned": pinned, "converted": False,
            "tensors": len(state), "arch_check": arch, "installed_at": _now(),
        }
        _write_json_atomic(base / INSTALLED, info)
        return info
    finally:
        _unlink(staged)


_NETWORK_ERRORS = (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError,
                   http.client.HTTPException)


def _fetch(url: str, dest: Path, progress: bool, timeout: float = 60.0) -> None:
    """Stream ``url`` into ``dest`` (``file://`` works too)."""
    req = urllib.request.Request(url, headers={"User-Agent": "anatscore-weights"})
    with urllib.request.urlopen(req, timeout=timeout) as resp, open(dest, "wb") as out:
        total = resp.headers.get("Content-Length")
        bar = None
        if progress:
            try:
                from tqdm import tqdm

                bar = tqdm(total=int(total) if total else None, unit="B", unit_scale=True,
                           desc=Path(urllib.parse.urlparse(url).path).name, leave=False)
            except ImportError:
                bar = None
        got = 0
        try:
            while True:
                chunk = resp.read(_CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                got += len(chunk)
                if bar is not None:
                    bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()
        if total is not None and total.isdigit() and got != int(total):
            raise http.client.IncompleteRead(b"", int(total) - got)


def download(name: str, *, url: str | None = None, progress: bool = False,
             trust_pickle: bool = False) -> dict[str, Any]:
    """Download record ``name`` from its URL(s) (or ``url``), verify and install it.

    The file goes to a temporary ``*.part`` file inside the cache folder, is hash-checked and
    architecture-checked, then renamed into place; on any failure nothing is left behind.

    Raises:
        WeightsMissingError: no URL worked (offline machines get the ``import`` command).
        WeightsHashError: the downloaded bytes are not a file the record accepts.
    """
    rec = get_record(name)
    if rec.layout == "folder":
        return _download_folder(rec, url, progress)
    urls = [url] if url else list(rec.urls)
    if not urls:
        raise WeightsMissingError(f"{name}: the record has no download URL; "
                                  f"use `anatscore weights import {name} FILE`")
    errors: list[str] = []
    offline = False
    for u in urls:
        tmp = _tmp_in(record_dir(name))
        try:
            _fetch(u, tmp, progress)
        except _NETWORK_ERRORS as exc:
            _unlink(tmp)
            reason = getattr(exc, "reason", None) or f"{type(exc).__name__}: {exc}"
            if not isinstance(exc, urllib.error.HTTPError):
                offline = True
            errors.append(f"{u}: {reason}")
            continue
        except BaseException:
            _unlink(tmp)
            raise
        file_name = Path(urllib.parse.urlparse(u).path).name
        official = u in rec.urls
        return _install_file(rec, tmp, source=u, trusted_source=official, trust_pickle=trust_pickle,
                             original_name=file_name)
    _cleanup_empty(name)
    hint = (" This machine looks offline: fetch the file on a connected machine and run "
            f"`anatscore weights import {name} FILE`.") if offline else \
        f" Get the file another way and run `anatscore weights import {name} FILE`."
    raise WeightsMissingError(f"cannot download weights {name!r} ({'; '.join(errors)}).{hint}")


def _download_folder(rec: WeightRecord, url: str | None, progress: bool) -> dict[str, Any]:
    variant = rec.variants[0]
    staged = Path(tempfile.mkdtemp(prefix=".incoming-", dir=_ensure(record_dir(rec.name))))
    try:
        for f in variant.files:
            src = f.urls[0] if f.urls else ""
            if url:
                src = url.rstrip("/") + "/" + f.file_name
            if not src:
                raise WeightsMissingError(f"{rec.name}: no URL for {f.file_name}; "
                                          f"use `anatscore weights import {rec.name} FOLDER`")
            _fetch(src, staged / f.file_name, progress)
    except _NETWORK_ERRORS as exc:
        _unlink(staged)
        _cleanup_empty(rec.name)
        raise WeightsMissingError(
            f"cannot download weights {rec.name!r} ({getattr(exc, 'reason', exc)}). If this machine is "
            f"offline, fetch {', '.join(f.file_name for f in variant.files)} on a connected machine and run "
            f"`anatscore weights import {rec.name} FOLDER`."
        ) from None
    except BaseException:
        _unlink(staged)
        raise
    return _install_folder(rec, staged, source=url or rec.homepage)


def _ensure(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


def _cleanup_empty(name: str) -> None:
    d = record_dir(name)
    try:
        if d.is_dir() and not any(d.iterdir()):
            d.rmdir()
    except OSError:
        pass


def import_file(name: str, file: str | os.PathLike[str], *, trust_pickle: bool = False) -> dict[str, Any]:
    """Install record ``name`` from a local file (or folder, for folder records): air-gapped use.

    The file is copied into the cache folder, verified exactly as a download is (hash where the
    record pins one, strict architecture load), then renamed into place; its hash is recorded.

    Raises:
        WeightsHashError: the file's sha256 is not one the record accepts.
        WeightsError: unreadable, wrong architecture, or an unpinned pickle without
            ``trust_pickle``.
    """
    rec = get_record(name)
    src = Path(file)
    if not src.exists():
        raise WeightsError(f"{src} does not exist")
    if rec.layout == "folder":
        if not src.is_dir():
            raise WeightsError(f"{name} is a folder record: give the folder holding "
                               f"{', '.join(f.file_name for f in rec.variants[0].files)}")
        staged = Path(tempfile.mkdtemp(prefix=".incoming-", dir=_ensure(record_dir(name))))
        try:
            for f in rec.variants[0].files:
                if (src / f.file_name).is_file():
                    shutil.copyfile(src / f.file_name, staged / f.file_name)
        except BaseException:
            _unlink(staged)
            raise
        return _install_folder(rec, staged, source=f"import:{src.resolve()}")
    if not src.is_file():
        raise WeightsError(f"{src} is not a file")
    tmp = _tmp_in(record_dir(name))
    try:
        shutil.copyfile(src, tmp)
    except BaseException:
        _unlink(tmp)
        raise
    try:
        return _install_file(rec, tmp, source=f"import:{src.resolve()}", trusted_source=False,
                             trust_pickle=trust_pickle, original_name=src.name)
    except BaseException:
        _cleanup_empty(name)
        raise


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of re-hashing one record's cache."""

    name: str
    status: str  # ok | missing | corrupt
    detail: str
    sha256: str = ""


def verify(names: Iterable[str] | None = None) -> list[VerifyResult]:
    """Re-hash every installed record (or ``names``) against its ``installed.json``.

    Also re-checks unconverted files against the record's pinned hash.
    """
    recs = records()
    todo = list(names) if names else sorted(recs)
    out: list[VerifyResult] = []
    for name in todo:
        rec = recs.get(name) or get_record(name)
        info = installed(name)
        if info is None:
            out.append(VerifyResult(name, "missing", rec.hint()))
            continue
        problems = _verify_payload(name, info, rehash=True)
        if not problems and not info.get("converted"):
            var = next((v for v in rec.variants if v.id == info.get("variant")), None)
            if var is not None and var.main.hash_matches(info.get("sha256", "")) is False:
                problems.append(f"sha256 {info.get('sha256')} is not the record's {var.main.sha256}")
        if problems:
            out.append(VerifyResult(name, "corrupt", "; ".join(problems), info.get("sha256", "")))
        else:
            out.append(VerifyResult(name, "ok", f"variant {info.get('variant')}, {info.get('arch_check', '')}",
                                    info.get("sha256", "")))
    return out


def build_model(name: str) -> Any:
    """The record's architecture with its installed weights loaded (eval mode, CPU)."""
    rec = get_record(name)
    model = build_architecture(rec, local_path(name) if rec.layout == "folder" else None)
    state = load_state_dict(name)
    info = installed(name) or {}
    strict = rec.strict and not any(k not in state for k in info.get("untrained_keys", []))
    result = model.load_state_dict(state, strict=False)
    if strict and (result.missing_keys or result.unexpected_keys):
        missing = [k for k in result.missing_keys if not _optional(k, rec.optional_keys)]
        if missing or result.unexpected_keys:
            raise WeightsError(f"{name}: installed weights do not fit the architecture "
                               f"(missing {missing[:3]}, unexpected {result.unexpected_keys[:3]})")
    return model.eval()

