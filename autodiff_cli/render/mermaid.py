"""The computation graph as a Mermaid flowchart, which GitHub and many Markdown viewers draw."""

from __future__ import annotations

from ..errors import command_line_spelling
from ..views.graph import GraphView, cut, hidden_note, node_lines, shown_edges, title


def _mermaid_text(text: str) -> str:
    # Entity codes keep quotes and angle brackets from ending the label; '#' starts an entity.
    for char, code in (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
        text = text.replace(char, code)
    return text


def to_mermaid(view: GraphView, depth: int | None = None) -> str:
    """A Mermaid flowchart, which GitHub and many Markdown viewers draw from a ```mermaid block."""
    part = cut(view, depth)
    kept = set(part.kept)
    lines = ["flowchart LR", f"  %% {_mermaid_text(title(view))}"]
    for node in view.nodes:
        if node.id not in kept:
            continue
        label = "<br/>".join(_mermaid_text(line) for line in node_lines(node))
        shape = '(["{}"])' if node.kind == "variable" else '["{}"]'  # variables are stadiums
        lines.append(f"  {node.id}{shape.format(label)}")
    for node_id in part.truncated:
        lines.append(f'  more_{node_id}["…"] -.-> {node_id}')
    for edge, label in shown_edges(view, part):
        arrow = f'-->|"{_mermaid_text(label)}"|' if label else "-.->"
        lines.append(f"  {edge.source} {arrow} {edge.target}")
    if part.hidden:
        note = hidden_note(part.hidden, depth, command_line_spelling)
        lines.append(f'  hidden_note["{_mermaid_text(note)}"]')
    classes = {
        "variable": [n.id for n in view.nodes if n.kind == "variable" and n.id in kept],
        "constant": [n.id for n in view.nodes if n.kind == "constant" and n.id in kept],
    }
    lines.append("  classDef variable fill:#dbeafe,stroke:#1d4ed8")
    lines.append("  classDef constant fill:#f1f5f9,stroke:#94a3b8")
    lines.append("  classDef output fill:#dcfce7,stroke:#15803d,stroke-width:2px")
    for name, members in classes.items():
        if members:
            lines.append(f"  class {','.join(members)} {name}")
    lines.append(f"  class {view.output} output")
    return "\n".join(lines) + "\n"
