"""The course material (the seeds in ``/work/shared/seeds/``) under the names a reader knows.

A seed's file name ("003") means nothing outside this repository, so documents, catalog notes
and docstrings name the source instead: one table here, used by the library and by the
derivation sources alike.

>>> course_source("003")
'the lecture slides “Neural Network Training Basics” (S. Baek)'
>>> course_source("003", short=True, possessive=True, capital=True)
"The lecture slides'"
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["COURSE_SOURCES", "CourseSource", "course_source"]


@dataclass(frozen=True)
class CourseSource:
    """One piece of course material: its kind ("lecture slides"), title, author and year."""

    kind: str
    title: str
    author: str | None = None
    year: int | None = None
    plural: bool = False  # "the lecture notes' ..." rather than "the blog post's ..."


#: Seed number (the file name's prefix) -> the source as a reader would cite it.
COURSE_SOURCES: dict[str, CourseSource] = {
    "000": CourseSource("lecture notes", "Loss Functions", plural=True),
    "001": CourseSource("blog post", "Deep Dive: Loss Functions", year=2018),
    "002": CourseSource("tutorial", "Forward and Backward Propagation"),
    "003": CourseSource("lecture slides", "Neural Network Training Basics", author="S. Baek",
                        plural=True),
}


def course_source(seed: str, *, short: bool = False, possessive: bool = False,
                  capital: bool = False, plain: bool = False) -> str:
    """The reader-facing name of course seed ``seed`` ("000" ... "003").

    ``short`` gives "the lecture slides" (for a second mention), otherwise the title (and
    author or year) follow; ``possessive`` appends "'" or "'s" to the short form; ``capital``
    starts a sentence; ``plain`` quotes the title with ASCII ``"`` (docstrings, plain text)
    instead of typographic quotes.
    """
    try:
        src = COURSE_SOURCES[seed]
    except KeyError:
        raise ValueError(f"unknown course seed {seed!r}; known: {', '.join(COURSE_SOURCES)}")
    name = f"the {src.kind}"
    if possessive:
        name += "'" if src.plural else "'s"
    elif not short:
        left, right = ('"', '"') if plain else ("\u201c", "\u201d")
        name += f" {left}{src.title}{right}"
        extra = ", ".join(str(x) for x in (src.author, src.year) if x)
        if extra:
            name += f" ({extra})"
    return name[0].upper() + name[1:] if capital else name
