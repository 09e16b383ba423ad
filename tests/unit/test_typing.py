"""The public API is typed (issue 17, point 7): every public function and
method of every public module annotates each parameter and its return, and
the annotations resolve (typing.get_type_hints), so that a type checker and
an editor see them; the package ships py.typed."""
import importlib
import inspect
import pathlib
import typing

import pytest

import fastconv

MODULES = ["fastconv", "fastconv.signal", "fastconv.numpy", "fastconv.ndimage",
           "fastconv.astropy", "fastconv.filters", "fastconv.feature", "fastconv.restoration",
           "fastconv.stream", "fastconv.lti", "fastconv.dask", "fastconv.dask.ndimage"]


def public_callables():
    for name in MODULES:
        mod = importlib.import_module(name)
        for attr in getattr(mod, "__all__", []):
            obj = getattr(mod, attr)
            if inspect.isclass(obj):
                if issubclass(obj, BaseException):
                    continue
                for meth, f in vars(obj).items():
                    f = getattr(f, "__func__", f)
                    if inspect.isfunction(f) and (not meth.startswith("_") or meth == "__init__"):
                        yield f"{name}.{attr}.{meth}", f
            elif inspect.isfunction(obj):
                yield f"{name}.{attr}", obj


CALLABLES = dict(public_callables())


def test_the_list_is_not_empty():
    # the walk itself can fail: it must find the functions known to exist
    assert {"fastconv.convolve", "fastconv.filters.filter", "fastconv.stream.Convolver.process",
            "fastconv.lti.LTISystem.from_ba"} <= set(CALLABLES)


@pytest.mark.parametrize("name", sorted(CALLABLES))
def test_annotated_and_resolvable(name):
    f = CALLABLES[name]
    hints = typing.get_type_hints(f)
    sig = inspect.signature(f)
    missing = [p for p in sig.parameters if p not in ("self", "cls") and p not in hints
               and sig.parameters[p].kind not in (inspect.Parameter.VAR_POSITIONAL,
                                                  inspect.Parameter.VAR_KEYWORD)]
    assert not missing, f"{name}: parameters without a type hint: {missing}"
    assert "return" in hints, f"{name}: no return annotation"


def test_py_typed_ships():
    assert (pathlib.Path(fastconv.__file__).parent / "py.typed").exists()
