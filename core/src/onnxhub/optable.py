"""Operator tables: one short function per operator, registered by decorator, keyed by opset.

Every converter and interpreter in onnxhub is an ``OpTable``: an exporter's table is keyed
by the framework's op names and the *target* ONNX opset, an importer's and a backend's by
ONNX op names and the *model's* opset::

    TABLE = OpTable("the MXNet exporter", domain="mxnet")

    @TABLE.register("Convolution", params=(1, 2))          # every opset
    def convolution(ctx, node, inputs): ...

    @TABLE.register("ReduceMean", until=17)                 # axes as an attribute
    def reduce_mean_13(g, node): ...

    @TABLE.register("ReduceMean", since=18)                 # axes as an input
    def reduce_mean_18(g, node): ...

An operator's behaviour change across opsets is a second registration with its own range,
not a branch inside one function. Registering an op twice for overlapping opsets is an
error (a silent overwrite would hide a converter). ``missing`` lists every unsupported op
of a graph at once, so a user learns the whole gap from one run.

Standard library only and valid on CPython 3.6: runtime-side code (inside a framework's
isolated runtime, where onnxhub is not installed) imports this file too.
"""


class OpEntry(object):
    """One registration: ``fn`` handles ``op`` of ``domain`` for opsets ``since..until``."""

    __slots__ = ("domain", "op", "since", "until", "fn", "meta")

    def __init__(self, domain, op, since, until, fn, meta):
        self.domain, self.op, self.since, self.until, self.fn, self.meta = domain, op, since, until, fn, meta

    def covers(self, opset):
        return self.since <= opset and (self.until is None or opset <= self.until)

    def doc(self):
        """The first line of the function's docstring ('' when it has none)."""
        text = (self.fn.__doc__ or "").strip()
        return text.splitlines()[0] if text else ""

    def __repr__(self):
        until = "" if self.until is None else str(self.until)
        return "OpEntry(%s::%s %d-%s -> %s)" % (self.domain or "ai.onnx", self.op, self.since, until,
                                                getattr(self.fn, "__name__", self.fn))


class OpTable(object):
    """Operator functions keyed by ``(domain, op)``, each valid for a range of opsets.

    :param where: who uses the table, for messages ("the MXNet exporter").
    :param domain: the default domain of registrations and lookups ("" is ai.onnx).
    """

    def __init__(self, where, domain=""):
        self.where = where
        self.domain = _domain(domain)
        self._entries = {}  # (domain, op) -> [OpEntry] sorted by since

    # -- building ------------------------------------------------------------------
    def register(self, *ops, **kwargs):
        """Decorator: register the function for each op name in ``ops``.

        Keywords: ``since`` (first opset, default 1), ``until`` (last opset, default
        none), ``domain`` (default: the table's); any other keyword is kept as metadata
        (``entry.meta``), e.g. which inputs are weights.
        """
        since = kwargs.pop("since", 1)
        until = kwargs.pop("until", None)
        domain = kwargs.pop("domain", None)
        if not ops:
            raise TypeError("register() needs at least one op name")
        if until is not None and until < since:
            raise ValueError("opset range %d-%d is empty" % (since, until))

        def decorate(fn):
            for op in ops:
                self.add(op, fn, since=since, until=until, domain=domain, **kwargs)
            return fn

        return decorate

    def add(self, op, fn, since=1, until=None, domain=None, **meta):
        """Register ``fn`` for ``op`` without a decorator (for generated families)."""
        domain = self.domain if domain is None else _domain(domain)
        entries = self._entries.setdefault((domain, op), [])
        entry = OpEntry(domain, op, since, until, fn, meta)
        for other in entries:
            if _overlap(other, entry):
                raise ValueError("%s: %s registered twice for overlapping opsets (%r and %r)"
                                 % (self.where, op, other, entry))
        entries.append(entry)
        entries.sort(key=lambda e: e.since)
        return entry

    # -- using ---------------------------------------------------------------------
    def lookup(self, op, opset, domain=None):
        """The entry for ``op`` at ``opset``, or None (``"ai.onnx"`` and ``""`` are one domain)."""
        domain = self.domain if domain is None else _domain(domain)
        for entry in self._entries.get((domain, op), ()):
            if entry.covers(opset):
                return entry
        return None

    def get(self, op, opset, domain=None, node=None):
        """The function for ``op`` at ``opset``; raises ``UnsupportedOperator`` when there is none."""
        entry = self.lookup(op, opset, domain)
        if entry is None:
            raise self.unsupported(op, opset, domain, node)
        return entry.fn

    def supports(self, op, opset, domain=None):
        return self.lookup(op, opset, domain) is not None

    def missing(self, ops, opset):
        """Sorted, de-duplicated op names of ``ops`` the table lacks at ``opset``.

        ``ops`` holds op names, or ``(domain, op)`` pairs for multi-domain graphs.
        """
        out = set()
        for item in ops:
            domain, op = item if isinstance(item, tuple) else (self.domain, item)
            domain = _domain(domain)
            if self.lookup(op, opset, domain) is None:
                out.add(op if domain == self.domain else "%s::%s" % (domain or "ai.onnx", op))
        return sorted(out)

    def check(self, ops, opset):
        """Raise one ``UnsupportedOperator`` naming every op of ``ops`` the table lacks."""
        gaps = self.missing(ops, opset)
        if gaps:
            raise self.unsupported(", ".join(gaps), opset)

    def unsupported(self, op, opset=None, domain=None, node=None, detail=""):
        # onnxhub.errors is standard library only; inside a runtime onnxhub is a bare
        # package (see onnxhub.runtime_side.worker), so this import works there too.
        from onnxhub.errors import UnsupportedOperator as error

        # The table's own domain goes without saying ("the MXNet exporter"); another one is named.
        domain = "" if domain is None or _domain(domain) == self.domain else domain
        label = op + (" (%s)" % detail if detail else "")
        return error(label, opset=opset, node=node, domain=domain, where=self.where)

    def ops(self, opset=None, domain=None):
        """Op names registered (at ``opset``, when given) in ``domain``."""
        domain = self.domain if domain is None else _domain(domain)
        return sorted(op for (d, op), entries in self._entries.items()
                      if d == domain and (opset is None or any(e.covers(opset) for e in entries)))

    def entries(self):
        """Every registration, sorted by domain, op and opset."""
        return [e for key in sorted(self._entries) for e in self._entries[key]]

    def families(self):
        """``[(family, doc, ops)]`` for generated docs: registrations grouped by the module
        their function lives in (``ops/nn.py`` -> ``"nn"``) and its docstring's first line."""
        groups = {}
        for e in self.entries():
            family = getattr(e.fn, "__module__", "").rsplit(".", 1)[-1]
            groups.setdefault((family, e.doc()), []).append(e.op)
        return [(family, doc, sorted(ops, key=str.lower)) for (family, doc), ops in sorted(groups.items())]

    def rows(self):
        """One dict per registration, for generated docs: domain, op, since, until, doc, meta."""
        return [{"domain": e.domain, "op": e.op, "since": e.since, "until": e.until, "doc": e.doc(),
                 "meta": dict(e.meta)} for e in self.entries()]

    def __contains__(self, op):
        return (self.domain, op) in self._entries

    def __len__(self):
        return len(self._entries)

    def __repr__(self):
        return "OpTable(%r, %d ops)" % (self.where, len(self._entries))


def _overlap(a, b):
    a_end = float("inf") if a.until is None else a.until
    b_end = float("inf") if b.until is None else b.until
    return a.since <= b_end and b.since <= a_end



def _domain(domain):
    return "" if domain == "ai.onnx" else domain
