"""Writes concrete_0_1_0.keras and its expected outputs (run once, kept as data).

The files were produced by kerasdrop 0.1.0 at commit
fc099ac2 ("checks: one home for argument checks ..."), the last commit
before `ConcreteDropout` dropped the rate/step variables it inherited from
`DropoutBase` (issue 14). In that layout a `ConcreteDropout` owns, in order,
`rate`, `step` (both unused) and `p_logit`; tests/layers/test_concrete.py checks
that the current code still loads the file, without warnings, and gives the
same outputs, learned rates and regularizers.

Run from the repository root (TensorFlow backend):

    PYTHONPATH=. python3 tests/data/make_concrete_0_1_0.py
"""

import os

import keras
import numpy as np
from keras import ops

import kerasdrop
from kerasdrop.layers import ConcreteDropout, SpatialConcreteDropout

HERE = os.path.dirname(os.path.abspath(__file__))
#: Learned rates given to the layers before saving (not the init rates).
RATES = {"concrete": 0.23, "spatial_concrete": 0.37}


def build():
    """Two inputs: a dense branch and a Conv2D branch, each with a Concrete layer."""
    keras.utils.set_random_seed(0)
    dense_in = keras.Input((4,), name="features")
    conv_in = keras.Input((5, 5, 2), name="image")
    concrete = ConcreteDropout(
        keras.layers.Dense(3),
        weight_regularizer=1e-2,
        dropout_regularizer=1e-3,
        init_rate=0.1,
        seed=1,
        name="concrete",
    )
    spatial = SpatialConcreteDropout(
        keras.layers.Conv2D(2, 3),
        weight_regularizer=1e-2,
        dropout_regularizer=1e-3,
        init_rate=0.2,
        seed=2,
        name="spatial_concrete",
    )
    dense_out = keras.layers.Dense(1, name="head")(concrete(dense_in))
    conv_out = keras.layers.Flatten()(spatial(conv_in))
    return keras.Model([dense_in, conv_in], [dense_out, conv_out])


def inputs():
    """The fixed input the expected outputs are computed on."""
    rng = np.random.default_rng(14)
    return [
        rng.normal(size=(3, 4)).astype("float32"),
        rng.normal(size=(3, 5, 5, 2)).astype("float32"),
    ]


def expected(model):
    """Inference outputs, learned rates and regularizers, as a dict of arrays."""
    x = inputs()
    dense_out, conv_out = model.predict(x, verbose=0)
    result = {"dense_out": dense_out, "conv_out": conv_out}
    for name in RATES:
        layer = model.get_layer(name)
        result[f"{name}_rate"] = np.float32(layer.rate)
        shape = (3, 4) if name == "concrete" else (3, 5, 5, 2)
        result[f"{name}_loss"] = np.float32(
            ops.convert_to_numpy(layer.regularization(shape))
        )
    return result


def main():
    assert keras.backend.backend() == "tensorflow", "written with the TF backend"
    model = build()
    for name, rate in RATES.items():
        model.get_layer(name).rate = rate
    model.save(os.path.join(HERE, "concrete_0_1_0.keras"))
    np.savez(os.path.join(HERE, "concrete_0_1_0.npz"), **expected(model))
    print("kerasdrop", kerasdrop.__version__, "->", HERE)


if __name__ == "__main__":
    main()
