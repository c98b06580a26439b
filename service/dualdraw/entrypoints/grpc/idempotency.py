"""Idempotent writes (AIP-155): a retried mutating request returns the first response.

Every mutating RPC (``writes=True`` in ``security.policy``) carries a ``request_id``. The interceptor keys the
request by (method, caller, request_id) and:
1. answers from the ledger when a response is stored for the key;
2. otherwise runs the call with a *claim* set for this thread: the unit of work inserts the ledger row in
   the same transaction as the write (``SqlUnitOfWork.commit``), so of two concurrent writes with one key
   exactly one commits — the other fails on the primary key and is answered with the first one's response;
3. stores the serialized response once the call has returned.
A row without a response is a committed write whose answer was not stored (in flight, or lost in a crash);
a retry then re-runs the call, which cannot write twice (the ledger insert fails), and the use case answers
from the stored state where it can (a draw recognises its own request id).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from itertools import chain
from typing import Any

import grpc
from google.protobuf import descriptor_pool, message_factory
from google.protobuf.message import Message

from dualdraw.adapters.store.ledger import CLAIM, Claim, DuplicateRequest, Entry, Ledger
from dualdraw.domain.errors import Aborted, DomainError, FieldViolation, InvalidArgument
from dualdraw.entrypoints.grpc.security.interceptor import current_principal
from dualdraw.entrypoints.grpc.wrapping import Behaviour, Shape, wrap_handler

log = logging.getLogger(__name__)
MAX_REQUEST_ID = 128
WAIT_FOR_FIRST_S = 10.0


def response_class(method: str) -> type[Message]:
    """The response message class of ``/package.Service/Method``."""
    service, name = method.lstrip("/").rsplit("/", 1)
    descriptor = descriptor_pool.Default().FindServiceByName(service).methods_by_name[name]
    return message_factory.GetMessageClass(descriptor.output_type)


class IdempotencyInterceptor(grpc.ServerInterceptor):
    """Replays stored responses of mutating methods (``methods``) for repeated request ids."""

    def __init__(self, ledger: Ledger, methods: frozenset[str], wait_s: float = WAIT_FOR_FIRST_S) -> None:
        self._ledger = ledger
        self._methods = methods
        self._wait_s = wait_s

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method not in self._methods:
            return handler
        return wrap_handler(handler, lambda behaviour, shape: self._replaying(behaviour, shape, method))

    def _replaying(self, behaviour: Behaviour, shape: Shape, method: str) -> Behaviour:
        parse = response_class(method).FromString
        if shape == "stream_unary":

            def streaming(requests: Iterator[Any], context: grpc.ServicerContext) -> Any:
                first = next(requests, None)
                if first is None:
                    return behaviour(iter(()), context)
                return self._once(
                    method, first.request_id, "", parse, lambda: behaviour(chain([first], requests), context)
                )

            return streaming

        def unary(request: Any, context: grpc.ServicerContext) -> Any:
            digest = hashlib.sha256(request.SerializeToString(deterministic=True)).hexdigest()
            return self._once(method, request.request_id, digest, parse, lambda: behaviour(request, context))

        return unary

    def _once(
        self,
        method: str,
        request_id: str,
        digest: str,
        parse: Callable[[bytes], Message],
        run: Callable[[], Any],
    ) -> Any:
        if not request_id:
            return run()
        if len(request_id) > MAX_REQUEST_ID:
            raise InvalidArgument(
                [
                    FieldViolation(
                        "request_id", f"at most {MAX_REQUEST_ID} characters", reason="VALUE_TOO_LONG"
                    )
                ]
            )
        principal = current_principal()
        caller = principal.subject if principal is not None else ""
        found = self._ledger.find(method, caller, request_id)
        if found is not None:
            self._check_digest(found, digest)
            if found.response is not None:
                log.info("%s: request %s repeated; answering with the stored response", method, request_id)
                return parse(found.response)
        claim = Claim(method, caller, request_id, digest)
        token = CLAIM.set(claim)
        try:
            response = run()
        except DomainError as error:
            stored = self._await_first(method, caller, request_id)
            if stored is not None:
                return parse(stored)
            if isinstance(error, DuplicateRequest):
                raise Aborted(
                    f"request {request_id!r} was carried out already but its response is not available"
                    " (still being sent, or lost in a crash); read the resource it changed",
                    reason="REQUEST_OUTCOME_PENDING",
                ) from None
            raise
        finally:
            CLAIM.reset(token)
        self._ledger.complete(claim, response.SerializeToString())
        return response

    def _check_digest(self, found: Entry, digest: str) -> None:
        if digest and found.digest and found.digest != digest:
            raise InvalidArgument(
                [
                    FieldViolation(
                        "request_id", "was used before for a different request", reason="REQUEST_ID_REUSED"
                    )
                ],
            )

    def _await_first(self, method: str, caller: str, request_id: str) -> bytes | None:
        """The response of a concurrent first call with the same key, waiting briefly for it to be stored."""
        deadline = time.monotonic() + self._wait_s
        while True:
            found = self._ledger.find(method, caller, request_id)
            if found is None:
                return None  # nobody else wrote with this key: the error is this call's own
            if found.response is not None:
                return found.response
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)
