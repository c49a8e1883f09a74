"""Small hand-made image archives for the import tests: layers, docker-archives, OCI layouts."""

import gzip
import hashlib
import io
import json
import os
import tarfile

ME = (os.getuid(), os.getgid())


def entry(name, kind="file", data=b"", mode=None, owner=ME, link=None, pax=None):
    """One layer member: kind is file, dir, symlink, hardlink, chr or fifo."""
    info = tarfile.TarInfo(name)
    info.type = {
        "file": tarfile.REGTYPE,
        "dir": tarfile.DIRTYPE,
        "symlink": tarfile.SYMTYPE,
        "hardlink": tarfile.LNKTYPE,
        "chr": tarfile.CHRTYPE,
        "fifo": tarfile.FIFOTYPE,
    }[kind]
    info.mode = mode if mode is not None else (0o755 if kind == "dir" else 0o644)
    info.uid, info.gid = owner
    info.mtime = 1_700_000_000
    info.linkname = link or ""
    if pax:
        info.pax_headers = pax
    if kind == "chr":
        info.devmajor, info.devminor = 1, 3
    if kind == "file":
        info.size = len(data)
    return info, data if kind == "file" else None


def layer(*entries):
    """An uncompressed layer tar (PAX, as Go writes them), as bytes."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def image_config(layers, **settings):
    return json.dumps(
        {
            "architecture": {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine),
            "os": "linux",
            "config": settings,
            "rootfs": {"type": "layers", "diff_ids": [digest(x) for x in layers]},
        }
    ).encode()


def write_tar(path, files):
    """A tar holding `files`: {name: bytes}, in order."""
    with tarfile.open(path, "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def docker_archive(path, layers, config=None, **settings):
    """What `podman save --format docker-archive` writes: <diff_id>.tar layers."""
    config = config or image_config(layers, **settings)
    config_name = digest(config).split(":")[1] + ".json"
    names = [digest(x).split(":")[1] + ".tar" for x in layers]
    manifest = [{"Config": config_name, "RepoTags": ["localhost/test:1"], "Layers": names}]
    return write_tar(path, {"manifest.json": json.dumps(manifest).encode(), config_name: config, **dict(zip(names, layers))})


def oci_files(layers, platforms=None, compress=True, config=None, **settings):
    """An OCI image layout as {name: bytes}: gzip layers, and a manifest list when
    `platforms` (architecture names) is given, one entry per platform."""
    blobs = {}

    def blob(data, media_type):
        name = digest(data)
        blobs["blobs/sha256/" + name.split(":")[1]] = data
        return {"mediaType": media_type, "digest": name, "size": len(data)}

    config = config or image_config(layers, **settings)
    stored = [gzip.compress(x, mtime=0) if compress else x for x in layers]
    kind = "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if compress else "")
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": blob(config, "application/vnd.oci.image.config.v1+json"),
        "layers": [blob(x, kind) for x in stored],
    }
    top = blob(json.dumps(manifest).encode(), manifest["mediaType"])
    if platforms is not None:
        entries = [dict(top, platform={"os": "linux", "architecture": arch}) for arch in platforms]
        listing = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries}
        top = blob(json.dumps(listing).encode(), listing["mediaType"])
    top["annotations"] = {"org.opencontainers.image.ref.name": "test:1"}
    index = {"schemaVersion": 2, "manifests": [top]}
    return {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}', "index.json": json.dumps(index).encode(), **blobs}


def write_dir(path, files):
    for name, data in files.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return path
