"""show_source: minidl's real source, titled with its path in the package (the floors show)."""

import pytest

import minidl as md
from minidl.lab import experiments
from minidl.tools.show import show_source


@pytest.mark.parametrize("obj, title", [
    (md.Linear, "minidl/framework/layers.py: Linear"),
    (md.Linear.backward, "minidl/framework/layers.py: Linear.backward"),
    (md.fit, "minidl/training/train.py: fit"),
    (experiments.run_pair, "minidl/lab/experiments.py: run_pair"),
])
def test_the_title_is_the_path_inside_the_package(obj, title):
    assert show_source(obj).title == title


def test_without_docstring_drops_only_the_docstring():
    full, bare = show_source(md.gradcheck), show_source(md.gradcheck, docstring=False)
    assert '"""' in full.code and '"""' not in bare.code and bare.code.startswith("def gradcheck(")
    assert len(bare.code.splitlines()) < len(full.code.splitlines())


def test_objects_without_source_are_refused_in_one_line():
    with pytest.raises(TypeError, match="show_source: cannot find the source of 3"):
        show_source(3)
