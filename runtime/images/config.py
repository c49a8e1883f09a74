"""The image's run defaults, saved next to its ext4 file as IMAGE.json.

`image import` writes the config's Env, Entrypoint, Cmd, WorkingDir, User and
ExposedPorts there; `run` reads them back as docker does. An image without this
file (built by testcontainer/build.sh) has no defaults, and no JSON is imported.
"""

from .. import errors
from ..errors import ContainerError

KEYS = {"Env": list, "Entrypoint": list, "Cmd": list, "WorkingDir": str, "User": str, "ExposedPorts": dict}


def path_for(image):
    return f"{image}.json"


def defaults_from(image_config):
    """The run defaults in an image config (its "config" object), with known types only."""
    settings = image_config.get("config") or {}
    if not isinstance(settings, dict):
        raise ContainerError(errors.IMPORT_CORRUPT, "the image config's \"config\" is not an object")
    return _checked(settings, "the image config")


def _checked(settings, where):
    chosen = {}
    for key, kind in KEYS.items():
        value = settings.get(key)
        if value is None:
            continue
        if not isinstance(value, kind) or (kind is list and not all(isinstance(v, str) for v in value)):
            raise ContainerError(errors.IMPORT_CORRUPT, f"{where}: {key} is not a {kind.__name__} of strings")
        chosen[key] = value
    return chosen


def load(linux, image):
    """The defaults saved for `image`, or {} when it has none."""
    path = path_for(image)
    try:
        data = linux.read_bytes(path)
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise ContainerError(errors.IMAGE_MISSING, f"image config {path}: {e.strerror}") from None
    import json  # only for images that have a config: off the default start path

    try:
        settings = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise ContainerError(errors.IMPORT_CORRUPT, f"image config {path} is not valid JSON: {e}") from None
    if not isinstance(settings, dict):
        raise ContainerError(errors.IMPORT_CORRUPT, f"image config {path} is not a JSON object")
    return _checked(settings, f"image config {path}")


def dump(defaults):
    import json

    return (json.dumps(defaults, indent=2, sort_keys=True) + "\n").encode()
