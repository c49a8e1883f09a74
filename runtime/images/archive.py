"""Read an image archive: a docker-archive (`docker save`, `podman save`) or an OCI image
layout (a directory, or a tar of one), as an image config and its layers in order.

Digests are checked wherever the format carries them: every OCI blob against its
descriptor (digest and size), every layer's uncompressed tar against the config's
rootfs.diff_ids, and a docker-archive config named by its digest.
"""

import bz2
import gzip
import hashlib
import json
import lzma
import tarfile
from stat import S_ISDIR, S_ISREG
import zlib

from .. import errors
from ..errors import ContainerError
from .layers import components

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
REF_ANNOTATIONS = ("org.opencontainers.image.ref.name", "io.containerd.image.name")
# uname -m -> the GOARCH names image platforms use
ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le", "s390x": "s390x"}
# What reading a truncated or damaged stream raises, from tarfile and each decompressor.
READ_ERRORS = (tarfile.ReadError, EOFError, zlib.error, gzip.BadGzipFile, lzma.LZMAError)
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def machine_architecture(linux):
    machine = linux.uname().machine
    return ARCHITECTURES.get(machine, machine)


def corrupt(message):
    return ContainerError(errors.IMPORT_CORRUPT, message)


class Layer:
    """One layer to apply: where its blob is, and the digests it must match."""

    def __init__(self, source, name, blob_digest=None, size=None, diff_id=None):
        self.source = source
        self.name = name
        self.blob_digest = blob_digest  # of the stored (maybe compressed) blob, when known
        self.size = size
        self.diff_id = diff_id  # of the uncompressed tar

    def stored_size(self):
        return self.source.size(self.name)

    def open(self):
        """A context manager: the uncompressed tar stream, digests checked at its end."""
        return _LayerStream(self)


class Image:
    def __init__(self, config, layers, description):
        self.config = config  # the image config JSON (its "config" holds Env, Cmd, ...)
        self.layers = layers
        self.description = description


# --- where the archive's files are -------------------------------------------------


class _Directory:
    def __init__(self, linux, path):
        self.linux = linux
        self.path = path

    @property
    def members(self):
        return self.linux.listdir(self.path)

    def _stat(self, name):
        try:
            return self.linux.stat(f"{self.path}/{name}")
        except OSError:
            return None

    def has(self, name):
        found = self._stat(name)
        return found is not None and S_ISREG(found.st_mode)

    def open(self, name):
        try:
            return self.linux.open_for_reading(f"{self.path}/{name}")
        except OSError as e:
            raise corrupt(f"{name}: {e.strerror}") from None

    def size(self, name):
        found = self._stat(name)
        return found.st_size if found is not None else 0

    def close(self):
        pass


class _Tar:
    def __init__(self, file, path):
        self.file = file
        try:
            self.tar = tarfile.open(fileobj=file, mode="r:*")
            self.members = {}
            for member in self.tar:
                self.members["/".join(p for p in member.name.split("/") if p not in ("", "."))] = member
        except READ_ERRORS:
            raise ContainerError(
                errors.IMPORT_NOT_AN_IMAGE, f"{path} is not an image: neither a tar archive nor an OCI layout directory"
            ) from None

    def has(self, name):
        member = self.members.get(name)
        return member is not None and (member.isfile() or member.issym() or member.islnk())

    def open(self, name):
        member = self.members.get(name)
        if member is None:
            raise corrupt(f"the archive has no {name}")
        try:
            # Links inside the archive (docker save links repeated layers) resolve within it.
            found = self.tar.extractfile(member)
        except (KeyError, tarfile.TarError) as e:
            raise corrupt(f"{name}: {e}") from None
        if found is None:
            raise corrupt(f"{name} is not a file in the archive")
        return found

    def size(self, name):
        member = self.members.get(name)
        return member.size if member is not None else 0

    def close(self):
        self.tar.close()
        self.file.close()


def open_source(linux, path):
    try:
        if S_ISDIR(linux.stat(path).st_mode):
            return _Directory(linux, path)
        file = linux.open_for_reading(path)
    except OSError as e:
        raise ContainerError(errors.IMAGE_MISSING, f"{path}: {e.strerror.lower()}") from None
    try:
        return _Tar(file, path)
    except BaseException:
        file.close()
        raise


# --- reading the image ----------------------------------------------------------------


def read(linux, path, ref=None):
    """The Image in the archive or layout at `path` (its source stays open: close() it)."""
    source = open_source(linux, path)
    try:
        here = machine_architecture(linux)
        if source.has("oci-layout"):
            image = _read_oci(source, ref, here)
        elif source.has("manifest.json"):
            image = _read_docker_archive(source, ref)
        else:
            hint = " (a root filesystem tarball? build it with testcontainer/build.sh --tarball)" if _looks_like_rootfs(source) else ""
            raise ContainerError(
                errors.IMPORT_NOT_AN_IMAGE,
                f"{path} is not an image: no manifest.json (docker-archive) or oci-layout (OCI image layout){hint}",
            )
        _check_platform(image.config, here)
        return source, image
    except BaseException:
        source.close()
        raise


def _looks_like_rootfs(source):
    return any(name in source.members for name in ("bin/sh", "etc/passwd", "bin", "etc"))


def _json(source, name, digest=None, size=None):
    with source.open(name) as f:
        data = f.read()
    if digest is not None:
        _check_blob(name, data, digest, size)
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise corrupt(f"{name} is not valid JSON: {e}") from None


def _check_blob(name, data, digest, size):
    if size is not None and len(data) != size:
        raise ContainerError(errors.IMPORT_DIGEST_MISMATCH, f"{name} has {len(data)} bytes, its descriptor says {size}")
    actual = "sha256:" + hashlib.sha256(data).hexdigest()
    if actual != digest:
        raise ContainerError(errors.IMPORT_DIGEST_MISMATCH, f"{name} is {actual}, its descriptor says {digest}")


def _blob_name(digest):
    algorithm, _, hexdigest = str(digest).partition(":")
    if algorithm != "sha256":
        raise ContainerError(errors.IMPORT_UNSUPPORTED, f"digest {digest!r}: only sha256 is supported")
    if len(hexdigest) != 64 or not all(c in "0123456789abcdef" for c in hexdigest):
        raise corrupt(f"{digest!r} is not a sha256 digest")
    return f"blobs/sha256/{hexdigest}"


def _field(document, key, kind, where):
    value = document.get(key) if isinstance(document, dict) else None
    if not isinstance(value, kind):
        raise corrupt(f"{where} has no valid {key!r}")
    return value


def _read_oci(source, ref, here):
    index = _json(source, "index.json")
    descriptor = _choose(source, _field(index, "manifests", list, "index.json"), ref, "index.json", here)
    manifest = _descriptor_json(source, descriptor)
    config_descriptor = _field(manifest, "config", dict, "the manifest")
    config = _descriptor_json(source, config_descriptor)
    descriptors = _field(manifest, "layers", list, "the manifest")
    diff_ids = _diff_ids(config, len(descriptors))
    layers = []
    for layer, diff_id in zip(descriptors, diff_ids):
        digest = _field(layer, "digest", str, "a layer descriptor")
        media_type = layer.get("mediaType", "")
        if "zstd" in media_type:
            raise ContainerError(errors.IMPORT_UNSUPPORTED, f"layer {digest} is zstd-compressed, which is not supported")
        layers.append(Layer(source, _blob_name(digest), digest, layer.get("size"), diff_id))
    name = _ref_name(descriptor) or descriptor["digest"]
    return Image(config, layers, f"OCI image {name}")


def _descriptor_json(source, descriptor):
    digest = _field(descriptor, "digest", str, "a descriptor")
    return _json(source, _blob_name(digest), digest, descriptor.get("size"))


def _ref_name(descriptor):
    annotations = descriptor.get("annotations") or {}
    return next((annotations[k] for k in REF_ANNOTATIONS if k in annotations), None)


def _choose(source, descriptors, ref, where, here):
    """The one image manifest among `descriptors`, through manifest lists, for the
    architecture `here`."""
    if ref is not None:
        descriptors = [d for d in descriptors if isinstance(d, dict) and ref in (_ref_name(d), d.get("digest"))]
        if not descriptors:
            raise ContainerError(errors.IMPORT_UNSUPPORTED, f"{where} has no image named {ref!r}")
    candidates, platforms = [], []
    for descriptor in descriptors:
        if not isinstance(descriptor, dict):
            raise corrupt(f"{where} holds a descriptor that is not an object")
        platform = descriptor.get("platform")
        if platform:
            platforms.append(f"{platform.get('os')}/{platform.get('architecture')}")
            if (platform.get("os"), platform.get("architecture")) != ("linux", here):
                continue
        if descriptor.get("mediaType") in (OCI_INDEX, DOCKER_LIST):
            nested = _descriptor_json(source, descriptor)
            try:
                descriptor = _choose(source, _field(nested, "manifests", list, "a manifest list"), None, "a manifest list", here)
            except ContainerError as e:
                if e.code == errors.IMPORT_NO_PLATFORM and len(descriptors) > 1:
                    continue
                raise
        candidates.append(descriptor)
    if not candidates:
        if platforms:
            raise ContainerError(
                errors.IMPORT_NO_PLATFORM,
                f"no image for linux/{here} in the manifest list (it has {', '.join(platforms)})",
            )
        raise corrupt(f"{where} lists no image")
    if len(candidates) > 1:
        names = ", ".join(_ref_name(d) or d.get("digest", "?") for d in candidates)
        raise ContainerError(errors.IMPORT_UNSUPPORTED, f"the archive holds {len(candidates)} images ({names}): choose one with --ref")
    return candidates[0]


def _diff_ids(config, count):
    diff_ids = _field(_field(config, "rootfs", dict, "the image config"), "diff_ids", list, "the config's rootfs")
    if len(diff_ids) != count:
        raise corrupt(f"the image config lists {len(diff_ids)} layers, the manifest {count}")
    return diff_ids


def _read_docker_archive(source, ref):
    entries = _json(source, "manifest.json")
    if not isinstance(entries, list) or not entries:
        raise corrupt("manifest.json lists no image")
    if ref is not None:
        entries = [e for e in entries if isinstance(e, dict) and ref in (e.get("RepoTags") or ())]
        if not entries:
            raise ContainerError(errors.IMPORT_UNSUPPORTED, f"manifest.json has no image tagged {ref!r}")
    if len(entries) > 1:
        tags = ", ".join(",".join(e.get("RepoTags") or ["untagged"]) for e in entries if isinstance(e, dict))
        raise ContainerError(errors.IMPORT_UNSUPPORTED, f"the archive holds {len(entries)} images ({tags}): choose one with --ref")
    entry = entries[0]
    config_name = _archive_name(_field(entry, "Config", str, "manifest.json"))
    config = _json(source, config_name, *_digest_in_name(config_name))
    names = _field(entry, "Layers", list, "manifest.json")
    layers = []
    for name, diff_id in zip(names, _diff_ids(config, len(names))):
        name = _archive_name(name)
        digest = _digest_in_name(name)[0]
        layers.append(Layer(source, name, digest, None, diff_id))
    tags = entry.get("RepoTags") or ["untagged"]
    return Image(config, layers, f"docker-archive image {tags[0]}")


def _archive_name(name):
    """A file name from manifest.json, normalized; never one outside the archive."""
    if not isinstance(name, str):
        raise corrupt(f"manifest.json names a file with {name!r}")
    return "/".join(components(name, "file name"))


def _digest_in_name(name):
    """(digest, None) when a docker-archive file is named by its sha256 (config
    "<hex>.json", "blobs/sha256/<hex>"); else (None, None)."""
    base = name.rsplit("/", 1)[-1]
    base = base[:-5] if base.endswith(".json") else base
    if len(base) == 64 and all(c in "0123456789abcdef" for c in base):
        return "sha256:" + base, None
    return None, None


def _check_platform(config, here):
    if not isinstance(config, dict):
        raise corrupt("the image config is not an object")
    architecture, system = config.get("architecture"), config.get("os")
    if (architecture and architecture != here) or (system and system != "linux"):
        raise ContainerError(errors.IMPORT_NO_PLATFORM, f"the image is for {system}/{architecture}, this machine is linux/{here}")


# --- a layer's stream, with its digests checked ------------------------------------------


class _Hashing:
    """A read-only file that hashes and counts what passes through it."""

    def __init__(self, raw):
        self.raw = raw
        self.hash = hashlib.sha256()
        self.count = 0

    def read(self, size=-1):
        data = self.raw.read(size)
        self.hash.update(data)
        self.count += len(data)
        return data

    def drain(self):
        while self.read(1 << 20):
            pass
        return "sha256:" + self.hash.hexdigest()


class _LayerStream:
    def __init__(self, layer):
        self.layer = layer

    def __enter__(self):
        self.raw = self.layer.source.open(self.layer.name)
        self.stored = _Hashing(self.raw)
        magic = self.raw.peek(4)[:4]
        if magic.startswith(_ZSTD_MAGIC):
            raise ContainerError(errors.IMPORT_UNSUPPORTED, f"layer {self.layer.name} is zstd-compressed, which is not supported")
        if magic.startswith(b"\x1f\x8b"):
            inner = gzip.GzipFile(fileobj=self.stored, mode="rb")
        elif magic.startswith(b"BZh"):
            inner = bz2.BZ2File(self.stored)
        elif magic.startswith(b"\xfd7zX"):
            inner = lzma.LZMAFile(self.stored)
        else:
            inner = None
        self.uncompressed = _Hashing(inner) if inner is not None else self.stored
        return self.uncompressed

    def __exit__(self, kind, value, traceback):
        try:
            if kind is None:
                self._verify()
        finally:
            self.raw.close()

    def _verify(self):
        layer = self.layer
        try:
            diff_id = self.uncompressed.drain()
            blob = self.stored.drain()
        except READ_ERRORS as e:
            raise corrupt(f"layer {layer.name} is truncated or corrupt: {e}") from None
        if layer.size is not None and self.stored.count != layer.size:
            raise ContainerError(
                errors.IMPORT_DIGEST_MISMATCH, f"layer {layer.name} has {self.stored.count} bytes, its descriptor says {layer.size}"
            )
        if layer.blob_digest and blob != layer.blob_digest:
            raise ContainerError(errors.IMPORT_DIGEST_MISMATCH, f"layer {layer.name} is {blob}, the manifest says {layer.blob_digest}")
        if layer.diff_id and diff_id != layer.diff_id:
            raise ContainerError(
                errors.IMPORT_DIGEST_MISMATCH, f"layer {layer.name} unpacks to {diff_id}, the config's diff_id is {layer.diff_id}"
            )


