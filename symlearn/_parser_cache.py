r"""A disk cache of the LaTeX parser's prediction DFA, so a short-lived ``symlearn verify`` starts warm.

latex2sympy2_extended's parser is ANTLR's adaptive LL(*): the first time a decision meets a
lookahead it builds the DFA states that answer it, and that costs more than everything else a
one-formula process does (0.25 to 0.45 s for a first formula on the reference machine; the same
formula parses in 5 to 50 ms once the states exist). ANTLR keeps the DFA in class attributes of
the generated parser for the life of the process, which helps a server and never a command line.
This module saves those DFAs to a file and loads them at the next start, as ``__pycache__`` does
for bytecode: :func:`load` before parsing, :func:`save_if_grown` after.

The file is a header (a magic line and the SHA-256 of the rest) followed by a pickle written
with ``persistent_id``: ATN states (the grammar itself, rebuilt by
the generated parser at import) and the runtime's singletons (the empty prediction context, the
empty semantic context, the error state) are stored by reference, so only DFA states,
configurations and prediction contexts are in the file; each parser DFA state's configurations
are unpickled only when the parser first reads them (see ``_load_parser_dfas``), so loading
takes milliseconds whatever the file's size. It is read with an unpickler that resolves only
those references and an allow-list of ANTLR runtime classes (no other global, no function), and
the file name carries a key of the grammar's generated modules and the runtime version, so a
changed grammar never meets an old DFA. Every failure (no cache directory, an unreadable, stale
or corrupt file) is silent and leaves the parser cold, as if there were no cache: the cache can
make parsing faster, never different (``tests/test_parser_cache.py`` parses the course's
formulas and malformed ones cold and warm and compares the trees and the error messages).

Damage (issue 11) is caught at two levels. On load, the whole file is checked against the
SHA-256 in its header: a file that does not match (a flipped bit, a truncated write) is ignored
as if absent, and the next save replaces it. A state's configurations are still unpickled only
when first read; if that fails, or they do not hash to the value recorded for the state (each
state's record carries its hash, so a blob that decodes into different configurations is
caught too), that state is dropped from the DFA (with the edges into it) and the prediction
that needed it is made again, cold for that state (``_predict_again``), so the parse gives the
very tree and error it gives without a cache. A process that found damage checks every other
blob before it saves, so damaged content is never written back: the cache heals itself. The
file is opened only if it is a regular file (``O_NOFOLLOW | O_NONBLOCK``, then ``fstat``), so a
FIFO, a directory or a link to ``/dev/zero`` in its place is ignored, never read.

The directory is ``$SYMLEARN_CACHE_DIR`` if set (an empty value turns the cache off), else
``$XDG_CACHE_HOME/symlearn`` or ``~/.cache/symlearn``.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import pickle
import sys
from contextlib import contextmanager, suppress
from pathlib import Path

# The cache directory is shared with the matrix-check verdicts (symlearn/_cache.py).
from ._cache import directory as _directory
from ._cache import framed, read_checked

__all__ = [
    "WARM_UP", "cache_path", "cached", "dfa_size", "healthy", "load", "save_if_grown", "warm_up",
]

_FORMAT = 3
#: The file's first bytes; the SHA-256 of everything after the digest follows.
_MAGIC = b"symlearn parser DFA cache\n"

#: A file larger than this is not read (the cache stops growing at a few MB).
_MAX_FILE_BYTES = 256 * 2**20
#: The cache stops growing here (a few MB; the warm-up makes about 500 states): loading stays
#: in milliseconds, and a formula that needs more states is parsed as without a cache.
_MAX_STATES = 20_000
# The runtime classes a DFA graph holds (module, name); nothing else may be unpickled.
_ALLOWED = frozenset({
    ("antlr4.dfa.DFA", "DFA"),
    ("antlr4.dfa.DFAState", "DFAState"),
    ("antlr4.dfa.DFAState", "PredPrediction"),
    ("antlr4.atn.ATNConfig", "ATNConfig"),
    ("antlr4.atn.ATNConfig", "LexerATNConfig"),
    ("antlr4.atn.ATNConfigSet", "ATNConfigSet"),
    ("antlr4.atn.ATNConfigSet", "OrderedATNConfigSet"),
    ("antlr4.PredictionContext", "PredictionContext"),
    ("antlr4.PredictionContext", "SingletonPredictionContext"),
    ("antlr4.PredictionContext", "ArrayPredictionContext"),
    ("antlr4.PredictionContext", "PredictionContextCache"),
    ("antlr4.atn.SemanticContext", "Predicate"),
    ("antlr4.atn.SemanticContext", "PrecedencePredicate"),
    ("antlr4.atn.SemanticContext", "AND"),
    ("antlr4.atn.SemanticContext", "OR"),
    ("antlr4.atn.LexerActionExecutor", "LexerActionExecutor"),
    ("antlr4.atn.LexerAction", "LexerActionType"),  # an IntEnum, rebuilt from its value
    ("antlr4.atn.LexerAction", "LexerSkipAction"),
    ("antlr4.atn.LexerAction", "LexerTypeAction"),
    ("antlr4.atn.LexerAction", "LexerPushModeAction"),
    ("antlr4.atn.LexerAction", "LexerPopModeAction"),
    ("antlr4.atn.LexerAction", "LexerMoreAction"),
    ("antlr4.atn.LexerAction", "LexerModeAction"),
    ("antlr4.atn.LexerAction", "LexerChannelAction"),
    ("antlr4.atn.LexerAction", "LexerCustomAction"),
    ("antlr4.atn.LexerAction", "LexerIndexedCustomAction"),
})

_loaded_size: int | None = None
#: Set when a cached state could not be decoded: this process then saves (healed) what it has.
_damaged = False
#: States dropped because their configurations could not be decoded (for tests and reports).
dropped = 0

#: Formulas parsed once to fill an empty cache: the constructs of the course's gradients, so that
#: later formulas (other letters, other nesting) mostly find their DFA states already built.
WARM_UP = (
    r"\frac{1}{1+e^{-(a_1u_1+a_2u_2+c)}}",
    r"\sigma(a_1u_1+c)(1-\sigma(a_1u_1+c))",
    r"-t\log(\sigma(a u + c)) - (1-t)\log(1-\sigma(a u+c))",
    r"u\sigma(au+c) - ut",
    r"(t - a u - c)^2 + \lambda a^2",
    r"-2u(t - au - c) + 2\lambda a",
    r"\frac{1}{2}(au+c-t)^2",
    r"\frac{1}{m}\sum_{j=1}^{m}(t_j - a u_j)^2",
    r"-\frac{2}{m}\sum_{j=1}^{m} u_j(t_j - a u_j)",
    r"\operatorname{softplus}(au+c)",
    r"\operatorname{relu}(au+c) + \max(0, 1 - t u)",
    r"\ln(1+e^{-t(au+c)})",
    r"\frac{u e^{au+c}}{1+e^{au+c}}",
    r"-q\ln q - (1-q)\ln(1-q)",
    r"\ln\frac{1-q}{q}",
    r"\log_2(1+u^2) + \exp(-u)",
    r"\frac{2u}{(1+u^2)\ln 2}",
    r"\tanh(au+c)",
    r"u(1-\tanh^2(au+c))",
    r"\frac{(t-\mu)^2}{2\sigma^2} + \ln \sigma",
    r"\frac{\sigma^2 - (t-\mu)^2}{\sigma^3}",
    r"(\hat{t} - t)^2 + \bar{u}",
    r"\frac{1}{2}\theta^2 u^2 - \theta u t",
    r"\sqrt{u^2 + 1} \cdot |u| \times 0.5",
    r"\frac{\partial}{\partial a}\left(a^2 u\right)",
    r"-\frac{t}{q}",
    r"\frac{1}{|u|}",
)


def _recognizers():
    from latex2sympy2_extended.antlr_parser import PSLexer, PSParser

    return PSParser, PSLexer


@functools.cache
def _key(parser, lexer) -> str:
    """Names the grammar and runtime: the generated modules' files (path, size, mtime), the
    ANTLR runtime's version, the Python version and this file's format."""
    import antlr4

    parts = [str(_FORMAT), sys.version, getattr(antlr4, "__file__", "")]
    for module in (sys.modules[parser.__module__], sys.modules[lexer.__module__]):
        stat = os.stat(module.__file__)
        parts += [module.__file__, str(stat.st_size), str(stat.st_mtime_ns)]
    try:
        from latex2sympy2_extended.antlr_parser import antlr_version
    except ImportError:
        antlr_version = ""
    parts.append(antlr_version)
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def cache_path() -> Path | None:
    """The cache file for the installed grammar and runtime, or None when caching is off."""
    directory = _directory()
    if directory is None:
        return None
    parser, lexer = _recognizers()
    return directory / f"latex-parser-dfa-{_key(parser, lexer)}.pickle"


def dfa_size() -> int:
    """The number of DFA states the parser and lexer hold now (grows as formulas are parsed)."""
    parser, lexer = _recognizers()
    return sum(len(dfa._states) for dfa in (*parser.decisionsToDFA, *lexer.decisionsToDFA))


def _singletons():
    from antlr4.atn.ATNSimulator import ATNSimulator
    from antlr4.atn.SemanticContext import SemanticContext
    from antlr4.PredictionContext import PredictionContext

    # By reference, never copied: the runtime compares these by identity (``D is self.ERROR``).
    return {"empty-context": PredictionContext.EMPTY, "no-predicate": SemanticContext.NONE,
            "error-state": ATNSimulator.ERROR}


class _Pickler(pickle.Pickler):
    def __init__(self, file, parser, lexer):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        from antlr4.atn.ATNState import ATNState

        self._state_type = ATNState
        self._atns = {id(parser.atn): "parser", id(lexer.atn): "lexer"}
        self._singletons = {id(obj): name for name, obj in _singletons().items()}

    def persistent_id(self, obj):
        if isinstance(obj, self._state_type):
            return (self._atns[id(obj.atn)], obj.stateNumber)
        name = self._singletons.get(id(obj))
        return (name,) if name is not None else None


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, parser, lexer):
        super().__init__(file)
        self._atns = {"parser": parser.atn, "lexer": lexer.atn}
        self._singletons = _singletons()

    def persistent_load(self, pid):
        if len(pid) == 2 and pid[0] in self._atns:
            return self._atns[pid[0]].states[pid[1]]
        if len(pid) == 1 and pid[0] in self._singletons:
            return self._singletons[pid[0]]
        raise pickle.UnpicklingError(f"unknown reference {pid!r}")

    def find_class(self, module, name):
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in the parser cache")
        return super().find_class(module, name)


def _dumps(obj, parser, lexer) -> bytes:
    buffer = io.BytesIO()
    _Pickler(buffer, parser, lexer).dump(obj)
    return buffer.getvalue()


def _loads(data: bytes, parser, lexer):
    return _Unpickler(io.BytesIO(data), parser, lexer).load()


# -- the parser's DFA, stored state by state --------------------------------------------------------
# Most of the file is configuration sets, which the parser reads only to build an edge that is not
# there yet; a warm parse follows existing edges. So each parser DFA state is kept as a small
# record (its edges, its prediction, the hash of its configurations) and its configurations as
# pickled bytes, unpickled on first read: loading costs milliseconds whatever the cache's size.
# The records give each state the hash its configurations would have in this process; that needs
# hashes that do not depend on the process, and the runtime's empty semantic context hashes by
# address, so it is given a constant hash first (it is a singleton compared by identity, so any
# constant is a correct hash).

_NO_EDGES, _ERROR_EDGE = -1, -2
_stable_hashes = False


def _make_hashes_stable() -> None:
    global _stable_hashes
    from antlr4.atn.SemanticContext import EmptySemanticContext

    EmptySemanticContext.__hash__ = _constant_hash
    _stable_hashes = True


def _constant_hash(self) -> int:
    return 0x5EC0


def _lazy_state_type():
    from antlr4.dfa.DFAState import DFAState

    slot = DFAState.__dict__["configs"]

    class CachedDFAState(DFAState):
        """A DFA state from the cache: its configurations are unpickled when first read."""

        __slots__ = ("_blob", "_dfa", "_hash", "_recognizers")

        @property
        def configs(self):
            try:
                return slot.__get__(self)
            except AttributeError:
                pass
            if self._blob is None:  # dropped earlier
                raise _CacheDamaged("a dropped cache state was read")
            try:
                configs = _loads(self._blob, *self._recognizers)
                configs.cachedHashCode = -1
                if hash(configs) != self._hash:
                    raise ValueError("the configurations do not match the state's hash")
            except Exception as error:  # noqa: BLE001 - any undecodable state is dropped
                _drop(self)
                raise _CacheDamaged(f"a cached DFA state could not be decoded: {error}") from None
            slot.__set__(self, configs)
            return configs

        @configs.setter
        def configs(self, value):
            # The runtime sets the configurations of a precedence DFA's start state (not in the
            # DFA's table, so its hash may change): the recorded blob and hash are replaced.
            slot.__set__(self, value)
            self._blob = None
            self._hash = hash(value)

        def __hash__(self):
            return self._hash

        __eq__ = DFAState.__eq__

    return CachedDFAState


def _dump_parser_dfas(parser, lexer) -> list:
    error = _singletons()["error-state"]
    records = []
    for dfa in parser.decisionsToDFA:
        members = list(dfa._states)
        states = members + ([dfa.s0] if dfa.s0 is not None and dfa.s0 not in dfa._states else [])
        if not states:
            records.append(None)
            continue
        index = {id(state): k for k, state in enumerate(states)}
        rows = []
        for state in states:
            blob = getattr(state, "_blob", None)
            if blob is None:
                blob = _dumps(state.configs, parser, lexer)
            edges = None
            if state.edges is not None:
                edges = (len(state.edges), tuple(
                    (t, _ERROR_EDGE if target is error else index[id(target)])
                    for t, target in enumerate(state.edges) if target is not None
                ))
            predicates = None
            if state.predicates is not None:
                predicates = _dumps(state.predicates, parser, lexer)
            rows.append((state.stateNumber, state.isAcceptState, state.prediction,
                         state.requiresFullContext, predicates, hash(state), blob, edges))
        s0 = index[id(dfa.s0)] if dfa.s0 is not None else None
        records.append((len(members), s0, rows))
    return records


def _load_parser_dfas(records, parser, lexer) -> None:
    cached_state = _lazy_state_type()
    error = _singletons()["error-state"]
    recognizers = (parser, lexer)
    for dfa, record in zip(parser.decisionsToDFA, records):
        if record is None:
            continue
        members, s0, rows = record
        states = []
        for number, accept, prediction, full_context, predicates, hashed, blob, _ in rows:
            state = cached_state.__new__(cached_state)
            state.stateNumber, state.isAcceptState, state.prediction = number, accept, prediction
            state.requiresFullContext, state.lexerActionExecutor = full_context, None
            state.predicates = _loads(predicates, parser, lexer) if predicates else None
            state._hash, state._blob, state._recognizers = hashed, blob, recognizers
            state._dfa = dfa
            state.edges = None
            states.append(state)
        for state, row in zip(states, rows):
            if row[-1] is not None:
                length, pairs = row[-1]
                edges = [None] * length
                for t, target in pairs:
                    edges[t] = error if target == _ERROR_EDGE else states[target]
                state.edges = edges
        dfa._states = {state: state for state in states[:members]}
        if s0 is not None:
            dfa.s0 = states[s0]


class _CacheDamaged(Exception):
    """A cached state's configurations could not be decoded (the state has been dropped)."""


def _drop(state) -> None:
    """Remove a cached state that cannot be decoded from its DFA, with the edges into it, so the
    prediction made again computes it from the grammar, as without a cache."""
    global _damaged, dropped
    _damaged = True
    dropped += 1
    state._blob = None
    dfa = state._dfa
    holders = list(dfa._states) + ([dfa.s0] if dfa.s0 is not None else [])
    for other in holders:
        if other.edges:
            for t, target in enumerate(other.edges):
                if target is state:
                    other.edges[t] = None
    if dfa.s0 is state:
        dfa.s0 = None
    try:
        del dfa._states[state]
    except (KeyError, _CacheDamaged):
        # The table cannot find it without comparing it with a state of equal hash (which
        # would read its configurations): drop every cached state of this DFA instead.
        from antlr4.dfa.DFA import DFA

        parser, _ = _recognizers()
        decision = dfa.decision
        parser.decisionsToDFA[decision] = DFA(parser.atn.decisionToState[decision], decision)


#: Predictions made again after a drop before the parser's DFAs are reset as a whole.
_MAX_RETRIES = 64


def _predict_again(adaptive_predict):
    """Wrap ``ParserATNSimulator.adaptivePredict``: when a cached state turns out damaged (it is
    then dropped), predict again. The runtime restores the token stream in a ``finally`` of
    ``adaptivePredict``, so the second prediction starts where the first did."""

    @functools.wraps(adaptive_predict)
    def predict(self, input, decision, outerContext):
        for _ in range(_MAX_RETRIES):
            try:
                return adaptive_predict(self, input, decision, outerContext)
            except _CacheDamaged:
                continue
        _reset(*_recognizers())  # every cached state is gone: the prediction below is cold
        return adaptive_predict(self, input, decision, outerContext)

    predict._symlearn_cache = True
    return predict


def _install_retry() -> None:
    from antlr4.atn.ParserATNSimulator import ParserATNSimulator

    if not getattr(ParserATNSimulator.adaptivePredict, "_symlearn_cache", False):
        ParserATNSimulator.adaptivePredict = _predict_again(ParserATNSimulator.adaptivePredict)


def _sweep(parser) -> None:
    """Decode every cached state not decoded yet, dropping those that fail (before saving the
    DFA of a process that found damage, so nothing damaged is written back)."""
    for dfa in list(parser.decisionsToDFA):
        for state in list(dfa._states) + ([dfa.s0] if dfa.s0 is not None else []):
            if getattr(state, "_blob", None) is not None:
                try:
                    state.configs  # noqa: B018 - decoding is the check
                except _CacheDamaged:
                    pass


def _rehash(dfas) -> None:
    """Recompute the hash-keyed tables of fully unpickled DFAs (the lexer's): a lexer
    configuration's hash includes its action executor's, which may be None, hashed by address."""
    for dfa in dfas:
        for state in dfa._states:
            state.configs.cachedHashCode = -1
        dfa._states = {state: state for state in dfa._states}


def load() -> bool:
    """Fill the parser's and lexer's (empty) DFAs from the cache file; True if it did."""
    global _loaded_size
    try:
        parser, lexer = _recognizers()
        _loaded_size = dfa_size()
        if _loaded_size:  # this process has parsed already: its hashes are what they are
            return False
        _make_hashes_stable()
        _install_retry()
        path = cache_path()
        if path is None:
            return False
        body = _read_verified(path)
        if body is None:
            return False
        header, lexer_dfas, parser_records = _Unpickler(io.BytesIO(body), parser, lexer).load()
        if header != _header(parser, lexer):
            return False
        _rehash(lexer_dfas)
        _load_parser_dfas(parser_records, parser, lexer)
        lexer.decisionsToDFA[:] = lexer_dfas
        _loaded_size = dfa_size()
        return True
    except Exception:  # noqa: BLE001 - any unreadable cache is no cache
        _reset(*_recognizers())
        return False


def _read_verified(path: Path) -> bytes | None:
    """The pickle inside the cache file, or None when the file is absent, not a regular file,
    too large, or does not match its checksum. Never blocks: a FIFO is not read."""
    return read_checked(path, _MAGIC, _MAX_FILE_BYTES)


def _framed(body: bytes) -> bytes:
    return framed(_MAGIC, body)


def healthy(path: Path | None = None) -> bool:
    """Whether the cache file matches its checksum and every state in it decodes to the
    configurations its record names (reads all of it: for tests, not for a parse)."""
    path = path or cache_path()
    if path is None:
        return False
    body = _read_verified(path)
    if body is None:
        return False
    try:
        _make_hashes_stable()  # the recorded hashes are made with the stable ones
        parser, lexer = _recognizers()
        header, _, records = _Unpickler(io.BytesIO(body), parser, lexer).load()
        if header != _header(parser, lexer):
            return False
        for record in records:
            for row in (record[2] if record is not None else ()):
                configs = _loads(row[6], parser, lexer)
                configs.cachedHashCode = -1
                if hash(configs) != row[5]:
                    return False
                if row[4]:
                    _loads(row[4], parser, lexer)
    except Exception:  # noqa: BLE001 - anything that does not decode is not healthy
        return False
    return True


def _header(parser, lexer) -> tuple:
    return (_FORMAT, len(parser.decisionsToDFA), len(lexer.decisionsToDFA))


def _reset(parser, lexer) -> None:
    """Empty DFAs, as the generated modules make them (after a cache that failed half-way)."""
    from antlr4.dfa.DFA import DFA

    for recognizer in (parser, lexer):
        recognizer.decisionsToDFA[:] = [
            DFA(state, i) for i, state in enumerate(recognizer.atn.decisionToState)
        ]


@contextmanager
def cached():
    """Parse inside this block with the cached DFA: load it (or, when there is no cache file
    yet and the cache directory is writable, build it from :data:`WARM_UP`), and save it on
    exit if the block added states. Never raises for the cache's sake."""
    if not load() and _writable():
        with suppress(Exception):  # a warm-up that fails leaves the parser cold
            warm_up()
        # Saved now, not only on exit: the block may parse in a forked worker that saves what it
        # adds, and a save of this process's smaller DFA on exit would then replace that.
        save_if_grown()
    try:
        yield
    finally:
        save_if_grown()


def _writable() -> bool:
    try:
        path = cache_path()
        if path is None:
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.access(path.parent, os.W_OK)
    except Exception:  # noqa: BLE001
        return False


def warm_up() -> None:
    """Parse :data:`WARM_UP` (the first time a process finds no cache file to load)."""
    from .parse import parse_latex

    for formula in WARM_UP:
        parse_latex(formula)


def save_if_grown() -> bool:
    """Write the DFAs (atomically) if this process added states to what it loaded."""
    global _loaded_size, _damaged
    try:
        parser, lexer = _recognizers()
        if _damaged:
            _sweep(parser)  # nothing that does not decode is written back
        size = dfa_size()
        grown = _loaded_size is not None and (_loaded_size < size or _damaged)
        if not _stable_hashes or not grown or not size <= _MAX_STATES:
            return False
        path = cache_path()
        if path is None:
            return False
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, 20_000))  # the lexer's DFA edges chain states deeply
        try:
            data = _dumps(
                (_header(parser, lexer), lexer.decisionsToDFA, _dump_parser_dfas(parser, lexer)),
                parser, lexer,
            )
        finally:
            sys.setrecursionlimit(limit)
        from .render._io import atomic_write

        atomic_write(path, _framed(data))
        _loaded_size, _damaged = size, False  # what is on disk now
        return True
    except Exception:  # noqa: BLE001 - a cache that cannot be written is no cache
        return False
