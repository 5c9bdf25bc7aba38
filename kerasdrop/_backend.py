"""The backend's package and device: whether it is installed, where it computes.

TensorFlow is the `tensorflow` extra, not a hard dependency (JAX and torch
users need not install it), so `import keras` fails where the configured
backend is missing. `require_backend` turns that into one message naming
the extra to install, raised from `import kerasdrop`.

>>> require_backend()  # the configured backend is installed here
"""

import functools

#: The package each Keras backend imports, and the kerasdrop extra with it.
BACKEND_EXTRAS = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}


def require_backend():
    """Imports Keras; an `ImportError` naming the extra when its backend's
    package is not installed."""
    try:
        import keras  # noqa: F401
    except ImportError as err:
        name = (getattr(err, "name", None) or "").split(".")[0]
        if name not in BACKEND_EXTRAS:
            raise
        raise ImportError(
            f"Keras' {name!r} backend is not installed. Install it with "
            f"`pip install 'kerasdrop[{BACKEND_EXTRAS[name]}]'`, or set "
            "KERAS_BACKEND to an installed backend (tensorflow, jax, torch). "
            f"Received: {err}"
        ) from err


@functools.cache
def on_accelerator():
    """True when the configured backend computes on a GPU or TPU by default,
    False on CPU: what a device path chooses by.

    >>> on_accelerator()  # this machine computes on its CPU
    False
    """
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return any(tf.config.list_logical_devices(kind) for kind in ("GPU", "TPU"))
    if backend == "jax":
        import jax

        return jax.default_backend() != "cpu"
    if backend == "torch":
        import torch

        return torch.cuda.is_available() or torch.backends.mps.is_available()
    return False
