"""Object stores through fsspec: fetch a checkpoint, and receive new weights.

``s3://`` (and ``s3a://``) go through s3fs with S3's own multipart upload, so that an
upload is sent in parts, resumes where a cut one stopped (the pending upload and its
parts are found by key; each part's MD5 is checked before it is reused), and the object
exists under its final key only once S3 completes it. Every other fsspec protocol is
written to a temporary key, verified, then moved to its final key.

Objects are content-addressed: ``PREFIX/sha256/ab/SHA256.safetensors``. After an upload
(or when the object is already there) the store re-reads it and checks its size and
sha256 before :func:`zoo.weights._publish.publish` lets the registry row be written.

Credentials and endpoints are the standard AWS ones, read by botocore: the environment
(``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_PROFILE``,
``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_S3``, ``AWS_MAX_ATTEMPTS``, ``AWS_RETRY_MODE``)
and the files ``~/.aws/config`` / ``~/.aws/credentials`` (``AWS_CONFIG_FILE``,
``AWS_SHARED_CREDENTIALS_FILE``). 5xx answers, throttling and dropped connections are
retried by botocore's ``standard`` retry mode (5 attempts unless ``AWS_MAX_ATTEMPTS``).
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zoo.errors import ZooStoreError
from zoo_fsspec.plugin import protocols

Progress = Callable[[int, int | None], None] | None

MIN_PART = 5 * 1024 * 1024  # S3's smallest part (all but the last)
DEFAULT_PART = 16 * 1024 * 1024
MAX_PARTS = 10_000
READ_CHUNK = 8 * 1024 * 1024
PART_SIZE_ENV = "ZOO_STORE_PART_SIZE"
S3_PROTOCOLS = ("s3", "s3a")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_URI = re.compile(r"^([a-z][a-z0-9+.\-]*)://([^/?#]+)/([^?#]+)$")

# What each S3 error code means for the user (message, hint); the rest are reported as they are.
_CREDENTIALS = (
    "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE with ~/.aws/credentials), "
    "and check that AWS_ENDPOINT_URL points at the right S3 service"
)
_S3_ERRORS = {
    "NoSuchBucket": (
        "bucket {bucket!r} does not exist at {endpoint}",
        "create it (e.g. `aws s3 mb s3://{bucket}`) or fix ZOO_STORE",
    ),
    "InvalidAccessKeyId": ("the S3 service at {endpoint} refused the access key: it does not exist", _CREDENTIALS),
    "SignatureDoesNotMatch": (
        "the S3 service at {endpoint} refused the credentials: the secret key does not match",
        _CREDENTIALS,
    ),
    "InvalidToken": ("the S3 service at {endpoint} refused the session token", _CREDENTIALS),
    "ExpiredToken": ("the AWS session token has expired", "renew it (e.g. `aws sso login`) and try again"),
    "AccessDenied": (
        "access to s3://{bucket} was denied at {endpoint}",
        "ask for s3:ListBucket, s3:GetObject, s3:PutObject and s3:ListBucketMultipartUploads on the store",
    ),
}
_TRANSIENT = (
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalError",
    "ServiceUnavailable",
    "503",
    "500",
    "502",
    "504",
)


# -- URLs ----------------------------------------------------------------------------------


def _package(protocol: str) -> str | None:
    return protocols().get(protocol)


def _require(protocol: str) -> None:
    """The library behind ``protocol`` is installed (checked without importing it)."""
    package = _package(protocol)
    if protocol not in protocols():
        raise ZooStoreError(f"zoo-fsspec does not serve {protocol}://", hint="set ZOO_FSSPEC_PROTOCOLS to add it")
    module = package or "fsspec"
    if importlib.util.find_spec(module.replace("-", "_")) is None:
        raise ZooStoreError(
            f"{protocol}:// needs the package {module}, which is not installed",
            hint=f"pip install {module}",
        )


def _split(uri: str) -> tuple[str, str, str]:
    """``proto://bucket/key`` -> (proto, bucket, key)."""
    m = _URI.match(uri) if isinstance(uri, str) else None
    if m is None or any(p in ("", ".", "..") for p in m.group(3).split("/")):
        raise ZooStoreError(f"{uri!r} does not name an object", hint="write PROTOCOL://BUCKET/PATH/TO/OBJECT")
    return m.group(1), m.group(2), m.group(3)


def part_size() -> int:
    raw = os.environ.get(PART_SIZE_ENV, "").strip()
    if not raw:
        return DEFAULT_PART
    m = re.fullmatch(r"(\d+)\s*(|b|k|kb|kib|m|mb|mib|g|gb|gib)", raw.lower())
    if m is None:
        raise ZooStoreError(f"{PART_SIZE_ENV}={raw!r} is not a size", hint=f"e.g. {PART_SIZE_ENV}=16MiB")
    scale = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20}
    size = int(m.group(1)) * scale.get(m.group(2), 1 << 30)
    if size < MIN_PART:
        raise ZooStoreError(
            f"{PART_SIZE_ENV}={raw!r} is below S3's 5 MiB part minimum", hint=f"{PART_SIZE_ENV}=5MiB or more"
        )
    return size


# -- the filesystems -------------------------------------------------------------------------


def _s3(protocol: str) -> Any:
    """A fresh s3fs filesystem (no instance cache: credentials and endpoints are read from
    the environment and the AWS files each time). Retries are botocore's ``standard``
    mode, once, not s3fs's loop on top of it."""
    _require(protocol)
    import s3fs

    attempts = os.environ.get("AWS_MAX_ATTEMPTS", "").strip()
    retries = {
        "mode": os.environ.get("AWS_RETRY_MODE", "standard"),
        "total_max_attempts": int(attempts) if attempts.isdigit() else 5,
    }
    fs = s3fs.S3FileSystem(
        skip_instance_cache=True,
        config_kwargs={"retries": retries, "connect_timeout": 10, "read_timeout": 60},
    )
    fs.retries = 1  # s3fs's own retry loop off: botocore's standard mode already retries
    return fs


def _generic(protocol: str) -> Any:
    _require(protocol)
    import fsspec

    try:
        return fsspec.filesystem(protocol, skip_instance_cache=True)
    except (ImportError, ValueError) as exc:
        raise ZooStoreError(
            f"fsspec cannot open {protocol}://: {exc}",
            hint=f"pip install {_package(protocol) or 'the library for ' + protocol}",
        ) from None


def _endpoint(fs: Any) -> str:
    try:
        return str(fs.s3.meta.endpoint_url)
    except Exception:  # noqa: BLE001 - only for the message
        return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or "AWS S3"


def _store_error(exc: BaseException, fs: Any, bucket: str, doing: str) -> ZooStoreError:
    """An S3 / botocore failure -> a ZooStoreError that says what to do."""
    if isinstance(exc, ZooStoreError):
        return exc
    from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError, NoCredentialsError

    kinds = (ClientError, NoCredentialsError, EndpointConnectionError, ConnectionClosedError)
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, kinds):
        cause = cause.__cause__ or cause.__context__
    endpoint = _endpoint(fs) if fs is not None else "AWS S3"
    if isinstance(cause, NoCredentialsError):
        return ZooStoreError(f"{doing}: no AWS credentials were found", hint=_CREDENTIALS)
    if isinstance(cause, EndpointConnectionError):
        return ZooStoreError(
            f"{doing}: cannot reach the S3 service at {endpoint}",
            hint="check AWS_ENDPOINT_URL (or ~/.aws/config's endpoint_url) and the network; nothing was registered",
        )
    if isinstance(cause, ConnectionClosedError):
        return ZooStoreError(
            f"{doing}: the connection to the S3 service at {endpoint} was cut before it answered, on every retry",
            hint="check the network and try again: nothing was registered, and the upload resumes where it stopped",
        )
    if isinstance(cause, ClientError):
        err = cause.response.get("Error", {})
        code = str(err.get("Code") or "")
        status = cause.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code == "403":  # a HEAD answer has no body, hence no error code
            return ZooStoreError(
                f"{doing}: the S3 service at {endpoint} refused access to s3://{bucket} (HTTP 403)",
                hint="wrong credentials or no permission: " + _CREDENTIALS,
            )
        if code in _S3_ERRORS:
            message, hint = _S3_ERRORS[code]
            return ZooStoreError(
                f"{doing}: " + message.format(bucket=bucket, endpoint=endpoint), hint=hint.format(bucket=bucket)
            )
        if code in _TRANSIENT or (isinstance(status, int) and status >= 500):
            attempts = cause.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
            return ZooStoreError(
                f"{doing}: the S3 service at {endpoint} kept failing ({status} {code}) after {attempts + 1} attempts",
                hint="try again later (AWS_MAX_ATTEMPTS retries more); nothing was registered, and the upload resumes where it stopped",
            )
        return ZooStoreError(
            f"{doing}: S3 answered {status} {code}: {err.get('Message') or cause}",
            hint="check the store URL and your access to it",
        )
    return ZooStoreError(
        f"{doing}: {type(exc).__name__}: {exc}",
        hint="check the network and the store (AWS_ENDPOINT_URL); nothing was registered, and the upload resumes where it stopped",
    )


# -- fetch (the opener) ------------------------------------------------------------------------


def fetch(uri: str, destination: str | os.PathLike[str], progress: Progress = None) -> None:
    """The opener (``zoo_fsspec.store:fetch``): the object's bytes into ``destination``;
    zoo verifies the sha256 and moves the file into its cache."""
    protocol, bucket, key = _split(uri)
    fs = _s3(protocol) if protocol in S3_PROTOCOLS else _generic(protocol)
    path = f"{bucket}/{key}"
    try:
        total = int(fs.info(path)["size"])
        done = 0
        with fs.open(path, "rb", block_size=READ_CHUNK) as src, open(destination, "wb") as dst:
            while chunk := src.read(READ_CHUNK):
                dst.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
            dst.flush()
            os.fsync(dst.fileno())
    except FileNotFoundError as exc:
        if protocol in S3_PROTOCOLS:
            err = _store_error(exc, fs, bucket, f"cannot fetch {uri}")
            if "does not exist" in err.message or "refused" in err.message:
                raise err from None
        raise ZooStoreError(
            f"{uri} is not in the store", hint="check the URI, or that the object was not deleted"
        ) from None
    except Exception as exc:  # noqa: BLE001 - any filesystem failure becomes the store's typed error
        if protocol in S3_PROTOCOLS:
            raise _store_error(exc, fs, bucket, f"cannot fetch {uri}") from None
        raise ZooStoreError(
            f"cannot fetch {uri}: {type(exc).__name__}: {exc}", hint="check the store and your access to it"
        ) from None


# -- upload (the uploader) ---------------------------------------------------------------------


def open_uploader(store: str) -> S3Uploader | FsspecUploader:
    """The uploader (``zoo_fsspec.store:open_uploader``): checks the store URL and the
    protocol's library, without touching the network."""
    from zoo.weights._publish import split_store_url

    protocol, bucket, prefix = split_store_url(store)
    _require(protocol)
    if protocol in S3_PROTOCOLS:
        if not _BUCKET.match(bucket) or ".." in bucket:
            raise ZooStoreError(
                f"{bucket!r} in {store!r} is not an S3 bucket name",
                hint="3-63 lower-case letters, digits, '.' and '-', starting and ending with a letter or digit",
            )
        return S3Uploader(protocol, bucket, prefix, part_size())
    return FsspecUploader(protocol, bucket, prefix)


class _Uploader:
    def __init__(self, protocol: str, bucket: str, prefix: str) -> None:
        self.protocol, self.bucket, self.prefix = protocol, bucket, prefix

    def key(self, sha256: str, suffix: str) -> str:
        name = f"sha256/{sha256[:2]}/{sha256}{suffix}"
        return f"{self.prefix}/{name}" if self.prefix else name

    def uri(self, key: str) -> str:
        return f"{self.protocol}://{self.bucket}/{key}"

    def _reread(self, fs: Any, path: str, size: int, sha256: str) -> str | None:
        """Why the stored object is not the file (``None``: it is): size, then every
        byte's sha256, read back from the store."""
        info = fs.info(path)
        if int(info.get("size", -1)) != size:
            return f"the stored object has {info.get('size')} bytes, not {size}"
        h = hashlib.sha256()
        with fs.open(path, "rb", block_size=READ_CHUNK) as f:
            while chunk := f.read(READ_CHUNK):
                h.update(chunk)
        if h.hexdigest() != sha256:
            return f"the stored object's sha256 is {h.hexdigest()}, not {sha256}"
        return None


class S3Uploader(_Uploader):
    """Multipart, resumable, verified uploads to S3 (s3fs / aiobotocore)."""

    def __init__(self, protocol: str, bucket: str, prefix: str, part_bytes: int) -> None:
        super().__init__(protocol, bucket, prefix)
        self.part_bytes = part_bytes
        self.stats: dict[str, int] = {}

    def put(self, path: Path, *, sha256: str, size: int, progress: Progress = None) -> str:
        path = Path(path)
        if path.stat().st_size != size:
            raise ZooStoreError(
                f"{path} has {path.stat().st_size} bytes, not {size}", hint="the cached file changed; fetch it again"
            )
        key = self.key(sha256, path.suffix)
        fs = _s3(self.protocol)
        doing = f"cannot store {sha256[:12]}… in {self.protocol}://{self.bucket}/{self.prefix}"
        self.stats = {"parts_uploaded": 0, "parts_reused": 0, "bytes_sent": 0}
        try:
            if self._exists(fs, key, size):
                # The same bytes registered before (by anyone): used once they verify; an
                # object that does not is replaced.
                if self._reread(fs, f"{self.bucket}/{key}", size, sha256) is None:
                    return self.uri(key)
                fs.call_s3("delete_object", Bucket=self.bucket, Key=key)
                self.stats["replaced"] = 1
            if size < self.part_bytes:
                self._put_single(fs, path, key, sha256)
            else:
                self._put_multipart(fs, path, key, sha256, size, progress)
            problem = self._reread(fs, f"{self.bucket}/{key}", size, sha256)
        except ZooStoreError:
            raise
        except Exception as exc:  # noqa: BLE001 - any filesystem failure becomes the store's typed error
            raise _store_error(exc, fs, self.bucket, doing) from None
        if problem is not None:
            # Content-addressed: wrong bytes under this key are wrong for everyone.
            try:
                fs.call_s3("delete_object", Bucket=self.bucket, Key=key)
            except Exception:  # noqa: BLE001 - reported below either way
                pass
            raise ZooStoreError(f"{doing}: {problem}; the object was removed", hint="run the registration again")
        return self.uri(key)

    def _exists(self, fs: Any, key: str, size: int) -> bool:
        # A GET-type call (not HEAD), so that a missing bucket or refused credentials come
        # back with their S3 error code.
        page = fs.call_s3("list_objects_v2", Bucket=self.bucket, Prefix=key, MaxKeys=1)
        return any(o["Key"] == key and int(o["Size"]) == size for o in page.get("Contents", []))

    def _put_single(self, fs: Any, path: Path, key: str, sha256: str) -> None:
        data = path.read_bytes()
        fs.call_s3(
            "put_object", Bucket=self.bucket, Key=key, Body=data, ContentMD5=_b64md5(data), Metadata={"sha256": sha256}
        )
        self.stats["parts_uploaded"] += 1
        self.stats["bytes_sent"] += len(data)

    def _pending(self, fs: Any, key: str) -> str | None:
        """The newest unfinished multipart upload of ``key`` (a cut earlier attempt)."""
        found = fs.call_s3("list_multipart_uploads", Bucket=self.bucket, Prefix=key)
        uploads = [u for u in found.get("Uploads", []) if u.get("Key") == key]
        uploads.sort(key=lambda u: u.get("Initiated") or 0)
        return uploads[-1]["UploadId"] if uploads else None

    def _parts(self, fs: Any, key: str, upload_id: str) -> dict[int, tuple[str, int]]:
        parts: dict[int, tuple[str, int]] = {}
        marker = 0
        while True:
            page = fs.call_s3("list_parts", Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumberMarker=marker)
            for p in page.get("Parts", []):
                parts[int(p["PartNumber"])] = (str(p["ETag"]).strip('"'), int(p["Size"]))
            if not page.get("IsTruncated"):
                return parts
            marker = int(page["NextPartNumberMarker"])

    def _put_multipart(self, fs: Any, path: Path, key: str, sha256: str, size: int, progress: Progress) -> None:
        from botocore.exceptions import ClientError

        part_bytes = max(self.part_bytes, -(-size // MAX_PARTS))
        count = -(-size // part_bytes)
        upload_id = self._pending(fs, key)
        have = self._parts(fs, key, upload_id) if upload_id else {}
        if upload_id is None:
            upload_id = fs.call_s3("create_multipart_upload", Bucket=self.bucket, Key=key, Metadata={"sha256": sha256})[
                "UploadId"
            ]
        etags: list[dict[str, Any]] = []
        done = 0
        with open(path, "rb") as f:
            for number in range(1, count + 1):
                data = f.read(part_bytes)
                digest = hashlib.md5(data, usedforsecurity=False)
                old = have.get(number)
                if old is not None and old == (digest.hexdigest(), len(data)):
                    etag = old[0]  # this part arrived before the cut: resume after it
                    self.stats["parts_reused"] += 1
                else:
                    answer = fs.call_s3(
                        "upload_part",
                        Bucket=self.bucket,
                        Key=key,
                        UploadId=upload_id,
                        PartNumber=number,
                        Body=data,
                        ContentMD5=base64.b64encode(digest.digest()).decode(),
                    )
                    etag = str(answer["ETag"]).strip('"')
                    self.stats["parts_uploaded"] += 1
                    self.stats["bytes_sent"] += len(data)
                etags.append({"PartNumber": number, "ETag": f'"{etag}"'})
                done += len(data)
                if progress:
                    progress(done, size)
        try:
            fs.call_s3(
                "complete_multipart_upload",
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": etags},
            )
        except Exception as exc:
            cause = exc.__cause__ if not isinstance(exc, ClientError) else exc
            code = getattr(cause, "response", {}).get("Error", {}).get("Code") if cause is not None else None
            # Another machine completed the same content meanwhile: its object is checked below.
            if code != "NoSuchUpload" or not self._exists(fs, key, size):
                raise


class FsspecUploader(_Uploader):
    """Any other fsspec protocol: a temporary key, verified, then moved to the final key
    (not resumable: fsspec has no common multipart interface)."""

    def put(self, path: Path, *, sha256: str, size: int, progress: Progress = None) -> str:
        import uuid

        path = Path(path)
        fs = _generic(self.protocol)
        key = self.key(sha256, path.suffix)
        final = f"{self.bucket}/{key}"
        doing = f"cannot store {sha256[:12]}… in {self.protocol}://{self.bucket}/{self.prefix}"
        try:
            if fs.exists(final) and self._reread(fs, final, size, sha256) is None:
                return self.uri(key)
            temp = f"{final}.part-{uuid.uuid4().hex[:12]}"
            try:
                fs.makedirs(fs._parent(final), exist_ok=True)
                fs.put_file(str(path), temp)
                problem = self._reread(fs, temp, size, sha256)
                if problem is not None:
                    raise ZooStoreError(f"{doing}: {problem}", hint="run the registration again")
                fs.mv(temp, final)
            finally:
                if fs.exists(temp):
                    fs.rm(temp)
            problem = self._reread(fs, final, size, sha256)
        except ZooStoreError:
            raise
        except FileNotFoundError as exc:
            raise ZooStoreError(f"{doing}: {exc}", hint=f"check that the bucket {self.bucket!r} exists") from None
        except Exception as exc:  # noqa: BLE001 - any filesystem failure becomes the store's typed error
            raise ZooStoreError(
                f"{doing}: {type(exc).__name__}: {exc}", hint="check the store and your access to it"
            ) from None
        if problem is not None:
            fs.rm(final)
            raise ZooStoreError(f"{doing}: {problem}; the object was removed", hint="run the registration again")
        if progress:
            progress(size, size)
        return self.uri(key)


def _b64md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
