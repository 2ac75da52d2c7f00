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
import os


def check_allocation(elements, itemsize, what):
    """``MemoryError`` before a framework is asked for a tensor larger than this machine's memory:
    some build it for minutes (CNTK's Tile splices copies), others wrap the count and return an
    empty tensor (Caffe2's Range), where ONNX Runtime refuses at once."""
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # no sysconf (Windows): the framework decides
        return
    need = int(elements) * int(itemsize)
    if need > memory:
        raise MemoryError("%s of %d elements needs %.3g GB, more than this machine's %.3g GB"
                          % (what, elements, need / 1e9, memory / 1e9))


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

    The store itself runs control flow and the host-side values: ``If``, ``Loop``,
    ``Scan`` (opset 9+) and ``SequenceMap`` run their subgraph plans (``{"$graph": ...}``
    attributes) with the table's kernels for every body op; sequences are Python lists
    of the framework's arrays and an empty optional is ``None`` (``Sequence*``,
    ``SplitToSequence``, ``ConcatFromSequence``, ``Optional*``). A subgraph sees the
    names of its enclosing graphs. What that needs of the framework comes through
    ``stack(arrays, axis)`` and ``concat(arrays, axis)`` (default: numpy through
    ``to_array``/``from_array``); indexing and ``.shape`` are the arrays' own.

    ``construction_errors`` (a tuple of exception types, empty by default) are the errors
    a framework raises when it cannot build an op's result (CNTK's ``ValueError`` on
    shapes it cannot express): one raised by a node's function becomes
    ``UnsupportedOperator`` naming the node, with ``construction_note`` and the error's
    first line as the detail.
    """

    construction_errors = ()
    construction_note = "the framework cannot build it"

    def __init__(self, table, to_array=_same, from_array=_same, stack=None, concat=None):
        Handles.__init__(self, "plan")
        self.table, self.to_array, self.from_array = table, to_array, from_array
        self._stack, self._concat = stack, concat

    def load(self, plan, arrays):
        """Keep ``plan`` and return its id; raises ``UnsupportedOperator`` naming every op the table lacks."""
        ops = []
        _collect_ops(plan, ops)
        self.table.check([op for op in ops if op[0] or op[1] not in _HOST_OPS], plan["opset"])
        return self.add((plan, arrays))

    def run(self, ident, feeds, sequences=None, nones=()):
        """Run plan ``ident`` on ``feeds`` (numpy arrays by input name); ``{"out0": array, ...}``.

        ``sequences`` (``{name: length}``): inputs fed as ``NAME#0``, ``NAME#1``...; ``nones``:
        empty optional inputs. A sequence output comes back the same way, listed under
        ``"sequences"``; an empty optional output is listed under ``"nones"``.
        """
        plan, consts = self.get(ident)
        to_array = self.to_array
        env = dict((key[5:], to_array(value)) for key, value in consts.items() if key.startswith("init:"))
        sequences = sequences or {}
        for name, value in feeds.items():
            if "#" in name and name.rsplit("#", 1)[0] in sequences:
                continue
            env[name] = to_array(value)
        for name, n in sequences.items():
            env[name] = [to_array(feeds["%s#%d" % (name, i)]) for i in range(n)]
        for name in nones:
            env[name] = None
        outs = self._run_graph(plan, env, consts, plan["opset"])
        result, seqs, empty = {}, {}, []
        for i, value in enumerate(outs):
            key = "out%d" % i
            if value is None:
                empty.append(key)
            elif isinstance(value, list):
                seqs[key] = len(value)
                for j, item in enumerate(value):
                    result["%s#%d" % (key, j)] = self.from_array(item)
            else:
                result[key] = self.from_array(value)
        if seqs:
            result["sequences"] = seqs
        if empty:
            result["nones"] = empty
        return result

    # -- the interpreter -----------------------------------------------------------------
    def _run_graph(self, graph, env, consts, opset):
        """Run ``graph``'s nodes over ``env`` (modified in place); its output values in order."""
        for node in graph["nodes"]:
            attrs = {}
            for key, value in node["attrs"].items():
                if isinstance(value, dict) and "$array" in value:
                    value = self.to_array(consts[value["$array"]])
                attrs[key] = value
            attrs.update(_opset=opset, _outputs=len(node["outputs"]), _op=node["op"])
            inputs = [env[name] if name else None for name in node["inputs"]]
            domain = _domain(node)
            host = getattr(self, "_op_" + node["op"], None) if not domain and node["op"] in _HOST_OPS else None
            try:
                if host is not None:
                    outs = host(inputs, attrs, env, consts, opset)
                else:
                    fn = self.table.get(node["op"], opset, domain, node.get("name") or None)
                    outs = fn(inputs, attrs)
            except NotImplementedError as exc:  # an attribute or input form the function does not cover
                raise self.table.unsupported(node["op"], opset, domain, node.get("name") or None, str(exc))
            except self.construction_errors as exc:  # the framework refused to build it
                lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
                detail = (lines[0] if lines else type(exc).__name__).rstrip(".")
                if len(detail) > 200:
                    detail = detail[:197] + "..."
                raise self.table.unsupported(node["op"], opset, domain, node.get("name") or None,
                                             "%s: %s" % (self.construction_note, detail))
            for name, value in zip(node["outputs"], outs):
                if name:
                    env[name] = value
        return [env[name] for name in graph["outputs"]]

    def _call(self, attr, values, env, consts, opset):
        """Run subgraph ``attr`` (a ``{"$graph": ...}`` attribute) on ``values`` for its inputs."""
        graph = attr["$graph"]
        scope = dict(env)  # the enclosing graphs' names, shadowed by the subgraph's own
        for name, key in graph.get("initializers", {}).items():
            scope[name] = self.to_array(consts[key])
        for name, value in zip(graph["inputs"], values):
            scope[name] = value
        return self._run_graph(graph, scope, consts, opset)

    # -- helpers over the framework's arrays ----------------------------------------------
    def _scalar(self, x):
        value = self.from_array(x)
        return value.reshape(-1)[0].item() if hasattr(value, "reshape") else value

    def _const(self, value, dtype):
        import numpy

        return self.to_array(numpy.array(value, dtype=dtype))

    def _stack_arrays(self, items, axis=0):
        if self._stack is not None:
            return self._stack(items, axis)
        import numpy

        return self.to_array(numpy.stack([self.from_array(x) for x in items], axis))

    def _concat_arrays(self, items, axis=0):
        if self._concat is not None:
            return self._concat(items, axis)
        import numpy

        return self.to_array(numpy.concatenate([self.from_array(x) for x in items], axis))

    # -- control flow ------------------------------------------------------------------------
    def _op_If(self, inputs, attrs, env, consts, opset):
        branch = attrs["then_branch"] if self._scalar(inputs[0]) else attrs["else_branch"]
        return self._call(branch, [], env, consts, opset)

    def _op_Loop(self, inputs, attrs, env, consts, opset):
        body = attrs["body"]
        limit = self._scalar(inputs[0]) if len(inputs) > 0 and inputs[0] is not None else None
        cond = bool(self._scalar(inputs[1])) if len(inputs) > 1 and inputs[1] is not None else True
        carried = list(inputs[2:])
        n_scan = attrs["_outputs"] - len(carried)
        scans = [[] for _ in range(n_scan)]
        i = 0
        while cond and (limit is None or i < limit):
            outs = self._call(body, [self._const(i, "int64"), self._const(cond, "bool")] + carried,
                              env, consts, opset)
            cond = bool(self._scalar(outs[0]))
            carried = outs[1:1 + len(carried)]
            for k, value in enumerate(outs[1 + len(carried):]):
                scans[k].append(value)
            i += 1
        stacked = []
        for values in scans:
            if not values:
                raise NotImplementedError("a Loop scan output of zero iterations (its element shape is unknown)")
            stacked.append(self._stack_arrays(values, 0))
        return carried + stacked

    def _op_Scan(self, inputs, attrs, env, consts, opset):
        n_in = attrs["num_scan_inputs"]
        if opset < 9:  # Scan-8: a batch axis first, scan axis 1, optional sequence_lens first
            lens, inputs = inputs[0], inputs[1:]
            states, xs = list(inputs[:len(inputs) - n_in]), inputs[len(inputs) - n_in:]
            batch = xs[0].shape[0]
            if lens is not None:
                full = self.from_array(lens).reshape(-1).tolist()
                if any(int(v) != xs[0].shape[1] for v in full):
                    raise NotImplementedError("Scan-8 with sequence_lens shorter than the sequence")
            dirs = attrs.get("directions") or [0] * n_in
            per_batch = [self._scan([s[b] for s in states], [x[b] for x in xs], [0] * n_in, dirs, [], [],
                                    attrs, env, consts, opset) for b in range(batch)]
            return [self._stack_arrays([outs[k] for outs in per_batch], 0) for k in range(attrs["_outputs"])]
        states, xs = list(inputs[:len(inputs) - n_in]), inputs[len(inputs) - n_in:]
        return self._scan(states, xs, attrs.get("scan_input_axes") or [0] * n_in,
                          attrs.get("scan_input_directions") or [0] * n_in, attrs.get("scan_output_axes"),
                          attrs.get("scan_output_directions"), attrs, env, consts, opset)

    def _scan(self, states, xs, in_axes, in_dirs, out_axes, out_dirs, attrs, env, consts, opset):
        in_axes = [a % len(x.shape) for a, x in zip(in_axes, xs)]
        steps = xs[0].shape[in_axes[0]]
        n_out = attrs["_outputs"] - len(states)
        scans = [[] for _ in range(n_out)]
        for t in range(steps):
            slices = []
            for x, axis, backward in zip(xs, in_axes, in_dirs):
                index = (slice(None),) * axis + (steps - 1 - t if backward else t,)
                slices.append(x[index])
            outs = self._call(attrs["body"], states + slices, env, consts, opset)
            states = outs[:len(states)]
            for k, value in enumerate(outs[len(states):]):
                scans[k].append(value)
        out_axes = out_axes or [0] * n_out
        out_dirs = out_dirs or [0] * n_out
        stacked = []
        for values, axis, backward in zip(scans, out_axes, out_dirs):
            if not values:
                raise NotImplementedError("a Scan output of zero iterations")
            if backward:
                values = values[::-1]
            stacked.append(self._stack_arrays(values, axis % (len(values[0].shape) + 1)))
        return states + stacked

    # -- sequences and optionals (host side: Python lists, None) ---------------------------
    def _op_SequenceConstruct(self, inputs, attrs, env, consts, opset):
        return [list(inputs)]

    def _op_SequenceEmpty(self, inputs, attrs, env, consts, opset):
        return [[]]

    def _op_SequenceLength(self, inputs, attrs, env, consts, opset):
        return [self._const(len(inputs[0]), "int64")]

    def _op_SequenceAt(self, inputs, attrs, env, consts, opset):
        return [inputs[0][int(self._scalar(inputs[1]))]]

    def _op_SequenceInsert(self, inputs, attrs, env, consts, opset):
        seq = list(inputs[0])
        if len(inputs) > 2 and inputs[2] is not None:
            position = int(self._scalar(inputs[2]))
            seq.insert(position if position >= 0 else position + len(seq), inputs[1])
        else:
            seq.append(inputs[1])
        return [seq]

    def _op_SequenceErase(self, inputs, attrs, env, consts, opset):
        seq = list(inputs[0])
        position = int(self._scalar(inputs[1])) if len(inputs) > 1 and inputs[1] is not None else -1
        del seq[position]
        return [seq]

    def _op_SplitToSequence(self, inputs, attrs, env, consts, opset):
        x = inputs[0]
        rank = len(x.shape)
        axis = attrs.get("axis", 0) % rank
        size = x.shape[axis]
        split = inputs[1] if len(inputs) > 1 else None
        lead = (slice(None),) * axis
        if split is None:
            if not attrs.get("keepdims", 1):
                return [[x[lead + (i,)] for i in range(size)]]
            return [[x[lead + (slice(i, i + 1),)] for i in range(size)]]
        values = self.from_array(split)
        if len(getattr(values, "shape", ())) == 0:
            step = int(values)
            bounds = list(range(0, size, step)) + [size]
        else:
            bounds = [0]
            for v in values.reshape(-1):
                bounds.append(bounds[-1] + int(v))
        return [[x[lead + (slice(a, b),)] for a, b in zip(bounds[:-1], bounds[1:])]]

    def _op_ConcatFromSequence(self, inputs, attrs, env, consts, opset):
        seq, axis = inputs[0], attrs["axis"]
        if attrs.get("new_axis", 0):
            return [self._stack_arrays(seq, axis % (len(seq[0].shape) + 1))]
        return [self._concat_arrays(seq, axis % len(seq[0].shape))]

    def _op_SequenceMap(self, inputs, attrs, env, consts, opset):
        seq = inputs[0]
        results = [[] for _ in range(attrs["_outputs"])]
        for i in range(len(seq)):
            values = [seq[i]] + [x[i] if isinstance(x, list) else x for x in inputs[1:]]
            for k, value in enumerate(self._call(attrs["body"], values, env, consts, opset)):
                results[k].append(value)
        return results

    def _op_Optional(self, inputs, attrs, env, consts, opset):
        return [inputs[0] if inputs else None]

    def _op_OptionalHasElement(self, inputs, attrs, env, consts, opset):
        return [self._const(bool(inputs) and inputs[0] is not None, "bool")]

    def _op_OptionalGetElement(self, inputs, attrs, env, consts, opset):
        if inputs[0] is None:
            raise ValueError("OptionalGetElement of an empty optional")
        return [inputs[0]]


_HOST_OPS = frozenset(["If", "Loop", "Scan", "SequenceMap", "SequenceConstruct", "SequenceEmpty",
                       "SequenceLength", "SequenceAt", "SequenceInsert", "SequenceErase", "SplitToSequence",
                       "ConcatFromSequence", "Optional", "OptionalHasElement", "OptionalGetElement"])


def _collect_ops(graph, ops):
    """``(domain, op)`` of every node of ``graph`` and of its subgraphs."""
    for node in graph["nodes"]:
        ops.append((_domain(node), node["op"]))
        for value in node["attrs"].values():
            if isinstance(value, dict) and "$graph" in value:
                _collect_ops(value["$graph"], ops)


def _domain(node):
    domain = node.get("domain") or ""
    return "" if domain == "ai.onnx" else domain
