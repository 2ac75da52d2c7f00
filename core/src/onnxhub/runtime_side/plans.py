"""Handles and the ONNX plan interpreter of runtime-side handlers (valid CPython 3.6).

A *plan* is an ONNX graph as ``onnxhub.backend.runtime`` sends it: ``{"nodes", "opset",
"inputs", "outputs"}``, each node ``{"op", "domain", "name", "inputs", "outputs",
"attrs"}`` with plain JSON attributes and tensors as ``{"$array": key}``; the arrays
travel beside it (``init:NAME`` initializers, ``attr:N`` tensor attributes). A handler
keeps plans in a ``PlanStore`` over its ``OpTable`` of ``fn(inputs, attrs) -> outputs``::

    PLANS = PlanStore(TABLE, to_array=lambda a: mnp.array(a, dtype=a.dtype),
                      from_array=lambda x: x.asnumpy())

    def load_plan(params, arrays):
        return {"id": PLANS.load(params["plan"], arrays)}

Standard library only: the framework's arrays come in through ``to_array``/``from_array``.
"""

import itertools


def _same(array):
    return array  # plain numpy handlers need no conversion


class Handles(object):
    """Objects the hub refers to by id (plans, bound executors...).

    Ids count up from 1 and are never reused, so a released id can never name a later
    object; the hub ties them to the worker process they came from.
    """

    def __init__(self, what):
        self.what = what
        self._items = {}
        self._ids = itertools.count(1)

    def add(self, item):
        ident = next(self._ids)
        self._items[ident] = item
        return ident

    def get(self, ident):
        try:
            return self._items[ident]
        except KeyError:
            raise LookupError("no %s %r in this worker (released, or made by an earlier worker)" % (self.what, ident))

    def drop(self, ident):
        self._items.pop(ident, None)

    def __len__(self):
        return len(self._items)


class PlanStore(Handles):
    """Plans by id, and the loop that runs one node by node with ``table``'s functions.

    Each function gets ``(inputs, attrs)``: inputs in node order (``None`` for an
    omitted optional one), attrs with tensors converted and ``_opset``, ``_outputs``
    (how many outputs the node has) and ``_op`` added.
    """

    def __init__(self, table, to_array=_same, from_array=_same):
        Handles.__init__(self, "plan")
        self.table, self.to_array, self.from_array = table, to_array, from_array

    def load(self, plan, arrays):
        """Keep ``plan`` and return its id; raises ``UnsupportedOperator`` naming every op the table lacks."""
        self.table.check([(_domain(n), n["op"]) for n in plan["nodes"]], plan["opset"])
        return self.add((plan, arrays))

    def run(self, ident, feeds):
        """Run plan ``ident`` on ``feeds`` (numpy arrays by input name); ``{"out0": array, ...}``."""
        plan, consts = self.get(ident)
        to_array, opset = self.to_array, plan["opset"]
        env = dict((key[5:], to_array(value)) for key, value in consts.items() if key.startswith("init:"))
        for name, value in feeds.items():
            env[name] = to_array(value)
        for node in plan["nodes"]:
            attrs = {}
            for key, value in node["attrs"].items():
                attrs[key] = to_array(consts[value["$array"]]) if isinstance(value, dict) and "$array" in value \
                    else value
            attrs.update(_opset=opset, _outputs=len(node["outputs"]), _op=node["op"])
            fn = self.table.get(node["op"], opset, _domain(node), node.get("name") or None)
            try:
                outs = fn([env[name] if name else None for name in node["inputs"]], attrs)
            except NotImplementedError as exc:  # an attribute or input form the function does not cover
                raise self.table.unsupported(node["op"], opset, _domain(node), node.get("name") or None, str(exc))
            for name, value in zip(node["outputs"], outs):
                if name:
                    env[name] = value
        return dict(("out%d" % i, self.from_array(env[name])) for i, name in enumerate(plan["outputs"]))


def _domain(node):
    domain = node.get("domain") or ""
    return "" if domain == "ai.onnx" else domain
