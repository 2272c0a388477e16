"""The plugin contract. Every hook a plugin may implement is specified here.

A plugin is a pip distribution with ONE entry point in group ``zoo`` naming a module
(or object) that carries ``@zoo.hookspecs.hookimpl`` functions. Hooks that declare
records return typed, frozen records from :mod:`zoo.records`; they must be cheap and
must not import torch or a model library (the host calls them when listing plugins
and when syncing the registry). Heavy imports belong in the functions that the
records name by import string (builders, key adapters, stores, recipe runners), which
run only when a model is built, fetched or trained.

docs/plugins.md documents each hook; a test checks that none is missing there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Sequence

    from zoo.records import (
        AuditEvent,
        Compressor,
        Dataset,
        Family,
        KeyAdapter,
        PolicyDecision,
        Recipe,
        TransferMethod,
        Weights,
        WeightsInfo,
        WeightStore,
    )

PROJECT = "zoo"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def zoo_families() -> Sequence[Family]:
    """Declare model families (architectures) this plugin can build.

    Return a sequence of :class:`zoo.records.Family`. Each names its builder by import
    string (``"package.module:function"``, called with ``builder_kwargs``) so that
    nothing heavy is imported until the family is built. A family name the registry
    holds belongs to its registered owner; one claimed by two installed plugins is
    refused for both, each told the other's name (docs/plugins.md, "Who owns a name").
    """


@hookspec
def zoo_weights() -> Sequence[Weights]:
    """Declare pretrained checkpoints (:class:`zoo.records.Weights`, named ``arch.tag``).

    A plugin may declare checkpoints for another plugin's family. Records carry
    provenance: sources, sha256 (or the upstream hash prefix), licence, datasets,
    metrics, paper, recipe and card sections (bias and limitation notes). They reach
    the registry through an idempotent, audited sync.
    """


@hookspec
def zoo_datasets() -> Sequence[Dataset]:
    """Declare datasets (:class:`zoo.records.Dataset`) as facts of their own: URL, terms
    of use (licence and commercial use), size, how they were collected, and their bias
    and limitation notes with references and severity.

    Weights name datasets by ``DatasetUse(name, role)``; a dataset's notes and terms
    then apply to every weights trained on it, directly or through a parent, without
    being copied into each record. zoo itself declares the common ones (ImageNet, the
    web-scale image sets, the text corpora: see ``zoo.known_datasets``); a dataset name
    claimed by two plugins is an error naming both. Synced (and audited) before weights.
    """


@hookspec(firstresult=True)
def zoo_build(family: Family, pretrained: bool, num_classes: int | None) -> Any:
    """Build the architecture of ``family`` and return an ``nn.Module`` (or ``None`` to
    let the next implementation try).

    Called on the ``meta`` device when pretrained weights will be loaded, so the
    backbone is never randomly initialised. The core's default (``trylast``) imports
    ``family.builder`` and calls it with ``family.builder_kwargs``.
    """


@hookspec(firstresult=True)
def zoo_adapt_head(model: Any, family: Family, num_classes: int) -> Any:
    """Replace the classification head of ``model`` for ``num_classes`` outputs
    (``0``: remove it, the model returns pooled features). Return the adapted model,
    or ``None`` to let the next implementation try.

    The core's default (``trylast``) swaps the ``nn.Linear`` found at ``family.head``.
    """


@hookspec(firstresult=True)
def zoo_preprocessor(family: Family, weights: Weights | None) -> Any:
    """Return the input preprocessing that matches ``weights`` (a checkpoint of
    ``family``; ``None`` when the architecture is used without weights): an image
    transform for vision families, a tokenizer for text backbones. Return ``None`` to
    let the next implementation try (e.g. for a modality this plugin does not serve).

    Read the parameters from ``weights.preprocessing`` over ``family.preprocessing``;
    import the library that builds the transform inside the hook (it is called by
    ``zoo.preprocess``, never when plugins are listed).
    """


@hookspec
def zoo_key_adapters() -> Sequence[KeyAdapter]:
    """Declare state-dict key adapters (:class:`zoo.records.KeyAdapter`) for
    checkpoints saved under names other than the architecture's own, e.g. the
    ``_blocks.N._depthwise_conv`` naming of a non-timm EfficientNet checkpoint.
    """


@hookspec
def zoo_recipes() -> Sequence[Recipe]:
    """Declare fine-tuning recipes (:class:`zoo.records.Recipe`): a name, when to use
    it, the runner's import string and its hyper-parameters' defaults. A recipe name
    claimed by two plugins is refused for both.
    """


@hookspec
def zoo_compressors() -> Sequence[Compressor]:
    """Declare deployment methods (:class:`zoo.records.Compressor`) for ``zoo.compress``:
    a name, the relation its results get (quantize, prune, distill, export), the runner's
    import string and its options' defaults. The runner compresses a model and rebuilds
    the compressed structure when ``zoo.get`` loads a registered result (protocol in
    :mod:`zoo.compress` and docs/plugins.md). A method name claimed by two plugins is an
    error naming both.
    """


@hookspec
def zoo_transfer_methods() -> Sequence[TransferMethod]:
    """Declare transferability scores and drift tests (:class:`zoo.records.TransferMethod`)
    for ``zoo.rank``, ``zoo.advise`` and ``zoo.drift``: a name, its kind (``score`` or
    ``drift``), the function's import string, whether higher is better, how many
    examples per class it needs and whether it reads the source head's predictions.
    The core extracts and caches the features and calls the functions by name; it names
    no method itself. A method name claimed by two plugins is refused for both.
    """


@hookspec
def zoo_weight_stores() -> Sequence[WeightStore]:
    """Declare weight stores (:class:`zoo.records.WeightStore`) that fetch checkpoints
    for a URI scheme, e.g. ``acme-artifacts://``. A scheme claimed by two plugins is
    refused for both; built-in schemes (``file``, ``http``, ``https``, ``pkg``) cannot be
    replaced. A store that raises ``ZooError(message, hint=...)`` is reported with its
    own hint.

    A store with an ``uploader`` can also *receive* objects and so be the team's default
    store (``ZOO_STORE=s3://bucket/prefix`` or ``zoo store set``), which receives what
    ``register_as`` and ``zoo.compress(..., register_as=...)`` produce:
    ``open_uploader(store_url)`` checks the URL without touching the network, then
    ``put(path, *, sha256, size, progress) -> uri`` stores the file content-addressed by
    its sha256 and returns only once the object is complete under its final key and
    verified; the registry row is written after it returns, never before. Failures are
    ``ZooError`` subclasses (usually ``ZooStoreError``) with a hint; nothing is then
    registered. docs/plugins.md has the full protocol.
    """


@hookspec
def zoo_policy_check(record: WeightsInfo, purpose: str) -> PolicyDecision | None:
    """Decide whether ``record`` may be used for ``purpose``: ``"get"`` (``zoo.get``),
    ``"finetune"`` (``zoo.finetune``, before training), or a team's own word such as
    ``"production"`` or ``"export"``. Return a :class:`zoo.records.PolicyDecision` with
    ``allowed=False`` to refuse (the user gets a ``ZooPolicyError`` naming the rule),
    or ``None`` to have no opinion (e.g. for a purpose you do not know).
    """


@hookspec
def zoo_audit_event(event: AuditEvent) -> None:
    """Observe an audit event after the change it records was committed (to forward it
    to a SIEM, a chat channel, ...): every committed event, whoever wrote it, once. An
    observer that raises is reported and ignored: it can neither block nor undo the
    change.
    """
