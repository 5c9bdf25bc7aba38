"""Per-thread Monte-Carlo sampling state, read when a layer's call is traced.

Two things, both per thread: which kerasdrop layers sample (the switch of
`kerasdrop.mc.sampling(model)`), and how `kerasdrop.mc.predict` stacks MC
samples along the batch axis (`sample_groups`), so that layers can draw one
mask per sample (DropConnect's weights) or the same masks for every batch
(consistent masks).
"""

import contextlib
import dataclasses
import threading

from keras import ops


class _MCState(threading.local):
    """Per-thread state of `kerasdrop.mc.sampling()`: the kerasdrop layers
    the thread samples, `id(layer) -> [layer, nesting depth]`."""

    def __init__(self):
        self.sampled = {}
        self.held = {}
        self.groups = None


_MC_STATE = _MCState()


def mc_sampling_active(layer=None):
    """True when the calling thread samples `layer` (any layer when None).

    The switch of `kerasdrop.mc.sampling(model)`: per thread, and per layer,
    so a block over one model leaves other models (and other threads) alone.

    Example:

    >>> import keras, kerasdrop
    >>> drop = kerasdrop.layers.Dropout(0.5)
    >>> other = kerasdrop.layers.Dropout(0.5)
    >>> with kerasdrop.mc.sampling(drop):
    ...     inside = mc_sampling_active(drop), mc_sampling_active(other)
    >>> inside, mc_sampling_active(drop)
    ((True, False), False)
    """
    if layer is None:
        return bool(_MC_STATE.sampled)
    return id(layer) in _MC_STATE.sampled


def mc_sampled_ids():
    """`id()`s of the kerasdrop layers the calling thread samples.

    Example:

    >>> import kerasdrop
    >>> drop = kerasdrop.layers.Dropout(0.5)
    >>> with mc_sampling_layers([drop]):
    ...     mc_sampled_ids() == {id(drop)}
    True
    """
    return frozenset(_MC_STATE.sampled)


@contextlib.contextmanager
def mc_sampling_layers(layers):
    """Makes the calling thread sample `layers` inside the block.

    The bare switch, with no checks and no care for compiled functions: it
    serves code that traces its own function inside the block (`mc.predict`'s
    samplers, export's MC signature). Use `kerasdrop.mc.sampling(model)`.

    Example:

    >>> import kerasdrop
    >>> drop = kerasdrop.layers.Dropout(0.5)
    >>> with mc_sampling_layers([drop]):
    ...     with mc_sampling_layers([drop]):  # nests
    ...         pass
    ...     inside = mc_sampling_active(drop)
    >>> inside, mc_sampling_active(drop)
    (True, False)
    """
    with _counted(_MC_STATE.sampled, layers):
        yield


def mc_held_off(layer):
    """True when the calling thread holds `layer` at inference
    (`mc_inference_only`): it does not drop in inference calls, even as an
    MC layer or a sampled one.

    Example:

    >>> import kerasdrop
    >>> drop = kerasdrop.layers.Dropout(0.5, mc=True)
    >>> with mc_inference_only([drop]):
    ...     inside = mc_held_off(drop)
    >>> inside, mc_held_off(drop)
    (True, False)
    """
    return id(layer) in _MC_STATE.held


@contextlib.contextmanager
def mc_inference_only(layers):
    """Makes the calling thread run `layers` at inference in the block's
    inference calls, whatever their `mc` flag and `sampling()` say (training
    calls still drop).

    What a verified export needs: the reference outputs, and the serving
    function traced from a model Keras cannot copy
    (`kerasdrop.serving.as_is`), without touching the layers' flags (other
    threads calling the model see them as they are).

    Example:

    >>> import numpy as np, kerasdrop
    >>> drop = kerasdrop.layers.Dropout(0.5, mc=True)
    >>> x = np.ones((1, 8), "float32")
    >>> with mc_inference_only([drop]):
    ...     same = bool(np.all(np.asarray(drop(x)) == x))
    >>> same, drop.mc
    (True, True)
    """
    with _counted(_MC_STATE.held, layers):
        yield


@contextlib.contextmanager
def _counted(table, layers):
    """Puts `layers` in a per-thread `table` (`id -> [layer, depth]`) for the
    block; nests."""
    layers = list(layers)
    for layer in layers:
        table.setdefault(id(layer), [layer, 0])[1] += 1
    try:
        yield
    finally:
        for layer in layers:
            entry = table[id(layer)]
            entry[1] -= 1
            if not entry[1]:
                del table[id(layer)]


@dataclasses.dataclass(frozen=True)
class SampleGroups:
    """How the batch being traced holds MC samples.

    `groups` samples are stacked along the batch axis (sample-major); they
    are samples `offset ... offset + groups - 1` of `total` (`offset`: an
    int or a scalar int tensor). With
    `consistent`, every layer draws its masks for all `total` samples from
    a generator state that the caller rewinds before each call, and keeps
    this call's slice: every batch and chunk sees the same `total` masks.

    Sharded over devices (`kerasdrop.mc.devices`), the batch holds rows
    `shard * L ... shard * L + L - 1` (`L` rows per sample) of a global
    batch of `rows` rows (padded to `shards * L`): `shard_noise` draws the
    noise of all `rows` rows and keeps this shard's, so that a row's masks
    do not depend on the device it lands on.
    """

    groups: int
    total: int
    offset: int = 0
    consistent: bool = False
    rows: int = None
    shards: int = 1
    shard: object = 0


def mc_sample_groups():
    """The calling thread's `SampleGroups`, or None outside `mc.predict`."""
    return _MC_STATE.groups


@contextlib.contextmanager
def sample_groups(groups, total=None, offset=0, consistent=False, **sharding):
    """Declares, for the block, that traced batches stack `groups` samples.

    `sharding`: `rows`, `shards` and `shard` of `SampleGroups`.

    Example:

    >>> with sample_groups(4, total=8, offset=4, consistent=True):
    ...     inside = mc_sample_groups()
    >>> inside.groups, inside.total, inside.offset, inside.consistent, inside.rows
    (4, 8, 4, True, None)
    >>> mc_sample_groups() is None
    True
    """
    previous = _MC_STATE.groups
    _MC_STATE.groups = SampleGroups(
        groups, total or groups, offset, consistent, **sharding
    )
    try:
        yield
    finally:
        _MC_STATE.groups = previous


def shard_noise(draw, shape, groups):
    """`draw(shape)` for a sharded batch (`SampleGroups.rows` set): the
    noise of all `groups.rows` global rows of each sample, padded to
    `groups.shards` equal slices, and this shard's slice.

    Example:

    >>> import numpy as np
    >>> groups = SampleGroups(2, 2, rows=3, shards=2, shard=1)
    >>> def draw(shape):  # noise value = 10 * sample + global row
    ...     return np.add.outer(10 * np.arange(2), np.arange(3)).reshape(shape)
    >>> np.asarray(shard_noise(draw, (4,), groups)).tolist()  # rows 2, pad
    [2.0, 0.0, 12.0, 0.0]
    """
    shape = tuple(shape)
    local = shape[0] // groups.groups
    rest = shape[1:]
    full = ops.reshape(
        ops.convert_to_tensor(draw((groups.groups * groups.rows,) + rest), "float32"),
        (groups.groups, groups.rows) + rest,
    )
    missing = groups.shards * local - groups.rows
    if missing > 0:
        pad = ops.zeros((groups.groups, missing) + rest, dtype=full.dtype)
        full = ops.concatenate([full, pad], axis=1)
    start = [0, groups.shard * local] + [0] * len(rest)
    mine = ops.slice(full, start, (groups.groups, local) + rest)
    return ops.reshape(mine, shape)
