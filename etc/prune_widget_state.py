"""Drop the saved widget state that no output shows: python etc/prune_widget_state.py NOTEBOOK ...

nbconvert --execute saves the state of every widget the kernel ever made, also of widgets that were
created and closed without being displayed (notebook 10's checker trains headless apps). Only the
models reachable from a displayed widget (its model_id, then every IPY_MODEL_ reference) are kept.
A Layout's attributes that hold ipywidgets' default are dropped too (the page fills them in from
the same defaults): the playground's app has hundreds of Layouts, almost all default.
"""

import json
import re
import sys

KEY = "application/vnd.jupyter.widget-state+json"
VIEW = "application/vnd.jupyter.widget-view+json"


def prune(path: str) -> tuple[int, int]:
    with open(path, encoding="utf-8") as f:
        nb = json.load(f)
    state = nb.get("metadata", {}).get("widgets", {}).get(KEY, {}).get("state", {})
    todo = [o["data"][VIEW]["model_id"] for c in nb["cells"] for o in c.get("outputs", [])
            if VIEW in o.get("data", {})]
    keep: set[str] = set()
    while todo:
        m = todo.pop()
        if m not in keep and m in state:
            keep.add(m)
            todo += re.findall(r"IPY_MODEL_([0-9a-f]{32})", json.dumps(state[m]))
    before = len(state)
    for m in [m for m in state if m not in keep]:
        del state[m]
    defaults = _layout_defaults()
    for model in state.values():
        if model.get("model_name") == "LayoutModel":
            s = model["state"]
            for k in [k for k, v in s.items() if not k.startswith("_") and k in defaults and v == defaults[k]]:
                del s[k]
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return before, len(state)


def _layout_defaults() -> dict:
    import ipywidgets
    return ipywidgets.Layout().get_state()


if __name__ == "__main__":
    for p in sys.argv[1:]:
        before, after = prune(p)
        print(p, f"widget models: {before} -> {after}")
