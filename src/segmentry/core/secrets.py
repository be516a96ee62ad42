"""The workspace's ``secrets`` file (mode 0600): tokens and passwords that never go into
``segmentry.toml``. A secret is read from its environment variable first, then from the file.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = save_secret(folder, "smtp_password", "s3cret")
>>> load_secret(folder, "smtp_password", "NO_SUCH_VARIABLE")
's3cret'
>>> oct((folder / SECRETS_FILE).stat().st_mode & 0o777)
'0o600'
"""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

import tomli_w

from segmentry.core.errors import ConfigError

__all__ = ["SECRETS_FILE", "load_secret", "save_secret"]

SECRETS_FILE = "secrets"


def save_secret(folder: Path, name: str, value: str) -> Path:
    """Store a secret in the workspace's ``secrets`` file (created with mode 0600)."""
    path = folder / SECRETS_FILE
    values = _read(path) if path.exists() else {}
    values[name] = value
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(tomli_w.dumps(values))
    path.chmod(0o600)
    return path


def load_secret(folder: Path, name: str, env: str | None = None) -> str | None:
    """A secret from the environment variable ``env``, else from the ``secrets`` file."""
    if env and os.environ.get(env):
        return os.environ[env]
    path = folder / SECRETS_FILE
    if not path.exists():
        return None
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            "{path} can be read by other users; segmentry will not use the secrets in it.",
            code="secrets_permissions",
            params={"path": str(path)},
        )
    value = _read(path).get(name)
    return str(value) if value else None


def _read(path: Path) -> dict[str, str]:
    try:
        return {k: str(v) for k, v in tomllib.loads(path.read_text(encoding="utf-8")).items()}
    except tomllib.TOMLDecodeError as e:
        raise ConfigError("{path} is not valid TOML: {problem}", code="secrets",
                          params={"path": str(path), "problem": str(e)}) from e
