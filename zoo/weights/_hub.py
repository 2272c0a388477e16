"""Trust on first use from the Hugging Face Hub's attestation.

The Hub answers ``HEAD {endpoint}/{repo}/resolve/{revision}/{file}`` of a file kept in
LFS with the file's sha256 (``X-Linked-Etag``), its size (``X-Linked-Size``) and the
commit the revision points to (``X-Repo-Commit``), and redirects the bytes elsewhere
(a CDN). For a record that pins no hash, zoo asks for that attestation, fetches the
bytes *at that commit* and verifies them against the attested sha256 before anything is
cached; the caller then pins both in the registry. Later fetches ask for the pinned
commit, so a branch that moved is not followed.

Two source forms are Hub files: ``hf://ORG/REPO[@REVISION]/PATH`` and
``https://huggingface.co/ORG/REPO/resolve/REVISION/PATH`` (or the same under
``$HF_ENDPOINT``). ``HF_ENDPOINT`` replaces the host for both, ``HF_TOKEN`` is sent to
that endpoint only (never along a redirect to another host), ``HF_HUB_OFFLINE`` (like
``ZOO_OFFLINE``) opens no connection. Standard library only: no huggingface_hub import.
"""

from __future__ import annotations

import os
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from zoo.errors import ZooFetchError, ZooIntegrityError
from zoo.weights._sources import SourceFailed, env_flag

HUB = "https://huggingface.co"
_PART = r"[A-Za-z0-9][A-Za-z0-9_.\-]*"
_HF_URI = re.compile(rf"^hf://(?P<repo>{_PART}/{_PART})(?:@(?P<rev>[^/]+))?/(?P<path>[^?#]+)$")
_RESOLVE = re.compile(rf"^/(?P<repo>{_PART}/{_PART})/resolve/(?P<rev>[^/]+)/(?P<path>[^?#]+)$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
COMMIT = re.compile(r"^[0-9a-f]{40}$")


def endpoint() -> str:
    """``$HF_ENDPOINT`` (an internal mirror of the Hub), else the Hub."""
    return (os.environ.get("HF_ENDPOINT") or HUB).rstrip("/")


def hub_offline() -> bool:
    return env_flag("HF_HUB_OFFLINE")


@dataclass(frozen=True)
class HubFile:
    """A file of a Hub repository as a record names it: ``kind`` is ``hf`` or ``https``."""

    kind: str
    repo: str
    revision: str
    path: str

    def url(self, revision: str | None = None) -> str:
        """Its resolve URL under the current endpoint."""
        rev = urllib.parse.quote(revision or self.revision, safe="")
        return f"{endpoint()}/{self.repo}/resolve/{rev}/{self.path}"

    def at(self, commit: str) -> str:
        """The source URI of the same file pinned to ``commit`` (same form as declared)."""
        if self.kind == "hf":
            return f"hf://{self.repo}@{commit}/{self.path}"
        return f"{HUB}/{self.repo}/resolve/{commit}/{self.path}"


def hub_file(uri: str) -> HubFile | None:
    """The Hub file ``uri`` names, or None when it is not a Hub source."""
    if uri.startswith("hf://"):
        m = _HF_URI.match(uri)
        if not m or ".." in m.group("path").split("/"):
            return None
        return HubFile("hf", m.group("repo"), urllib.parse.unquote(m.group("rev") or "main"), m.group("path"))
    for base in dict.fromkeys((HUB, endpoint())):
        if uri.startswith(base + "/"):
            m = _RESOLVE.match(uri[len(base) :])
            if m and ".." not in m.group("path").split("/"):
                return HubFile("https", m.group("repo"), urllib.parse.unquote(m.group("rev")), m.group("path"))
    return None


def download_target(uri: str) -> tuple[str, dict[str, str]]:
    """Where zoo's HTTP fetcher gets ``uri``: a Hub URL moves to ``$HF_ENDPOINT``, with
    ``HF_TOKEN`` as a header that is not repeated along redirects."""
    hub = hub_file(uri)
    if hub is None or hub.kind != "https":
        return uri, {}
    return hub.url(), _auth()


def _auth() -> dict[str, str]:
    token = os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN")
    return {"Authorization": f"Bearer {token}"} if token else {}


@dataclass(frozen=True)
class Attestation:
    """What the Hub says about one file: ``sha256`` is None when it attests no hash
    (a file outside LFS, or a server that is not the Hub)."""

    url: str
    sha256: str | None
    commit: str | None
    size: int | None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # the 3xx itself carries the headers
        return None


def attest(hub: HubFile, *, timeout: float = 30.0) -> Attestation:
    """HEAD the file's resolve URL (not following the redirect). Raises
    :class:`SourceFailed` when the Hub cannot be reached, :class:`ZooFetchError` when it
    refuses (401/403/404), :class:`ZooIntegrityError` when what it attests is malformed."""
    from zoo.weights._http import _user_agent

    url = hub.url()
    request = urllib.request.Request(
        url, method="HEAD", headers={"User-Agent": _user_agent(), "Accept-Encoding": "identity"}
    )
    for key, value in _auth().items():
        request.add_unredirected_header(key, value)
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=timeout) as response:
            headers = response.headers
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code in (301, 302, 303, 307, 308):
            headers = exc.headers
        elif exc.code in (401, 403):
            raise ZooFetchError(
                f"the Hub refuses {url}: HTTP {exc.code}",
                hint="a gated or private repository: accept its terms on the Hub and set "
                "HF_TOKEN to a token that may read it",
            ) from None
        elif exc.code == 404:
            raise ZooFetchError(
                f"the Hub has no {hub.path} in {hub.repo} at revision {hub.revision} ({url})",
                hint="check the record's source, or fetch the file yourself and pin it with `zoo pin NAME --file PATH`",
            ) from None
        else:
            raise SourceFailed(f"HTTP {exc.code} {exc.reason} for HEAD {url}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise SourceFailed(f"cannot connect to {endpoint()}: {getattr(exc, 'reason', exc)}") from None
    linked = headers.get("X-Linked-Etag")
    commit = headers.get("X-Repo-Commit")
    size = headers.get("X-Linked-Size") or headers.get("Content-Length")
    if linked is None:
        return Attestation(url, None, commit, None)
    sha = linked.strip().removeprefix("W/").strip('"').lower()
    if not SHA256.match(sha):
        raise ZooIntegrityError(
            f"{url} attests {linked!r} as the file's hash, which is not a sha256 (64 hex digits); nothing was "
            "fetched or pinned",
            hint="the endpoint does not speak the Hub's protocol (check HF_ENDPOINT); fetch the file another way "
            "and pin it with `zoo pin NAME --file PATH`",
        )
    if commit is None or not COMMIT.match(commit.strip().lower()):
        raise ZooIntegrityError(
            f"{url} attests sha256 {sha} but names no commit (X-Repo-Commit {commit!r}); zoo pins the bytes "
            "and the commit together, so nothing was fetched or pinned",
            hint="check HF_ENDPOINT, or pin the file yourself: `zoo pin NAME --sha256 HEX`",
        )
    return Attestation(url, sha, commit.strip().lower(), int(size) if size and size.isdigit() else None)


def pinned_sources(sources: tuple, commit: str) -> tuple:
    """``sources`` with every Hub file asked for at ``commit`` (a moved branch is not followed)."""
    from dataclasses import replace

    return tuple(replace(s, uri=h.at(commit)) if (h := hub_file(s.uri)) is not None else s for s in sources)


def moved(weights, commit: str, *, timeout: float = 10.0) -> tuple[str, str] | None:
    """``(revision, new commit)`` when a Hub source's declared revision now points
    elsewhere than ``commit``; None when it does not, or the Hub cannot say."""
    for hub in (h for s in weights.sources if (h := hub_file(s.uri)) is not None):
        if COMMIT.match(hub.revision):
            continue  # the record itself names a commit: nothing can move
        try:
            att = attest(hub, timeout=timeout)
        except (SourceFailed, ZooFetchError, ZooIntegrityError):
            continue
        if att.commit and att.commit != commit:
            return hub.revision, att.commit
    return None
