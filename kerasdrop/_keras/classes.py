"""Classes Keras and keras-hub keep in private modules."""

import importlib
import sys


def loaded_class(path):
    """The class `path` ("package.module:Class") names, or None while its
    top package is not imported (keras-hub stays optional); once it is, the
    module is imported if need be.

    Relies on: the private module paths of the classes the registry names
    (`keras.src.applications.convnext`, `keras_hub.src.models.*`). Raises
    `LookupError` when the module is imported but has no such class, or when
    the module cannot be found although its package is imported (a rename).
    """
    module, _, name = path.partition(":")
    if module not in sys.modules:
        top = module.split(".")[0]
        if top not in sys.modules:
            return None
        try:
            importlib.import_module(module)
        except ImportError as err:
            raise LookupError(f"{path}: {err}") from None
    cls = getattr(sys.modules[module], name, None)
    if cls is None:
        raise LookupError(f"{path}: module has no attribute {name!r}")
    return cls


def convnext(**kwargs):
    """keras.applications' generic ConvNeXt builder, which takes what the
    named variants (`ConvNeXtTiny`, ...) do not: `depths`,
    `projection_dims`, `drop_path_rate`, `default_size` (pass
    `weights=None`: nothing is downloaded).

    Relies on: `keras.src.applications.convnext.ConvNeXt(depths,
    projection_dims, drop_path_rate=0.0, ..., weights=None, ...)`.
    """
    from keras.src.applications import convnext as convnext_lib

    return convnext_lib.ConvNeXt(**kwargs)
