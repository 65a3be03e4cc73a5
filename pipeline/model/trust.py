"""A model folder is untrusted input: what is checked before anything in it is parsed.

1. The manifest: every file listed with its sha256, nothing unlisted (catches corruption).
2. Optionally, its signature: with a signing key (the environment variable MOVIE_RATING_SIGNING_KEY,
   or `signing.key_file` in params.yaml), training writes `manifest.sig`, an HMAC-SHA256 of the
   manifest, and loading refuses a folder without it or with a wrong one (catches tampering).
3. The boosters' native parsers (LightGBM, XGBoost, CatBoost: C++) never see a file this process has
   not seen parse cleanly: a folder that is neither signed with the key nor known to this machine has
   its booster files parsed, and a row predicted, first in a throwaway process with bounded memory and
   time. A file that crashes, hangs or fails there is refused in one line. Folders this machine wrote
   or already checked are remembered by the sha256 of their manifest (MOVIE_RATING_CACHE, default
   ~/.cache/movie-rating), so the check costs a process start once per folder, not per load.
Everything else in a folder (JSON, .npz without pickles, skops with an allowlist) is read in Python,
and a file that does not parse is refused naming it (`pipeline.io.reading`).
"""
from __future__ import annotations

import hashlib
import hmac
import multiprocessing as mp
import os
import signal
from pathlib import Path

import numpy as np

from pipeline.errors import InputError, first_line
from pipeline.io import read_json, reading, sha256_file
from pipeline.model import format as model_format

KEY_ENV = "MOVIE_RATING_SIGNING_KEY"
CACHE_ENV = "MOVIE_RATING_CACHE"
SIGNATURE = "manifest.sig"
NATIVE = {"model.txt": "LightGBM", "stacker.txt": "LightGBM", "model.ubj": "XGBoost", "model.cbm": "CatBoost"}
PROBE_SECONDS = 120              # a booster file that takes longer to parse is refused
PROBE_MEMORY = 8 << 30           # bytes of address space the throwaway process may use


def signing_key(key_file: str | None) -> bytes | None:
    """The signing key: the environment variable, else the key file params.yaml names, else None."""
    if os.environ.get(KEY_ENV):
        return os.environ[KEY_ENV].encode("utf-8")
    if key_file is None:
        return None
    path = Path(key_file).expanduser()
    if not path.is_file():
        raise InputError(str(path), "signing key file not found (signing.key_file in params.yaml)")
    key = path.read_bytes().strip()
    if not key:
        raise InputError(str(path), "signing key file is empty")
    return key


def configured_key() -> bytes | None:
    """The key a command that loads a model checks it with: the environment variable, else the key file
    named by `signing.key_file` in the working directory's params.yaml (as `run` reads it)."""
    if os.environ.get(KEY_ENV):
        return signing_key(None)
    import yaml

    from pipeline.config import default_params
    try:
        section = (yaml.safe_load(default_params().read_text(encoding="utf-8")) or {}).get("signing") or {}
    except (OSError, yaml.YAMLError, AttributeError) as exc:
        raise InputError(str(default_params()), f"cannot be read for signing.key_file ({exc})") from None
    return signing_key(section.get("key_file") if isinstance(section, dict) else None)


def sign(folder: Path, key: bytes) -> None:
    (folder / SIGNATURE).write_text(_mac(folder, key) + "\n", encoding="ascii")


def _mac(folder: Path, key: bytes) -> str:
    return hmac.new(key, (folder / "manifest.json").read_bytes(), hashlib.sha256).hexdigest()


def _digest(folder: Path) -> str:
    """The folder's identity for the cache of checked folders: the sha256 of its manifest."""
    return sha256_file(folder / "manifest.json")


def verify(folder: Path, key: bytes | None) -> int:
    """Refuse a model folder with a missing, altered or unlisted file, a wrong or (with a key) missing
    signature, a format this code does not read, or a booster file that does not parse cleanly in a throwaway
    process; otherwise its format."""
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        raise InputError(str(folder), "not a model folder: manifest.json is missing")
    if key is not None:
        signature = folder / SIGNATURE
        if not signature.is_file():
            raise InputError(str(signature), f"missing: the folder is unsigned and a signing key is configured "
                             f"({KEY_ENV} or signing.key_file); refusing it")
        if not hmac.compare_digest(signature.read_text(encoding="ascii", errors="replace").strip(),
                                   _mac(folder, key)):
            raise InputError(str(signature), "does not match manifest.json under the configured key: the folder "
                             "was altered after signing, or signed with another key; refusing it")
    content = read_json(manifest)
    with reading(manifest):
        found = model_format.check(content, str(manifest))    # first: a later format may list its files otherwise
        listed = {str(rel): str(digest) for rel, digest in content["files"].items()}
    for rel, digest in listed.items():
        path = folder / rel
        if not path.resolve().is_relative_to(folder.resolve()):
            raise InputError(str(manifest), f"lists {rel!r}, outside the model folder")
        if not path.is_file():
            raise InputError(str(path), "listed in manifest.json but missing; the model folder is incomplete")
        if sha256_file(path) != digest:
            raise InputError(str(path), "sha256 differs from manifest.json; the model folder was altered")
    extra = [str(p.relative_to(folder)) for p in folder.rglob("*")
             if p.is_file() and p.name not in ("manifest.json", SIGNATURE) and str(p.relative_to(folder)) not in listed]
    if extra:
        raise InputError(str(folder / extra[0]), "not listed in manifest.json; refusing an altered model folder")
    if key is None:
        checked = _cache() / _digest(folder)
        if not checked.is_file():
            probe_native([folder / rel for rel in sorted(listed) if Path(rel).name in NATIVE])
            _touch(checked)
    return found


def _cache() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "movie-rating") / "checked"


def remember(folder: Path) -> None:
    """Record that this machine wrote, or has checked, the folder with this manifest."""
    _touch(_cache() / _digest(folder))


def _touch(path: Path) -> None:
    try:            # best effort: an unwritable cache only means the check is repeated next time
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    except OSError:
        pass


def probe_native(paths: list[Path]) -> None:
    """Parse each booster file, and predict one row with it, in a throwaway process; refuse the first
    that fails, crashes or hangs there, in one line naming it."""
    if not paths:
        return
    ctx = mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_probe_child, args=([str(p) for p in paths], send), daemon=True)
    child.start()
    send.close()
    current, failure = paths[0], None
    try:
        while receive.poll(PROBE_SECONDS):
            message = receive.recv()
            if message is None:
                break
            kind, value = message
            if kind == "parsing":
                current = Path(value)
            else:
                failure = value
                break
        else:
            failure = f"parsing it took over {PROBE_SECONDS} s"
    except EOFError:            # the child died: its last "parsing" message names the file
        child.join(5)
        code = child.exitcode
        how = f"signal {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit {code}"
        failure = f"the parser crashed ({how})"
    finally:
        if child.is_alive():
            child.kill()
        child.join(5)
        receive.close()
    if failure is not None:
        raise InputError(str(current), f"{NATIVE[current.name]} cannot read it: {failure}; refusing the model folder")


def _probe_child(paths: list[str], send) -> None:    # runs in the throwaway process
    try:
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (PROBE_MEMORY, PROBE_MEMORY))
    except (ImportError, ValueError, OSError):
        pass
    for path in paths:
        send.send(("parsing", path))
        try:
            _parse(NATIVE[Path(path).name], path)
        except Exception as exc:   # noqa: BLE001 - reported to the parent, which refuses the file
            send.send(("failed", first_line(exc)[:300]))
            return
    send.send(None)


def _parse(library: str, path: str) -> None:
    if library == "LightGBM":
        import lightgbm as lgb
        booster = lgb.Booster(model_file=path)
        booster.predict(np.zeros((2, booster.num_feature())))
    elif library == "XGBoost":
        import xgboost as xgb
        booster = xgb.Booster(model_file=path)
        booster.predict(xgb.DMatrix(np.zeros((2, booster.num_features()))))
    else:
        import pandas as pd
        from catboost import CatBoostRegressor, Pool
        model = CatBoostRegressor().load_model(path)
        cats = set(model.get_cat_feature_indices())
        row = pd.DataFrame([{name: ("" if i in cats else 0.0) for i, name in enumerate(model.feature_names_)}])
        model.predict(Pool(row, cat_features=sorted(cats)))
