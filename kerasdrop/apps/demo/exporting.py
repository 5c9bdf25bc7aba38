"""The demo's export: the best model in the format its backend serves.

On TensorFlow and JAX, a SavedModel with an `mc` signature: `export_best`
calls `kerasdrop.export` (which loads the SavedModel back and checks both
signatures on the test digits) and reads the signatures that
`saved_model.pb` declares, for the report. On PyTorch, where Keras writes
no SavedModel, an ONNX file (`model.onnx`), run back in onnxruntime and
checked on the test digits; MC predictions there come from
`kerasdrop.mc.predict`, which the report already shows.
"""

import keras

from kerasdrop.apps.demo.settings import EXPORT_ATOL, EXPORT_RTOL


def _declared_signatures(path):
    """Signature name -> output names, as `saved_model.pb` declares them
    (what `saved_model_cli show` prints; nothing is loaded or run). The
    internal `__saved_model_init_op` is left out, as `.signatures` does."""
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((path / "saved_model.pb").read_bytes())
    signatures = proto.meta_graphs[0].signature_def
    return {
        name: sorted(sig.outputs)
        for name, sig in signatures.items()
        if not name.startswith("__")
    }


def export_best(model, path, samples, x):
    """`kerasdrop.export` with an `mc` signature, verified on `x`.

    `kerasdrop.export` loads the SavedModel back before it returns, checks
    that `serving_default` matches `model(x, training=False)` on `x` (within
    `EXPORT_RTOL`, `EXPORT_ATOL`) and that the `mc` signature is finite on
    `x`, and raises if not. Returns what the report states: the path, the
    rows verified, the tolerances, and the signatures and `mc` outputs that
    `saved_model.pb` declares.
    """
    import kerasdrop

    from kerasdrop.serving.pipeline import BACKEND_FORMATS

    if BACKEND_FORMATS.get(keras.backend.backend()) == "onnx":  # PyTorch
        return _export_onnx(model, path, x)
    target = kerasdrop.export(
        model,
        path,
        mc_samples=samples,
        overwrite=True,
        classifier="softmax",
        sample_inputs=x,
        rtol=EXPORT_RTOL,
        atol=EXPORT_ATOL,
    )
    signatures = _declared_signatures(target)
    return {
        "format": "tf_saved_model",
        "path": str(target),
        "signatures": sorted(signatures),
        "mc_samples": samples,
        "mc_outputs": signatures["mc"],
        "verified_on": len(x),
        "rtol": EXPORT_RTOL,
        "atol": EXPORT_ATOL,
    }


def _export_onnx(model, path, x):
    """The torch backend's export: a verified ONNX file, no `mc` signature."""
    import kerasdrop

    target = kerasdrop.export(
        model,
        path.with_name(path.name + ".onnx"),
        format="onnx",
        overwrite=True,
        classifier="softmax",
        sample_inputs=x,
        rtol=EXPORT_RTOL,
        atol=EXPORT_ATOL,
    )
    return {
        "format": "onnx",
        "path": str(target),
        "signatures": [],
        "mc_samples": None,
        "mc_outputs": [],
        "verified_on": len(x),
        "rtol": EXPORT_RTOL,
        "atol": EXPORT_ATOL,
    }
