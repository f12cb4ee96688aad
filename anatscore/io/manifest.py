"""Reading a folder's ``manifest.csv`` / ``manifest.jsonl`` and images' own metadata.

A manifest row describes one generated image: ``path`` (required, relative to the folder) and
optionally ``prompt, modality, region, view, task, original, mask, backend, seed, refused``.
Vocabulary fields are normalised with :func:`anatscore.vocab.normalise`. A bad row never stops a
run: its problem is carried as a per-row ``error`` that the runner writes as a failed ``load``.

Without a manifest row, an image's fields come from a sidecar JSON (``image.png.json`` or
``image.json``) or, for PNG, from its text chunks (``tEXt``/``iTXt``/``zTXt``): a ``prompt``
chunk, Stable Diffusion web UI ``parameters``, or a JSON blob.
"""

from __future__ import annotations

import csv
import json
import os
import re
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from .. import vocab
from ..types import MANIFEST_FIELDS

MANIFEST_NAMES: tuple[str, ...] = ("manifest.csv", "manifest.jsonl")
VOCAB_FIELDS: tuple[str, ...] = ("modality", "region", "view", "task")
_TRUE = {"true", "1", "yes", "y", "t", "refused"}
_FALSE = {"false", "0", "no", "n", "f", ""}


class ManifestError(ValueError):
    """The manifest as a whole cannot be read (no ``path`` column, not CSV/JSON lines)."""


@dataclass
class ManifestRow:
    """One manifest row after validation.

    ``fields`` holds the normalised known columns; ``extra`` any other columns; ``error`` the
    human reason this row cannot be scored ("" when fine); ``line`` the 1-based line number.
    """

    line: int
    path: str
    fields: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    error: str = ""


def find_manifest(root: Path) -> Optional[Path]:
    """``root/manifest.csv`` or ``root/manifest.jsonl`` (the first that exists), else None."""
    for name in MANIFEST_NAMES:
        cand = root / name
        if cand.is_file():
            return cand
    return None


def _raw_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line number, raw dict) for every non-empty row."""
    rows: list[tuple[int, dict[str, Any]]] = []
    if path.suffix == ".jsonl":
        with open(path, encoding="utf-8") as fh:
            for i, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    rows.append((i, {"__error__": f"manifest line {i} is not valid JSON: {exc.msg}"}))
                    continue
                if not isinstance(obj, dict):
                    rows.append((i, {"__error__": f"manifest line {i} is not a JSON object"}))
                    continue
                rows.append((i, obj))
        return rows
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or "path" not in [c.strip().lower() for c in reader.fieldnames]:
            raise ManifestError(f"{path.name}: the required column 'path' is missing "
                                f"(columns: {', '.join(reader.fieldnames or [])})")
        for row in reader:
            clean = {(k or "").strip().lower(): (v.strip() if isinstance(v, str) else v)
                     for k, v in row.items() if k is not None}
            if any(v for v in clean.values()):
                rows.append((reader.line_num, clean))
    return rows


def parse_bool(value: Any) -> bool:
    """Manifest truth values: true/1/yes/y (True) or false/0/no/n/empty (False)."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    v = str(value).strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise ValueError(f"expected true/false, got {value!r}")


def inside(root: Path, rel: str) -> tuple[Optional[Path], str]:
    """Resolve manifest path ``rel`` under ``root``; (path, "") or (None, reason).

    Rejects ``..`` escapes, absolute paths outside ``root`` and symlinks whose target lies
    outside ``root`` (the check is on the fully resolved path).
    """
    root_r = root.resolve()
    p = Path(rel)
    cand = p if p.is_absolute() else root / p
    try:
        resolved = cand.resolve()
    except (OSError, RuntimeError) as exc:
        return None, f"path {rel!r} cannot be resolved: {exc}"
    if resolved != root_r and root_r not in resolved.parents:
        how = "a symlink pointing" if cand.is_symlink() or _has_symlink(root, cand) else "a path"
        return None, f"path {rel!r} is {how} outside the input folder; manifest paths must stay inside it"
    return resolved, ""


def _has_symlink(root: Path, cand: Path) -> bool:
    cur = cand
    while cur != root and cur != cur.parent:
        if cur.is_symlink():
            return True
        cur = cur.parent
    return False


def rel_posix(root: Path, p: Path) -> str:
    """``p`` relative to ``root`` with POSIX separators."""
    return p.resolve().relative_to(root.resolve()).as_posix()


def read_manifest(root: Path, manifest: Path) -> list[ManifestRow]:
    """Validate every row of the manifest file ``manifest`` (paths relative to ``root``).

    Raises:
        ManifestError: when the file as a whole is unusable (no ``path`` column).
    """
    return validate_rows(_raw_rows(manifest))


def records_to_rows(records: Any) -> list[tuple[int, dict[str, Any]]]:
    """In-memory manifest (a pandas DataFrame or an iterable of dicts) as numbered raw rows;
    row numbers count from 1 like the lines after a CSV header would (header = line 1)."""
    if hasattr(records, "to_dict"):
        records = records.to_dict("records")
    rows: list[tuple[int, dict[str, Any]]] = []
    for i, rec in enumerate(records, start=2):
        if not isinstance(rec, dict):
            raise ManifestError(f"manifest row {i - 1} is a {type(rec).__name__}, not a mapping")
        # pandas gives NaN for empty cells
        rows.append((i, {k: (None if isinstance(v, float) and v != v else v) for k, v in rec.items()}))
    if rows and not any("path" in {str(k).strip().lower() for k in r} for _, r in rows):
        raise ManifestError("the manifest has no 'path' column")
    return rows


def validate_rows(raw_rows: list[tuple[int, dict[str, Any]]]) -> list[ManifestRow]:
    """Normalise and check numbered raw rows; problems become per-row ``error`` strings."""
    out: list[ManifestRow] = []
    for line, raw in raw_rows:
        if "__error__" in raw:
            out.append(ManifestRow(line=line, path=f"<manifest line {line}>", error=raw["__error__"]))
            continue
        raw = {str(k).strip().lower(): v for k, v in raw.items()}
        path = str(raw.get("path") or "").strip()
        row = ManifestRow(line=line, path=path)
        errors: list[str] = []
        for key, value in raw.items():
            if key == "path":
                continue
            if key not in MANIFEST_FIELDS:
                row.extra[key] = value
                continue
            try:
                row.fields[key] = _normalise_field(key, value)
            except ValueError as exc:
                errors.append(str(exc))
        if not path and not row.fields.get("refused"):
            errors.append("the 'path' value is empty")
        if errors:
            row.error = f"manifest line {line}: " + "; ".join(errors)
        out.append(row)
    return out


def _normalise_field(key: str, value: Any) -> Any:
    if key in VOCAB_FIELDS:
        return vocab.normalise(key, None if value is None else str(value))
    if key == "refused":
        try:
            return parse_bool(value)
        except ValueError as exc:
            raise ValueError(f"refused: {exc}") from None
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and key == "seed":
        return str(int(value))
    return str(value).strip()


# ----------------------------------------------------------------------------------------------
# metadata carried by the image itself: sidecar JSON, PNG text chunks
# ----------------------------------------------------------------------------------------------


def sidecar_for(image: Path) -> Optional[Path]:
    """``image.png.json`` or ``image.json`` next to ``image``, if present."""
    for cand in (image.with_name(image.name + ".json"), image.with_suffix(".json")):
        if cand.is_file():
            return cand
    return None


def read_sidecar(path: Path) -> tuple[dict[str, Any], str]:
    """Known fields from a sidecar JSON; (fields, problem) where problem is "" when fine.

    Unknown vocabulary values are dropped with a problem note rather than failing the image.
    """
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return {}, f"sidecar {path.name} unreadable: {exc}"
    if not isinstance(obj, dict):
        return {}, f"sidecar {path.name} is not a JSON object"
    return _known_fields(obj)


def _known_fields(obj: dict[str, Any]) -> tuple[dict[str, Any], str]:
    out: dict[str, Any] = {}
    problems: list[str] = []
    for key, value in obj.items():
        k = str(key).strip().lower()
        if k in MANIFEST_FIELDS and k not in ("path", "original", "mask") and value not in (None, ""):
            try:
                out[k] = _normalise_field(k, value)
            except ValueError as exc:
                problems.append(str(exc))
    return out, "; ".join(problems)


_SEED_RE = re.compile(r"(?:^|,\s*)Seed:\s*(\d+)")
_MODEL_RE = re.compile(r"(?:^|,\s*)Model:\s*([^,]+)")


def parse_sd_parameters(text: str) -> dict[str, str]:
    """Parse the ``parameters`` text chunk Stable Diffusion web UIs (A1111, Forge) write.

    Layout: the prompt, then optionally a ``Negative prompt: ...`` line, then a last line of
    ``Key: value, Key: value`` settings (``Steps``, ``Seed``, ``Model``...).
    """
    lines = text.strip().splitlines()
    settings = ""
    if lines and re.match(r"^\s*Steps:\s*\d+", lines[-1]):
        settings = lines.pop()
    prompt_lines: list[str] = []
    for ln in lines:
        if ln.startswith("Negative prompt:"):
            break
        prompt_lines.append(ln)
    out = {"prompt": "\n".join(prompt_lines).strip()}
    if m := _SEED_RE.search(settings):
        out["seed"] = m.group(1)
    m = _MODEL_RE.search(settings)
    out["backend"] = f"sd-webui:{m.group(1).strip()}" if m else "sd-webui"
    return out


def _comfy_prompt(graph: dict[str, Any]) -> Optional[str]:
    """The text of the first CLIPTextEncode node of a ComfyUI API graph, if any."""
    for node in graph.values():
        if isinstance(node, dict) and node.get("class_type") == "CLIPTextEncode":
            text = node.get("inputs", {}).get("text")
            if isinstance(text, str):
                return text
    return None


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_TEXT_CHUNK = 1 << 20  # bytes of one (decompressed) text chunk kept, as Pillow's own limit
_TEXT_TYPES = (b"tEXt", b"zTXt", b"iTXt")


def _inflate(data: bytes) -> Optional[bytes]:
    """zlib-decompress at most MAX_TEXT_CHUNK bytes (a zTXt bomb cannot blow up memory)."""
    d = zlib.decompressobj()
    try:
        out = d.decompress(data, MAX_TEXT_CHUNK)
    except zlib.error:
        return None
    return out if not d.unconsumed_tail else None


def _text_chunk(ctype: bytes, data: bytes) -> Optional[tuple[str, str]]:
    """(keyword, text) of one tEXt / zTXt / iTXt chunk body, or None when malformed."""
    key_raw, sep, rest = data.partition(b"\0")
    if not sep or not 1 <= len(key_raw) <= 79:
        return None
    key = key_raw.decode("latin-1")
    if ctype == b"tEXt":
        return key, rest.decode("latin-1")
    if ctype == b"zTXt":  # compression method byte (0 = zlib), then the compressed text
        raw = _inflate(rest[1:]) if rest[:1] == b"\0" else None
        return None if raw is None else (key, raw.decode("latin-1"))
    # iTXt: compression flag, method, language tag\0, translated keyword\0, UTF-8 text
    if len(rest) < 2:
        return None
    flag, method, rest = rest[0], rest[1], rest[2:]
    parts = rest.split(b"\0", 2)
    if len(parts) != 3:
        return None
    body: Optional[bytes] = parts[2]
    if flag:
        body = _inflate(parts[2]) if method == 0 else None
    if body is None:
        return None
    try:
        return key, body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def png_text_chunks(path: str | os.PathLike[str]) -> dict[str, str]:
    """Keyword -> text of every tEXt / zTXt / iTXt chunk of a PNG, before or after the pixel data.

    Hand-written chunk walk instead of Pillow's ``Image.text`` on purpose: Pillow finds text
    chunks that follow IDAT only by decoding the whole image (``Image.text`` calls ``load()``), so
    discovery would decode every PNG once and the runner a second time. Here only chunk headers
    are read and IDAT bodies are skipped with ``seek``; zTXt / compressed iTXt are inflated with
    zlib (each capped at 1 MiB, like Pillow). Chunks failing their CRC are ignored; a later
    chunk with the same keyword wins (as in Pillow). Not a PNG or unreadable: ``{}``.
    """
    out: dict[str, str] = {}
    try:
        with open(path, "rb") as fh:
            if fh.read(8) != PNG_SIGNATURE:
                return {}
            while True:
                head = fh.read(8)
                if len(head) < 8:
                    break
                length, ctype = struct.unpack(">I4s", head)
                if ctype == b"IEND":
                    break
                if ctype not in _TEXT_TYPES or length > 16 * MAX_TEXT_CHUNK:
                    fh.seek(length + 4, os.SEEK_CUR)  # body + CRC, never read
                    continue
                data = fh.read(length)
                crc = fh.read(4)
                if len(data) < length or len(crc) < 4:
                    break
                if zlib.crc32(data, zlib.crc32(ctype)) != struct.unpack(">I", crc)[0]:
                    continue
                kv = _text_chunk(ctype, data)
                if kv is not None:
                    out[kv[0]] = kv[1]
    except OSError:
        return {}
    return out


def read_png_text(path: Path) -> tuple[dict[str, Any], str]:
    """Fields from a PNG's text chunks; (fields, source tag) with source "" when none found."""
    chunks = png_text_chunks(path)
    if not chunks:
        return {}, ""
    lowered = {str(k).strip().lower(): v for k, v in chunks.items()}
    if "parameters" in lowered:
        return parse_sd_parameters(str(lowered["parameters"])), "png-text:parameters"
    for key in ("anatscore", "metadata", "prompt", "description", "comment"):
        val = lowered.get(key)
        if not isinstance(val, str) or not val.strip():
            continue
        try:
            obj = json.loads(val)
        except json.JSONDecodeError:
            obj = None
        if isinstance(obj, dict):
            if any(str(k).lower() in MANIFEST_FIELDS for k in obj):
                fields, _ = _known_fields(obj)
                return fields, "png-text:json"
            comfy = _comfy_prompt(obj)
            if comfy is not None:
                return {"prompt": comfy, "backend": "comfyui"}, "png-text:comfyui"
            continue
        if key == "prompt":
            return {"prompt": val.strip()}, "png-text:prompt"
    return {}, ""


def safe_listdir_files(root: Path) -> list[Path]:
    """Every regular file under ``root`` (recursively, not following directory symlinks)."""
    files: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            files.append(Path(dirpath) / name)
    return files
