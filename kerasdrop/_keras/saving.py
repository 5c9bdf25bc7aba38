"""Saving: hooks on the entries Keras writes into a `.keras` file."""

_SHARED_CONFIGS = "shared_objects/id_to_config_map"


class _EntryHooks(dict):
    """Keras' id -> entry map of a sharing scope, calling a hook on the
    entry of an object when Keras records it."""

    def __init__(self, entries):
        super().__init__(entries)
        self.hooks = {}

    def __setitem__(self, key, entry):
        super().__setitem__(key, entry)
        hook = self.hooks.pop(key, None)
        if hook is not None:
            hook(entry)


def on_serialized(obj, hook):
    """Arranges for `hook(entry)` to run on the entry Keras writes for `obj`
    (the dict with `class_name`, `config`, `build_config`, ... that the file
    holds) once it is complete, when `obj` is being serialized inside an
    object-sharing scope: `model.save`, `keras.saving.save_model` and
    `ModelCheckpoint` open one around the whole model. Returns False, doing
    nothing, outside such a scope (a bare `get_config()`).

    Relies on: `ObjectSharingScope` keeping its id -> entry map under the
    global-state key "shared_objects/id_to_config_map", and
    `record_object_after_serialization` storing there, right after an object
    is serialized, the very dict that is embedded in the saved config.
    """
    from keras.src.backend.common import global_state

    entries = global_state.get_global_attribute(_SHARED_CONFIGS)
    if entries is None:
        return False
    if not isinstance(entries, _EntryHooks):
        entries = _EntryHooks(entries)
        global_state.set_global_attribute(_SHARED_CONFIGS, entries)
    entries.hooks[id(obj)] = hook
    return True
