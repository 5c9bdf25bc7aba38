"""The serving tests' shared export (SavedModel and pipeline tests read it)."""

import keras
import pytest
from export_models import mixed_model

import kerasdrop
from kerasdrop.serving import sample_inputs_for


# Session scope: test_saved_model.py and test_export_pipeline.py share one
# export (it was module-scoped when both lived in one file).
@pytest.fixture(scope="session")
def mixed_export(tmp_path_factory):
    """The mixed model exported once (TF Serving layout, MC signature)."""
    keras.backend.clear_session()
    model = mixed_model()
    base = tmp_path_factory.mktemp("mixed") / "served"
    x = sample_inputs_for(model)
    path = kerasdrop.export(model, base, mc_samples=64, version=7, sample_inputs=x)
    return model, base, path, x
