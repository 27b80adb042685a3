"""Backpropagation on f(x, y, z) = (x + y) z: forward and backward pass node by node
(from the lecture slides "Neural Network Training Basics")."""

import sympy as sp

from symlearn import graph
from symlearn._course_sources import course_source

NAME = "chain-rule-basics"

x, y, z = sp.symbols("x y z")
q, f = sp.symbols("q f")

# The course's "simple example" (the lecture slides, 'Backpropagation'); the point is CS231n's
# classic one.
GRAPH = graph((q, x + y), (f, q * z))
POINT = {x: -2, y: 5, z: -4}


def build():
    doc = GRAPH.backward(
        wrt=[x, y, z],
        at=POINT,
        name=NAME,
        title="The chain rule on $f(x, y, z) = (x + y)\\,z$",
        summary=(
            f"The course's first backpropagation example ({course_source('003')}): "
            "name the intermediate "
            "$q = x + y$, run the graph forward at $x = -2$, $y = 5$, $z = -4$, then backward, "
            "one local derivative at a time."
        ),
        digits=2,
        result_digits=2,
    )
    return doc.text(
        "Reading the result: $\\partial f/\\partial x = \\partial f/\\partial y = z = -4$ because "
        "an addition node passes its upstream gradient unchanged to both inputs, and "
        "$\\partial f/\\partial z = q = 3$ because a multiplication node sends each input the "
        "other input times the upstream gradient."
    )
