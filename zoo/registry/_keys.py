"""The audit trail's HMAC keys, kept outside the database (no SQLAlchemy import: the
CLI's fast path verifies with them too).

A keyring is a list of keys, newest first: the first signs new events and checkpoints,
every key verifies (so events signed before a rotation still verify). Each event stores
the id of the key that signed it (``key_id``, a digest of the key, never the key).

Where the keys come from, first match wins:

- ``ZOO_AUDIT_KEY``: the keys themselves (hex, separated by spaces or commas);
- ``ZOO_AUDIT_KEY_FILE``: a file of keys, one per line (``#`` comments);
- ``$ZOO_HOME/audit.key``.

A key file that group or others may read is refused, as ssh refuses a private key.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import re
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from zoo.errors import ZooAuditError

KEY_ENV = "ZOO_AUDIT_KEY"
KEY_FILE_ENV = "ZOO_AUDIT_KEY_FILE"
KEY_FILE_NAME = "audit.key"
_MIN_KEY_BYTES = 16
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_ROTATE_HINT = "`zoo audit rotate-key` puts a new key first; keep the old ones below it"


@functools.lru_cache(maxsize=64)  # computed for every event hashed
def key_id(key: bytes) -> str:
    """A public name for ``key`` (16 hex digits): says which key signed an event."""
    return hashlib.sha256(b"zoo-audit-key-id:" + key).hexdigest()[:16]


def sign(key: bytes, message: str) -> str:
    return hmac.digest(key, message.encode("utf-8"), "sha256").hex()  # the one-shot C path


@dataclass(frozen=True)
class AuditKeyring:
    """Keys newest first; ``source`` says where they came from (for messages)."""

    keys: tuple[bytes, ...]
    source: str

    @property
    def current_id(self) -> str:
        return key_id(self.keys[0])

    @property
    def current(self) -> bytes:
        return self.keys[0]

    @functools.cached_property
    def _by_id(self) -> dict[str, bytes]:
        return {key_id(k): k for k in reversed(self.keys)}  # the newest wins a (theoretical) clash

    def get(self, kid: str | None) -> bytes | None:
        return self._by_id.get(kid) if kid is not None else None

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(key_id(k) for k in self.keys)


def _parse(text: str, source: str) -> tuple[bytes, ...]:
    keys = []
    for number, line in enumerate(text.splitlines(), 1):
        for item in re.split(r"[\s,]+", line.split("#", 1)[0].strip()):
            if not item:
                continue
            if not _HEX.match(item) or len(item) % 2 or len(item) < 2 * _MIN_KEY_BYTES:
                raise ZooAuditError(
                    f"{source}, line {number}: an audit key is at least {2 * _MIN_KEY_BYTES} "
                    "hex digits (an even number)",
                    hint="generate one with `python -c 'import secrets; print(secrets.token_hex(32))'`",
                )
            keys.append(bytes.fromhex(item))
    if not keys:
        raise ZooAuditError(f"{source} holds no audit key", hint=_ROTATE_HINT)
    return tuple(keys)


def key_file_path() -> Path:
    """Where the key file is (whether or not it exists)."""
    if path := os.environ.get(KEY_FILE_ENV):
        return Path(path).expanduser()
    from zoo.registry._location import zoo_home

    return zoo_home() / KEY_FILE_NAME


def _read_file(path: Path) -> tuple[bytes, ...]:
    try:
        mode = path.stat().st_mode
        if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ZooAuditError(
                f"audit key file {path} may be read by others (mode {stat.filemode(mode)})", hint=f"chmod 600 {path}"
            )
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ZooAuditError(
            f"cannot read audit key file {path}: {exc.strerror or exc}",
            hint=f"check {path}, or point {KEY_FILE_ENV} at the key file",
        ) from None
    return _parse(text, f"audit key file {path}")


def _write_new(path: Path, text: str, *, replace: bool) -> None:
    # Written whole to a private temporary file, then linked into place: a reader never
    # sees a partial key file, and two first writers do not both create one.
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another process created it first: use theirs
    finally:
        tmp.unlink(missing_ok=True)


def load_keyring(*, create: bool = False) -> AuditKeyring | None:
    """The configured keyring; ``None`` when there is none and ``create`` is false. With
    ``create`` (a write), a missing default key file is made with a fresh random key."""
    if text := os.environ.get(KEY_ENV, "").strip():
        return AuditKeyring(_parse(text, KEY_ENV), KEY_ENV)
    path = key_file_path()
    if not path.exists():
        if not create:
            if os.environ.get(KEY_FILE_ENV):
                raise ZooAuditError(
                    f"{KEY_FILE_ENV} names {path}, which does not exist",
                    hint="restore the key file, or unset the variable",
                )
            return None
        _write_new(
            path, "# zoo audit keys, newest first (see docs/schema.md)\n" + secrets.token_hex(32) + "\n", replace=False
        )
    return AuditKeyring(_read_file(path), str(path))


def rotate_key() -> tuple[str, Path]:
    """Put a fresh key first in the key file (the old keys stay, to verify old events);
    returns the new key's id and the file."""
    if os.environ.get(KEY_ENV, "").strip():
        raise ZooAuditError(
            f"the audit keys come from {KEY_ENV}", hint=f"put a new key first in {KEY_ENV} (keep the old ones after it)"
        )
    path = key_file_path()
    old = _read_file(path) if path.exists() else ()
    new = secrets.token_bytes(32)
    lines = ["# zoo audit keys, newest first (see docs/schema.md)", new.hex(), *(k.hex() for k in old)]
    _write_new(path, "\n".join(lines) + "\n", replace=True)
    return key_id(new), path
