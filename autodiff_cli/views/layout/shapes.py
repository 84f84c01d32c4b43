"""The layout's results and its tuning constants."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Direction = Literal["LR", "TB"]
"""``LR``: ranks from left to right (inputs left); ``TB``: from top to bottom."""

ORDER_SWEEPS = 8
"""At most this many down-and-up barycenter sweeps; the best ordering seen is kept."""

PLACE_SWEEPS = 4
"""Down-and-up least-squares passes over the layers, then half as many median passes."""

PORT_GAP = 10.0
"""Preferred distance between the ends of two edges on one side of a box."""

LABEL_PAD = 3.0
"""Between an edge and its label."""

REAL, DUMMY, LABEL = 0, 1, 2
"""The kinds of vertex of the layered graph: a node of the input, a dummy on a long edge, a label."""

WEIGHTS = ((1.0, 2.0, 2.0), (2.0, 8.0, 8.0), (2.0, 8.0, 8.0))
"""How much each layered edge wants to be straight, by the kinds of its ends (dot's 1, 2, 8):
long edges are straightened first."""

STAY = 1e-3
"""A faint pull of each vertex to where it is, so that isolated ones keep their place."""


@dataclass(frozen=True, slots=True)
class PlacedNode:
    """A node's box: its centre, its size, and where it sits in the layering."""

    id: str
    x: float
    y: float
    width: float
    height: float
    rank: int
    """Its layer, from 0 (layers of labels and dummies count too)."""
    order: int
    """Its position within the layer, from 0, counting the dummies that pass there."""


@dataclass(frozen=True, slots=True)
class PlacedEdge:
    """An edge's route, from a point on its source's box to a point on its target's box."""

    source: str
    target: str
    points: tuple[tuple[float, float], ...]
    label: tuple[float, float] | None
    """The centre of the label's box, for a labelled edge."""
    shortcut: bool = False
    """Its first step (from the first to the second point after the source's layer) jumps
    over layers, over whatever is drawn there: the dummy budget had no room for it."""


@dataclass(frozen=True, slots=True)
class Layout:
    """Where everything goes; coordinates grow right and down from (0, 0)."""

    nodes: tuple[PlacedNode, ...]
    """In input order."""
    edges: tuple[PlacedEdge, ...]
    """In input order."""
    width: float
    height: float
    direction: Direction
    layers: int
    segments: tuple[tuple[int, int, int], ...]
    """Every drawn piece of an edge between adjacent layers, as (layer, order in that layer,
    order in the next layer); a trunk shared by several edges is one piece, a shortcut's
    jump is none."""
