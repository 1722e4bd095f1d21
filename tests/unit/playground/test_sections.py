"""A panel's section: open or closed as its Accordion says; its callbacks' errors in one red line."""

import ipywidgets as W
import torch

from minidl.playground.sections import Foldable, callback, follow_sections
from minidl.playground.settings import Settings


class Probe(Foldable):
    def __init__(self):
        self.widget, self.settings, self.message, self.openings = W.HTML(), Settings(), W.HTML(), 0

    def opened(self):
        self.openings += 1

    @callback
    def fail(self):
        assert torch.get_default_dtype() == torch.float32          # inside the app's settings
        raise ValueError("no good\nsecond line")


def test_a_panel_follows_the_accordion_that_holds_it():
    probe, other = Probe(), Probe()
    accordion = W.Accordion([probe.widget], titles=["probe"])
    follow_sections(W.VBox([W.HBox([accordion]), other.widget]), [probe, other])
    assert not probe.open and probe.openings == 0
    accordion.selected_index = 0
    assert probe.open and probe.openings == 1
    accordion.selected_index = None
    assert not probe.open and probe.openings == 1
    assert not other.open                                          # not in an Accordion: never opened


def test_a_callbacks_error_is_one_red_line_and_the_settings_are_restored():
    probe = Probe()
    torch.set_default_dtype(torch.float64)
    try:
        probe.fail()
        assert torch.get_default_dtype() == torch.float64
    finally:
        torch.set_default_dtype(torch.float32)
    assert probe.message.value == "<span style='color:#C00000'>Error: ValueError: no good</span>"
