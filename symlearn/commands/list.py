"""``symlearn list``: every derivation with a one-line summary."""

NAME = "list"
HELP = "list every derivation with a one-line summary"


def configure(parser):
    from ._common import add_source

    add_source(parser)


def run(args) -> int:
    from ._common import load_entries

    entries = load_entries(args)
    width = max((len(n) for n in entries), default=0)
    for entry in entries.values():
        print(f"{entry.name:<{width}}  {entry.summary}")
    return 0
