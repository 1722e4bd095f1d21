"""Widgets on a static page: a still of what the widget showed, and a link that launches it live.

An ipywidgets output has no static rendering (it needs a kernel), and the widget JavaScript myst-nb would load
comes from a CDN. So each widget output is replaced by the pictures the widget itself displayed when the
committed notebook ran: they are in the notebook's saved widget state (an Output widget's PNG outputs,
an ipympl canvas's `_data_url`), collected from the displayed widget's model through every `IPY_MODEL_`
reference. Nothing is re-executed, the still is exactly the executed series, and no widget JavaScript is on
the page. Under it, "launch to play" opens the notebook on Binder.

Also here, for the same reason (a page must not reach outside the site): cells tagged as hosted-setup
cells are dropped (they install minidl in a hosted service; a reader needs none of it), and remote images in
the notebooks' markdown (launch badges) become their alt text, the link kept.
"""

import html
import json
import re

import site_links
from docutils import nodes

VIEW = "application/vnd.jupyter.widget-view+json"
STATE = "application/vnd.jupyter.widget-state+json"
SCRIPT = re.compile(r'<script type="' + re.escape(VIEW) + r'">(.*)</script>', re.DOTALL)
HIDDEN_TAGS = {"hosted-setup", "hosted_setup", "remove-cell"}


def stills(state: dict, model_id: str) -> list[str]:
    """The images (data: URLs) a displayed widget shows, in the order its models reference them."""
    found, seen, todo = [], set(), [model_id]
    while todo:
        m = todo.pop(0)
        if m in seen or m not in state:
            continue
        seen.add(m)
        s = state[m].get("state", {})
        if isinstance(s.get("_data_url"), str) and s["_data_url"].startswith("data:image/"):
            found.append(s["_data_url"])
        for out in s.get("outputs", []) if state[m].get("model_name") == "OutputModel" else []:
            png = out.get("data", {}).get("image/png")
            if png:
                found.append("data:image/png;base64," + "".join(png).replace("\n", ""))
        todo += re.findall(r"IPY_MODEL_([0-9a-f]{32})", json.dumps(s))
    return found


def still_html(images: list[str], launch: str) -> str:
    """The HTML that stands for one widget: its stills and the launch link."""
    imgs = "".join(f'<img src="{src}" alt="a still of the live widget">' for src in images)
    note = "" if images else "<p>(This widget shows no picture until it runs.)</p>"
    return (f'<figure class="minidl-widget-still">{imgs}{note}<figcaption>A live widget, shown as it was when the '
            f'notebook ran. <a class="minidl-launch" href="{html.escape(launch)}">▶ Launch to play</a> '
            f"(Binder, in your browser), or locally: <code>make lab</code>.</figcaption></figure>")


def _tags(node) -> set[str]:
    return set((node.get("cell_metadata") or {}).get("tags", []) or [])


def replace_widgets(app, doctree):
    """doctree-read: widget outputs -> stills + launch link; hosted-setup cells out; remote images -> alt text."""
    docname = app.env.docname
    if not docname.startswith("notebooks/"):
        return
    for cell in list(doctree.findall(nodes.container)):
        if cell.get("nb_element") in ("cell_code", "cell_markdown") and _tags(cell) & HIDDEN_TAGS:
            cell.parent.remove(cell)
    for image in list(doctree.findall(nodes.image)):
        if re.match(r"https?://", image.get("uri", "")):
            image.replace_self(nodes.inline("", image.get("alt") or "link", classes=["minidl-badge-text"]))
    path = app.env.doc2path(docname)
    metadata = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
    state = metadata.get("widgets", {}).get(STATE, {}).get("state", {})
    launch = site_links.binder(path.name)
    for raw in list(doctree.findall(nodes.raw)):
        found = SCRIPT.fullmatch(raw.astext().strip())
        if found:
            view = json.loads(found.group(1))
            model_id = (json.loads(view) if isinstance(view, str) else view)["model_id"]   # myst-nb quotes it
            raw.replace_self(nodes.raw("", still_html(stills(state, model_id), launch), format="html"))
    js_files = getattr(app.env, "nb_metadata", {}).get(docname, {}).get("js_files", {})
    js_files.pop("ipywidgets_state", None)             # the saved state: no widget code reads it here
