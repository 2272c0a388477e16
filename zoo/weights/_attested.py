"""Trust on first use, the fetch: the Hub's attestation of a file (:mod:`zoo.weights._hub`),
then the bytes at the attested commit through :func:`zoo.weights._fetch.fetch`, verified
against the attested sha256 before they are cached. A module of its own so that the Hub
helpers (which the fetch uses to reach a Hub URL) do not import the fetch back.
"""

from __future__ import annotations

from zoo.errors import ZooFetchError, ZooIntegrityError, ZooOfflineError
from zoo.weights._fetch import fetch
from zoo.weights._hub import attest, hub_file, hub_offline
from zoo.weights._sources import SourceFailed, env_flag


def fetch_attested(weights, *, label: str, offline: bool | None = None, **fetch_kwargs):
    """First fetch of ``weights`` that pin no hash: the Hub's attestation of its file,
    then the bytes at the attested commit, verified against the attested sha256 before
    they are cached. Returns ``(FetchedFile, Attestation)``; pinning is the caller's.
    ``label`` names the weights in errors."""
    pin_hint = f"check the file yourself, then pin it: `zoo pin {label} --file PATH` or `zoo pin {label} --sha256 HEX`"
    hubs = [h for s in weights.sources if (h := hub_file(s.uri)) is not None]
    if not hubs:
        raise ZooIntegrityError(
            f"{label} pins no sha256 and none of its sources is a Hugging Face Hub file that "
            "attests one; zoo loads only verified bytes",
            hint=pin_hint,
        )
    offline = env_flag("ZOO_OFFLINE") if offline is None else bool(offline)
    if offline or hub_offline():
        raise ZooOfflineError(
            f"offline mode (ZOO_OFFLINE or HF_HUB_OFFLINE): {label} pins no sha256, and its first "
            "fetch needs the Hub's attestation of the file",
            [(hubs[0].url(), "not asked: offline")],
            hint="go online once (the sha256 and commit get pinned), or " + pin_hint,
        )
    failures: list[tuple[str, str]] = []
    for hub in dict.fromkeys((h.repo, h.path) for h in hubs):
        first = next(h for h in hubs if (h.repo, h.path) == hub)
        try:
            att = attest(first, timeout=fetch_kwargs.get("timeout", 30.0))
        except SourceFailed as exc:
            failures.append((first.url(), exc.reason))
            continue
        if att.sha256 is None:
            failures.append((att.url, "attests no sha256 (no X-Linked-Etag: not a file kept in LFS)"))
            continue
        if weights.size_bytes is not None and att.size is not None and att.size != weights.size_bytes:
            raise ZooIntegrityError(
                f"{att.url} attests {att.size:,} bytes, the record {weights.size_bytes:,}; "
                "nothing was fetched or pinned",
                hint=pin_hint,
            )
        uris = [h.at(att.commit) for h in hubs if (h.repo, h.path) == hub]
        fetched = fetch(
            uris, sha256=att.sha256, size=weights.size_bytes, format=weights.format, offline=False, **fetch_kwargs
        )
        return fetched, att
    if failures and all(not r.startswith("attests") for _, r in failures):
        raise ZooFetchError(
            f"cannot reach the Hub to learn the sha256 of {label} (it pins none):",
            failures,
            hint="check the network or HF_ENDPOINT; or " + pin_hint,
        )
    raise ZooIntegrityError(
        f"no source of {label} attests a sha256:" + "".join(f"\n  - {u}: {r}" for u, r in failures), hint=pin_hint
    )
