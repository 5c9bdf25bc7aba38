"""Variational recurrent dropout (Gal & Ghahramani, 2016): `LSTM`, `GRU` and
`SimpleRNN` with one dropout mask per sequence, shared over time, on the
inputs and on the recurrent state, at variable rates.

Each layer is the Keras layer plus two kerasdrop `Dropout` sublayers:

- `input_dropout` multiplies the whole input sequence by one mask of shape
  `(batch, 1, features)` before Keras' recurrent loop. The mask is the same
  at every step, so this is exactly dropout on the input of every step, and
  Keras' fast path stays: the fused kernel (`implementation=2`) and, on a
  GPU with TensorFlow, cuDNN.
- `state_dropout` (only with `recurrent_dropout` not None) draws one mask of
  shape `(batch, units)` per sequence and multiplies `h_{t-1}` by it where
  it enters the recurrent matmul, at every step. One mask is shared by the
  gates (Gal's tied variant), so the fused one-matmul step is kept; Keras'
  own `recurrent_dropout` draws one mask per gate and falls back to split
  matmuls (`implementation=1`). The mask has to enter every step, so a call
  that drops the state runs Keras' step loop: no cuDNN (on a GPU this is
  the real cost of recurrent dropout, several times slower than cuDNN).
  Calls that do not drop (inference, outside MC sampling) keep cuDNN.
  In a GRU, `h_{t-1}` also mixes into the new state
  (`h = z * h_{t-1} + (1 - z) * hh`); that use is not masked.

Both masks scale kept units by `1 / (1 - rate)` (inverted dropout). The
rates live in the sublayers' variables: assignable, schedulable, MC-capable
and found by `kerasdrop.graph.find` like any kerasdrop dropout layer.
"""

import keras
from keras import ops

from kerasdrop import _checks, _keras
from kerasdrop.layers import base as base_lib
from kerasdrop.layers.dropout import Dropout

_register = keras.saving.register_keras_serializable(package="kerasdrop")


# ----------------------------------------------------------------------------
# Cells: Keras' cells plus the state mask the layer sets for one call.
# ----------------------------------------------------------------------------
class _StateMaskCell:
    """The layer sets `state_mask` (batch, units) for the duration of one
    call; None means no state dropout in this call."""

    state_mask = None


def _mask_first(states, mask):
    if isinstance(states, (list, tuple)):
        return [states[0] * mask, *states[1:]]
    return states * mask


class _LSTMCell(_StateMaskCell, keras.layers.LSTMCell):
    # `h_{t-1}` enters the LSTM step only through the recurrent matmul.
    def call(self, inputs, states, training=False):
        if self.state_mask is not None:
            states = _mask_first(states, self.state_mask)
        return super().call(inputs, states, training=training)


class _SimpleRNNCell(_StateMaskCell, keras.layers.SimpleRNNCell):
    # `h_{t-1}` enters the step only through the recurrent matmul.
    def call(self, sequence, states, training=False):
        if self.state_mask is not None:
            states = _mask_first(states, self.state_mask)
        return super().call(sequence, states, training=training)


class _GRUCell(_StateMaskCell, keras.layers.GRUCell):
    def call(self, inputs, states, training=False):
        if self.state_mask is None:
            return super().call(inputs, states, training=training)
        nested = keras.tree.is_nested(states)
        h_tm1 = states[0] if nested else states
        h = _gru_step(self, inputs, h_tm1, h_tm1 * self.state_mask)
        return h, ([h] if nested else h)


def _gru_step(cell, inputs, h_tm1, h_in):
    """Keras' fused GRU step with the masked state `h_in` in the recurrent
    matmul and the unmasked `h_tm1` in the final mix (Gal's formulation)."""
    units = cell.units
    input_bias = recurrent_bias = None
    if cell.use_bias:
        if cell.reset_after:
            input_bias, recurrent_bias = (
                ops.squeeze(b, axis=0) for b in ops.split(cell.bias, 2, axis=0)
            )
        else:
            input_bias = cell.bias
    matrix_x = ops.matmul(inputs, cell.kernel)
    if input_bias is not None:
        matrix_x = ops.add(matrix_x, input_bias)
    x_z, x_r, x_h = ops.split(matrix_x, 3, axis=-1)
    if cell.reset_after:
        inner = ops.matmul(h_in, cell.recurrent_kernel)
        if recurrent_bias is not None:
            inner = inner + recurrent_bias
    else:
        inner = ops.matmul(h_in, cell.recurrent_kernel[:, : 2 * units])
    z = cell.recurrent_activation(x_z + inner[:, :units])
    r = cell.recurrent_activation(x_r + inner[:, units : 2 * units])
    if cell.reset_after:
        recurrent_h = r * inner[:, 2 * units :]
    else:
        recurrent_h = ops.matmul(r * h_in, cell.recurrent_kernel[:, 2 * units :])
    hh = cell.activation(x_h + recurrent_h)
    return z * h_tm1 + (1 - z) * hh


# ----------------------------------------------------------------------------
# Layers.
# ----------------------------------------------------------------------------
class VariationalRNN(_keras.StepLoopSwitch):
    """What kerasdrop's `LSTM`, `GRU` and `SimpleRNN` add to Keras' layer.

    Attributes:
        input_dropout: the `Dropout` on the input sequence, mask
            `(batch, 1, features)` shared over time.
        state_dropout: the `Dropout` on `h_{t-1}` in the recurrent matmul,
            mask `(batch, units)` shared over time; None when built with
            `recurrent_dropout=None`.

    `layer.dropout` and `layer.recurrent_dropout` stay Keras' (the stock
    cell's own rates, always 0 here); the live rates are
    `layer.input_dropout.rate` and `layer.state_dropout.rate`.
    """

    _cell_class = None  # the cell subclass honouring `state_mask`

    def __init__(
        self,
        units,
        *args,
        dropout=0.0,
        recurrent_dropout=None,
        seed=None,
        mc=False,
        recurrent_mc=None,
        **kwargs,
    ):
        units = _checks.check_int("units", units, minimum=1)
        _check_keras_args(kwargs)
        checked = _init_args(dropout, recurrent_dropout, seed, mc, recurrent_mc, kwargs)
        super().__init__(
            units, *args, dropout=0.0, recurrent_dropout=0.0, seed=checked[2], **kwargs
        )
        self._attach_dropout(*checked)

    def _attach_dropout(self, dropout, recurrent_dropout, seed, mc, recurrent_mc):
        # Keras' constructor built its stock cell; our subclass only adds
        # `call`, so every attribute the constructor set stays valid.
        _keras.adopt_cell(self, self._cell_class)
        common = {"dtype": self.dtype_policy, "mc": mc}
        self.input_dropout = Dropout(
            dropout,
            noise_shape=(None, 1, None),
            seed=seed,
            name=f"{self.name}_input_dropout",
            **common,
        )
        self.state_dropout = None
        if recurrent_dropout is not None:
            common["mc"] = mc if recurrent_mc is None else recurrent_mc
            self.state_dropout = Dropout(
                recurrent_dropout,
                seed=None if seed is None else seed + 1,
                name=f"{self.name}_state_dropout",
                **common,
            )

    @property
    def dropout_layers(self):
        """The layer's kerasdrop dropout sublayers (input first)."""
        return [x for x in (self.input_dropout, self.state_dropout) if x is not None]

    def _state_mask(self, sequences, training):
        if self.state_dropout is None:
            return None
        rate = self.state_dropout.active_rate(training)
        if rate is None:
            return None
        ones = ops.ones(
            (ops.shape(sequences)[0], self.cell.units), dtype=self.cell.compute_dtype
        )
        return self.state_dropout.drop(ones, rate)

    def call(self, sequences, initial_state=None, mask=None, training=False):
        sequences = self.input_dropout(sequences, training=training)
        self.cell.state_mask = self._state_mask(sequences, training)
        try:
            return super().call(
                sequences, initial_state=initial_state, mask=mask, training=training
            )
        finally:
            self.cell.state_mask = None

    def _needs_step_loop(self):
        # The state mask enters every step: Keras' generic step loop. A layer
        # with state dropout takes it at inference too, as a stock layer with
        # `recurrent_dropout` does (Keras never runs its fused kernel there):
        # the same kernels, so `convert` is exact. Else the Keras layer's own
        # path (its fused kernel, cuDNN where it can).
        return self.cell.state_mask is not None or self.state_dropout is not None

    def get_config(self):
        config = super().get_config()
        state = self.state_dropout
        config["dropout"] = self.input_dropout.get_config()["rate"]
        config["recurrent_dropout"] = (
            None if state is None else state.get_config()["rate"]
        )
        config["seed"] = self.input_dropout.seed
        config["mc"] = self.input_dropout.mc
        if state is not None and state.mc != self.input_dropout.mc:
            config["recurrent_mc"] = state.mc
        if hasattr(self.cell, "implementation"):  # LSTM, GRU
            config["implementation"] = self.cell.implementation
        return config


#: Keras' boolean arguments of the recurrent layers (each layer takes some).
_BOOL_ARGS = (
    "use_bias",
    "return_sequences",
    "return_state",
    "go_backwards",
    "stateful",
    "unroll",
    "unit_forget_bias",
    "reset_after",
)


def _check_keras_args(kwargs):
    """The Keras arguments Keras itself takes as they come (`return_sequences=
    "yes"` is truthy, `implementation=3` runs as 2), checked before its
    constructor runs; an argument the layer lacks is left to Keras' own
    "Unrecognized keyword arguments" error."""
    for name in _BOOL_ARGS:
        if name in kwargs:
            _checks.check_bool(name, kwargs[name])
    for name, value in kwargs.items():
        kind = name.rsplit("_", 1)[-1]  # activation, initializer, ...
        if kind in _IDENTIFIERS:
            _check_identifier(name, value, kind)
    if "use_cudnn" in kwargs:
        _checks.check_choice("use_cudnn", kwargs["use_cudnn"], ("auto", True, False))
    if "implementation" in kwargs:
        value = kwargs["implementation"]
        if not _checks.is_int(value):
            raise _checks.type_error("implementation", "1 or 2", value)
        _checks.check_choice("implementation", value, (1, 2))


#: Keras' getters of the objects an RNN argument names by identifier.
_IDENTIFIERS = {
    "activation": keras.activations.get,
    "initializer": keras.initializers.get,
    "regularizer": keras.regularizers.get,
    "constraint": keras.constraints.get,
}


def _check_identifier(name, value, kind):
    """None, a callable, or a Keras `kind` (activation, initializer...) named
    by string or config dict: what Keras' getter takes, with an error naming
    the argument."""
    expected = f"None, a callable or the name of a Keras {kind}"
    if value is None or callable(value):
        return
    if not isinstance(value, (str, dict)):
        raise _checks.type_error(name, expected, value)
    try:
        _IDENTIFIERS[kind](value)
    except (ValueError, TypeError):
        raise _checks.value_error(name, expected, value) from None


def _init_args(dropout, recurrent_dropout, seed, mc, recurrent_mc, kwargs):
    """Validated kerasdrop arguments, before Keras' constructor runs."""
    dropout = base_lib.check_rate_or_schedule("dropout", dropout)
    recurrent_dropout = base_lib.check_rate_or_schedule(
        "recurrent_dropout", recurrent_dropout, allow_none=True
    )
    seed = base_lib.check_seed(seed)
    mc = base_lib.check_mc(mc)
    if recurrent_mc is not None:
        recurrent_mc = _checks.check_bool("recurrent_mc", recurrent_mc)
    if kwargs.get("use_cudnn") is True and recurrent_dropout is not None:
        raise _checks.value_error(
            "use_cudnn",
            "'auto' (cuDNN whenever the state is not dropped) or False: state "
            "dropout (`recurrent_dropout` not None) multiplies the state inside "
            "Keras' step loop, which cuDNN cannot run; or pass "
            f"`recurrent_dropout=None` (it is {recurrent_dropout!r})",
            True,
        )
    return dropout, recurrent_dropout, seed, mc, recurrent_mc


_DOC_ARGS = """
    Args:
        units: positive integer, dimensionality of the output space.
        dropout: float in `[0, 1)` or a `kerasdrop.schedules.Schedule`:
            the input dropout rate (one mask per sequence, shared over time).
        recurrent_dropout: None (default: no state dropout, Keras' fast path
            kept), or a float in `[0, 1)` or a `Schedule`: the rate of the
            mask on the recurrent state (shared over time and gates). `0.0`
            builds the state dropout at rate 0, ready to be raised later.
        seed: optional integer seed of the input mask (the state mask
            uses `seed + 1`).
        mc: bool, default False. If True, both masks are also drawn at
            inference (Monte-Carlo dropout).
        recurrent_mc: optional bool, the state dropout's MC flag when it
            differs from `mc`.
        **kwargs: every other argument of the Keras layer, by keyword.

    Call arguments:
        sequences: floating-point tensor `(batch, timesteps, features)`.
        initial_state: optional list of initial state tensors.
        mask: optional boolean tensor `(batch, timesteps)`, as in Keras.
        training: Python boolean: training mode (both masks drawn) or
            inference mode (no dropout, unless an MC flag is set or the
            layer is sampled by `kerasdrop.mc`).

    Input shape:
        3D tensor `(batch, timesteps, features)`.

    Output shape:
        As the Keras layer's: `(batch, units)`, or
        `(batch, timesteps, units)` with `return_sequences=True` (plus the
        final states with `return_state=True`).
"""


@_register
class LSTM(VariationalRNN, keras.layers.LSTM):
    __doc__ = (
        """Keras' `LSTM` with variational dropout at variable rates.

    One input mask and one state mask per sequence, shared over all time
    steps (Gal & Ghahramani, 2016); the rates are variables: assign them
    (`layer.input_dropout.rate = 0.3`), schedule them, or sample at
    inference with `kerasdrop.mc`. See `kerasdrop.layers.recurrent`.
"""
        + _DOC_ARGS
        + """
    Example:

    >>> import numpy as np, kerasdrop
    >>> layer = kerasdrop.layers.LSTM(4, dropout=0.2, recurrent_dropout=0.1)
    >>> tuple(layer(np.ones((2, 5, 3), "float32"), training=True).shape)
    (2, 4)
    >>> layer.state_dropout.rate = 0.3  # a variable: also inside `fit`
    """
    )

    _cell_class = _LSTMCell


@_register
class GRU(VariationalRNN, keras.layers.GRU):
    __doc__ = (
        """Keras' `GRU` with variational dropout at variable rates.

    As `kerasdrop.layers.LSTM`. The state mask applies where `h_{t-1}`
    enters the recurrent matmul, not in the final mix
    `z * h_{t-1} + (1 - z) * hh`.
"""
        + _DOC_ARGS
        + """
    Example:

    >>> import numpy as np, kerasdrop
    >>> layer = kerasdrop.layers.GRU(4, dropout=0.2, recurrent_dropout=0.1)
    >>> tuple(layer(np.ones((2, 5, 3), "float32"), training=True).shape)
    (2, 4)
    """
    )

    _cell_class = _GRUCell


@_register
class SimpleRNN(VariationalRNN, keras.layers.SimpleRNN):
    __doc__ = (
        """Keras' `SimpleRNN` with variational dropout at variable rates.

    As `kerasdrop.layers.LSTM`.
"""
        + _DOC_ARGS
        + """
    Example:

    >>> import numpy as np, kerasdrop
    >>> layer = kerasdrop.layers.SimpleRNN(4, dropout=0.2)
    >>> tuple(layer(np.ones((2, 5, 3), "float32")).shape)
    (2, 4)
    """
    )

    _cell_class = _SimpleRNNCell


# ----------------------------------------------------------------------------
# Stock <-> kerasdrop.
# ----------------------------------------------------------------------------
#: Keras' RNN classes and their kerasdrop counterparts.
KERASDROP_CLASS = {
    keras.layers.LSTM: LSTM,
    keras.layers.GRU: GRU,
    keras.layers.SimpleRNN: SimpleRNN,
}


def stock_class(layer):
    """The Keras class (`LSTM`, `GRU`, `SimpleRNN`) `layer` is, or None."""
    for cls in type(layer).__mro__:
        if cls in KERASDROP_CLASS:
            return cls
    return None


def stock_rates(layer):
    """`{"dropout": p, "recurrent_dropout": q}` of a stock RNN's cell."""
    return {
        name: float(getattr(layer.cell, name, 0.0) or 0.0)
        for name in ("dropout", "recurrent_dropout")
    }


def _copy_weights(source, target):
    """Builds `target` like `source` and gives it `source`'s cell weights
    (and states, when stateful), through the host."""
    if not target.built:
        batch = source.states[0].shape[0] if source.stateful else None
        target.build((batch, None, source.cell.kernel.shape[0]))
    pairs = list(zip(source.cell.weights, target.cell.weights))
    if source.stateful and source.states is not None:
        pairs += list(
            zip(keras.tree.flatten(source.states), keras.tree.flatten(target.states))
        )
    for old, new in pairs:
        new.assign(ops.convert_to_numpy(old.value))


def _keras_options(layer, config):
    """Constructor options Keras does not serialize: the cell's
    `implementation` (kept so outputs stay bit-identical) and `use_cudnn`."""
    if hasattr(layer.cell, "implementation"):
        config["implementation"] = layer.cell.implementation
    if hasattr(layer, "use_cudnn"):
        config["use_cudnn"] = layer.use_cudnn
    return config


def from_stock(layer, mc=False):
    """The kerasdrop RNN equivalent of a built stock `LSTM`/`GRU`/`SimpleRNN`:
    same configuration, rates, seed, name and weights (a stock
    `recurrent_dropout` of 0 becomes None: no state dropout).

    Example:

    >>> import numpy as np, keras, kerasdrop
    >>> stock = keras.layers.GRU(3, dropout=0.1, recurrent_dropout=0.2)
    >>> _ = stock(np.ones((1, 4, 2), "float32"))
    >>> layer = kerasdrop.layers.recurrent.from_stock(stock)
    >>> type(layer).__name__, layer.input_dropout.rate, layer.state_dropout.rate
    ('GRU', 0.1, 0.2)
    """
    rates = stock_rates(layer)
    config = _keras_options(layer, layer.get_config())
    config.update(
        dropout=rates["dropout"],
        recurrent_dropout=rates["recurrent_dropout"] or None,
        mc=mc,
        **_kernel_path(layer),
    )
    new = KERASDROP_CLASS[stock_class(layer)].from_config(config)
    _copy_weights(layer, new)
    return new


def to_stock(layer, dropout=0.0, recurrent_dropout=0.0):
    """The stock Keras layer of a kerasdrop RNN, with the given (constant)
    rates, same configuration, name and weights. With the default rates of
    0 it computes what `layer` computes at inference: bit for bit on TF and
    JAX; on torch, for a layer with `recurrent_dropout`, up to float32
    rounding (~3e-8: the stock layer without it takes another op order).

    Example:

    >>> import numpy as np, keras, kerasdrop
    >>> layer = kerasdrop.layers.LSTM(3, dropout=0.5, recurrent_dropout=0.5)
    >>> x = np.ones((1, 4, 2), "float32")
    >>> y = layer(x)  # builds it
    >>> served = kerasdrop.layers.recurrent.to_stock(layer)
    >>> gap = keras.ops.max(keras.ops.abs(served(x) - y))
    >>> type(served).__module__.split(".")[0], bool(gap < 1e-6)
    ('keras', True)
    """
    config = _keras_options(layer, layer.get_config())
    for key in ("mc", "recurrent_mc"):
        config.pop(key, None)
    config.update(
        dropout=dropout, recurrent_dropout=recurrent_dropout, **_kernel_path(layer)
    )
    new = stock_class(layer).from_config(config)
    _copy_weights(layer, new)
    return new


def _kernel_path(layer):
    """`{"implementation": n}` of an LSTM/GRU cell, to carry over: Keras
    splits the gate matmuls (implementation 1) whenever `recurrent_dropout`
    is set, and one fused matmul rounds differently on some backends (torch:
    up to 1e-7), so a converted or stripped layer keeps the original's
    (kerasdrop's layers save it in their config; a stock layer's config
    leaves it out, and a stripped one runs Keras' fused kernel anyway)."""
    implementation = getattr(getattr(layer, "cell", None), "implementation", None)
    return {} if implementation is None else {"implementation": implementation}


def is_variational(layer):
    """True for kerasdrop's `LSTM`, `GRU` and `SimpleRNN`."""
    return isinstance(layer, VariationalRNN)
