"""Typed errors. Every failure a user can cause is a ``ZooError`` that says what is
wrong and what to do about it (``hint``)."""

from __future__ import annotations

from collections.abc import Sequence


class ZooError(Exception):
    """Base class of every error zoo raises on purpose."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message if not hint else f"{message}\n  hint: {hint}")


class ZooValidationError(ZooError, ValueError):
    """A record or argument is malformed; ``field`` names the offending field."""

    def __init__(self, field: str, message: str, *, hint: str | None = None) -> None:
        self.field = field
        super().__init__(f"{field}: {message}", hint=hint)


class ZooNotFoundError(ZooError, LookupError):
    """A name does not resolve; ``suggestions`` holds the closest known names."""

    def __init__(self, kind: str, name: str, suggestions: Sequence[str] = (), *, hint: str | None = None) -> None:
        self.kind = kind
        self.name = name
        self.suggestions = tuple(suggestions)
        message = f"unknown {kind} {name!r}"
        if self.suggestions:
            message += "; did you mean " + ", ".join(repr(s) for s in self.suggestions) + "?"
        super().__init__(message, hint=hint or f"`zoo list` shows the known {kind}s")


class ZooConflictError(ZooError):
    """The change collides with what the registry already holds (a duplicate, a cycle)."""

    def __init__(self, field: str, message: str, *, hint: str | None = None) -> None:
        self.field = field
        super().__init__(f"{field}: {message}", hint=hint)


class ZooRegistryError(ZooError):
    """The registry database cannot be used: not a zoo database, a newer schema,
    unreachable, or its audit trail does not verify."""


class ZooAuditError(ZooRegistryError):
    """The audit trail's hash chain is broken: an event was edited, removed or inserted."""


class ZooPluginError(ZooError):
    """A plugin failed to load, raised in a hook, or returned a malformed record."""


class ZooPolicyError(ZooError):
    """A registry policy refuses the requested use of a record."""


class ZooFetchError(ZooError):
    """No source delivered a checkpoint. ``failures`` holds one ``(uri, reason)`` pair per
    source tried, in the order they were tried."""

    def __init__(self, message: str, failures: Sequence[tuple[str, str]] = (), *, hint: str | None = None) -> None:
        self.failures = tuple(failures)
        if self.failures:
            message += "".join(f"\n  - {uri}: {reason}" for uri, reason in self.failures)
        super().__init__(message, hint=hint)


class ZooOfflineError(ZooFetchError):
    """Offline mode (``ZOO_OFFLINE=1``) and the checkpoint is not in the cache; the message
    names the file, its sha256, where to get it and how to place it."""


class ZooStoreError(ZooError):
    """A weight store (an object store such as ``s3://bucket/prefix``) cannot receive or
    serve an object: an unknown protocol or one whose library is not installed, a store
    URL without a bucket, a missing bucket, refused credentials, a store that keeps
    failing after retries, or an upload that did not verify. Nothing was registered."""


class ZooIntegrityError(ZooError):
    """A checkpoint's bytes are not the ones pinned (sha256 mismatch, truncated or
    corrupted cache file). The file is moved to quarantine and never loaded;
    ``quarantined`` lists where it went."""

    def __init__(self, message: str, quarantined: Sequence[str] = (), *, hint: str | None = None) -> None:
        self.quarantined = tuple(str(p) for p in quarantined if p is not None)
        super().__init__(message, hint=hint)


class ZooFormatError(ZooError):
    """A checkpoint is in no format zoo opens (safetensors, or a torch pickle opened with
    ``weights_only=True``), or is malformed. ``quarantined`` lists where a refused cached
    file was moved."""

    quarantined: tuple[str, ...] = ()


class ZooUnsafeCheckpointError(ZooFormatError):
    """A pickle checkpoint references code or objects outside torch's ``weights_only``
    allow-list; it was refused without executing anything."""


class ZooLoadError(ZooError):
    """A checkpoint's state dict does not fit the architecture it is loaded into:
    ``missing`` (the model has, the checkpoint lacks), ``unexpected`` (the checkpoint
    has, the model lacks) and ``mismatched`` (``(key, checkpoint shape, model shape)``)
    name the keys; the head is exempt (it is adapted, not loaded strictly)."""

    def __init__(
        self,
        message: str,
        *,
        missing: Sequence[str] = (),
        unexpected: Sequence[str] = (),
        mismatched: Sequence[tuple[str, tuple[int, ...], tuple[int, ...]]] = (),
        hint: str | None = None,
    ) -> None:
        self.missing = tuple(missing)
        self.unexpected = tuple(unexpected)
        self.mismatched = tuple(mismatched)
        super().__init__(message, hint=hint)


class ZooCatalogueError(ZooError):
    """The browsable catalogue (``zoo catalogue build`` / ``serve``) cannot be written or
    served: the target directory holds files that are not a zoo catalogue, an earlier
    catalogue is there and ``force`` was not given, the port is taken. Nothing was
    written, and an earlier catalogue is left as it was."""


class ZooRevisionMovedWarning(UserWarning):
    """Weights pinned to a commit of their Hub repository were fetched at that commit, but
    the revision their record names (e.g. ``main``) now points to another commit: zoo
    loaded the pinned bytes and did not follow the move (the message names both commits)."""


class ZooDeprecationWarning(UserWarning):
    """Deprecated weights were loaded: they still work, but the registry recommends a
    replacement (the message carries the reason)."""


class ZooQueryError(ZooError):
    """A read-only SQL statement (``zoo sql``) failed: a syntax error, an unknown table
    or column, a missing parameter, more than one statement. Nothing was written."""


class ZooReadOnlyError(ZooQueryError):
    """A statement given to ``zoo sql`` tried to change the registry; the database
    session (read-only) refused it, and nothing was written."""


class ZooQueryTimeoutError(ZooQueryError):
    """A read-only SQL statement ran past its time limit and was cancelled."""


class ZooCardError(ZooValidationError):
    """A model card cannot be read: malformed YAML front matter, a metadata field of the
    wrong type, not UTF-8. ``card`` names the card (its path or source); ``field`` is
    ``"card"``."""

    def __init__(self, card: str | None, message: str, *, hint: str | None = None) -> None:
        self.card = card
        self.detail = message
        super().__init__("card", f"{card}: {message}" if card else message, hint=hint)


class ZooRecipeError(ZooError):
    """A fine-tuning recipe cannot run on this model: it needs something the model does
    not have (a layer structure for ``llrd`` / ``freeze-stages``, a module type for
    ``lora``), or its runner does not implement the runner protocol."""


class ZooCompressError(ZooError):
    """A deployment method (``zoo.compress``) cannot be applied to this model: an op or
    layer the method does not support (the message names both), missing calibration or
    training data, a model that cannot be traced or exported. Nothing was registered."""


class ZooTransferError(ZooValidationError):
    """``zoo.rank`` / ``zoo.advise`` / ``zoo.drift`` cannot run on this data: a candidate
    whose modality does not fit the data, too few labelled examples per class for a
    score (the message says how many it needs), labels outside ``num_classes``, data
    without labels, a model registered without a drift reference. Nothing was stored."""
