"""The one door to Keras' and keras-hub's private parts.

Every use of a private Keras or keras-hub name (imports from `keras.src` or
`keras_hub.src`, attributes with a leading underscore that Keras defines,
per-instance overrides of Keras methods) lives here, behind a named function
whose docstring says what it relies on. `tests/test_private_access.py`
fails on any such access elsewhere in the package, and checks every
accessor against the installed Keras and keras-hub, so an upgrade that
moves one fails loudly instead of silently.
"""

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
