"""Small ONNX models generated with ``onnx.helper`` that have the input/output signature of the real
downloadable models (names, shapes, dtypes), and a loopback HTTP server that serves files like a model
host (``GET /<file>``: 200 with Content-Length, 404 for anything else).

- swapper 128 (inswapper): ``target`` (1, 3, 128, 128) + ``source`` (1, 512) -> ``output`` (1, 3, 128, 128),
  computing ``1 - target`` (the colours inverted) plus ``0 x mean(source)``; its last initializer is a
  (512, 512) ``emap``, as in the real file.
- swapper 256 (hyperswap): same with 256 px and ``-target`` (its range is -1..1).
- ArcFace: ``input`` (1, 3, 112, 112) -> (1, 512): channel means times a fixed (3, 512) matrix.
- enhancer: ``input`` (1, 3, 512, 512) -> ``output`` same shape: ``-input`` (inverts in -1..1).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


def _model(nodes, inputs, outputs, initializers) -> bytes:
    graph = helper.make_graph(nodes, "generated", inputs, outputs, initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def _tensor(name: str, shape: list[int]):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def swapper_model(size: int, kind: str = "inswapper") -> bytes:
    """A swap model with the real signature (see the module docstring)."""
    zero = numpy_helper.from_array(np.zeros((1,), np.float32), "zero")
    one = numpy_helper.from_array(np.ones((1,), np.float32), "one")
    emap = numpy_helper.from_array(np.random.default_rng(1).normal(size=(512, 512)).astype(np.float32), "emap")
    first = helper.make_node("Sub", ["one", "target"], ["image"]) if kind == "inswapper" else \
        helper.make_node("Neg", ["target"], ["image"])
    nodes = [first,
             helper.make_node("ReduceMean", ["source"], ["source_mean"], keepdims=1),
             helper.make_node("Mul", ["source_mean", "zero"], ["nothing"]),
             helper.make_node("Add", ["image", "nothing"], ["output"])]
    return _model(nodes, [_tensor("target", [1, 3, size, size]), _tensor("source", [1, 512])],
                  [_tensor("output", [1, 3, size, size])], [zero, one, emap])


def arcface_model() -> bytes:
    """An embedder with ArcFace's signature: ``input`` (1, 3, 112, 112) -> ``output`` (1, 512)."""
    weights = numpy_helper.from_array(np.random.default_rng(2).normal(size=(3, 512)).astype(np.float32), "w")
    nodes = [helper.make_node("GlobalAveragePool", ["input"], ["pooled"]),
             helper.make_node("Flatten", ["pooled"], ["flat"]),
             helper.make_node("MatMul", ["flat", "w"], ["output"])]
    return _model(nodes, [_tensor("input", [1, 3, 112, 112])], [_tensor("output", [1, 512])], [weights])


def enhancer_model() -> bytes:
    """An enhancer with GFPGAN's signature: ``input`` (1, 3, 512, 512) -> ``output`` (1, 3, 512, 512)."""
    nodes = [helper.make_node("Neg", ["input"], ["output"])]
    return _model(nodes, [_tensor("input", [1, 3, 512, 512])], [_tensor("output", [1, 3, 512, 512])], [])


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@contextmanager
def model_host(files: dict[str, bytes]) -> Iterator[tuple[str, list[str]]]:
    """Serve ``files`` (name -> bytes) on 127.0.0.1; yields (base URL, list of requested paths)."""
    requested: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            requested.append(self.path)
            body = files.get(self.path.lstrip("/"))
            if body is None:
                self.send_error(404, "no such model file")
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requested
    finally:
        server.shutdown()
        server.server_close()
