"""examples/train_cnn_digits.py reaches the accuracy the README quotes (>= 97%
on the held-out quarter of scikit-learn's digits, 30 epochs)."""
import importlib.util
import pathlib

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "train_cnn_digits.py"


def test_digits_cnn_reaches_97_percent(tmp_path):
    spec = importlib.util.spec_from_file_location("train_cnn_digits", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    acc = mod.main(["--out", str(tmp_path)])
    assert acc >= 0.97
    assert (tmp_path / "loss.png").stat().st_size > 0
    assert (tmp_path / "filters.png").stat().st_size > 0
