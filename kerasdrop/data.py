"""Bundled data sets (scikit-learn ships them: nothing is downloaded).

scikit-learn is imported when a loader is called, not with `kerasdrop`.
"""

from kerasdrop import _checks

IN_0_1 = "a float in (0, 1)"


def load_digits(validation_split=0.15, test_split=0.2, seed=0):
    """scikit-learn's 8x8 digits as float32 `(x, y)` splits.

    Pixels are scaled to [0, 1]; the split is stratified and seeded.

    Returns:
        `((x_train, y_train), (x_val, y_val), (x_test, y_test))`.

    Example:

    >>> (x, y), _, _ = load_digits()
    >>> x.shape[1], x.dtype.name
    (64, 'float32')
    """
    from sklearn.datasets import load_digits as sk_load_digits
    from sklearn.model_selection import train_test_split

    for name, value in (
        ("validation_split", validation_split),
        ("test_split", test_split),
    ):
        _checks.check_number(name, value, minimum=0, strict=True, expected=IN_0_1)
        if not value < 1.0:
            raise _checks.value_error(name, IN_0_1, value)
    if validation_split + test_split >= 1.0:
        raise _checks.invalid_value(
            "validation_split",
            "Expected validation_split + test_split < 1.",
            f"validation_split={validation_split!r}, test_split={test_split!r}",
        )
    digits = sk_load_digits()
    x = (digits.data / 16.0).astype("float32")
    y = digits.target.astype("int32")
    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=test_split, random_state=seed, stratify=y
    )
    val_fraction = validation_split / (1.0 - test_split)
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=val_fraction, random_state=seed, stratify=y_rest
    )
    return (x_train, y_train), (x_val, y_val), (x_test, y_test)
