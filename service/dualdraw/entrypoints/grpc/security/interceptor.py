"""The authentication and authorization interceptor: every call is admitted here or nowhere.

Order for each call: (1) authenticate the bearer token (or, with auth off on loopback, trust the actor
metadata); (2) find the method's policy (none: denied, fail closed); (3) check the role; (4) resolve the
resource the request names to its department and check it lies in the caller's subtree — *before* the
servicer runs, so an unknown id and a foreign id are denied alike. Every refusal is counted in the audit log,
aggregated per caller, method and reason (``security.denials``); a caller over its refusal rate is answered
``RESOURCE_EXHAUSTED`` instead.
The admitted principal is available to the servicers through ``current_principal()``.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc

from dualdraw.domain.errors import PermissionDenied, ResourceExhausted, Unauthenticated
from dualdraw.entrypoints.grpc.directory_convert import record_kind_from_pb
from dualdraw.entrypoints.grpc.security import resources
from dualdraw.entrypoints.grpc.security.denials import (
    Denial,
    DenialLog,
    DenialThrottle,
    bind_peer,
    caller_address,
    current_peer,
)
from dualdraw.entrypoints.grpc.security.policy import OPEN_PREFIXES, MethodPolicy, Target, policy_for
from dualdraw.entrypoints.grpc.security.tokens import ANONYMOUS, Principal, Role, TokenKeys, verify_token
from dualdraw.entrypoints.grpc.wrapping import Behaviour, Shape, wrap_handler
from dualdraw.runtime.telemetry import DENIALS
from dualdraw.service_layer.ports import UnitOfWork

log = logging.getLogger(__name__)
ACTOR_METADATA_KEY = "x-dualdraw-actor"
_CURRENT: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "dualdraw_principal", default=None
)


def current_principal() -> Principal | None:
    """The principal admitted for the call this thread is serving (``None`` outside a call)."""
    return _CURRENT.get()


@dataclass(frozen=True)
class Authenticator:
    """Turns call metadata into a principal. ``keys=None`` means auth is off (development on loopback):
    the caller is whoever the ``x-dualdraw-actor`` metadata says, with no restriction."""

    keys: TokenKeys | None

    def authenticate(self, metadata: dict[str, str], policy: MethodPolicy | None) -> Principal:
        if self.keys is None:
            actor = str(metadata.get(ACTOR_METADATA_KEY, "") or "anonymous")[:128]
            return Principal(actor, Role.DRAW_OPERATOR, "", unrestricted=True)
        header = metadata.get("authorization", "")
        if not header:
            if policy is not None and Role.PUBLIC in policy.roles:
                return ANONYMOUS
            raise Unauthenticated("this call needs a bearer token", reason="TOKEN_MISSING")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("the authorization header must be 'Bearer <token>'", reason="TOKEN_INVALID")
        return verify_token(self.keys, token.strip())


class Denied(PermissionDenied):
    """A denial that has been audited already."""


class Throttled(ResourceExhausted):
    """A refusal, counted in the audit log, of a caller over its refusal rate (``security.denials``)."""


class AccessGuard:
    """Role and jurisdiction checks against the live directory, with denials audited."""

    def __init__(
        self,
        reader: Callable[[], UnitOfWork],
        writer: Callable[[], UnitOfWork],
        *,
        denials: DenialLog | None = None,
        throttle: DenialThrottle | None = None,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self.denials = denials or DenialLog(writer)
        self._throttle = throttle or DenialThrottle(0, 1)

    def deny(self, principal: Principal, method: str, why: str, detail: str = "") -> Denied | Throttled:
        """Audits a refusal (``security.denials``: aggregated per caller, method and reason) and returns the
        error to raise: ``Throttled`` when the caller is over its refusal rate, else ``Denied`` (whose
        message never says whether a thing exists)."""
        denial = Denial(
            actor=principal.subject,
            method=method,
            why=why,
            role=principal.role.value,
            department_id=principal.department_id,
            target=detail,
            peer=current_peer(),
            authenticated=principal is not ANONYMOUS,
        )
        wait = self._throttle.take(denial.caller)
        DENIALS.labels(why.split(":", 1)[0], "yes" if wait is not None else "no").inc()
        self.denials.record(denial, write_now=wait is None)
        if wait is not None:
            return Throttled(
                f"too many refused calls from {denial.caller}; retry in {wait:.1f} s",
                retry_after_s=wait,
                reason="TOO_MANY_REFUSALS",
            )
        if why == "role":
            text = f"role {principal.role.value} may not call {method.rsplit('/', 1)[-1]}"
        else:
            text = "permission denied: the resource is outside your jurisdiction or does not exist"
        return Denied(text, reason="PERMISSION_DENIED")

    def authorize(self, principal: Principal, method: str, policy: MethodPolicy, request: Any) -> None:
        if principal.unrestricted:
            return
        if principal.role not in policy.roles:
            raise self.deny(principal, method, "role")
        if request is None:
            return
        for target in (policy.on, *policy.also):
            if target is not None and target.kind != "import":
                self._check(principal, method, policy, target, request)

    def _check(
        self, principal: Principal, method: str, policy: MethodPolicy, target: Target, request: Any
    ) -> None:
        """Denies the call unless the resource ``target`` names lies in the caller's subtree."""
        value = _get_field(request, target.field)
        with self._reader() as uow:
            if not value:
                if target.when_empty == "own":
                    _set_field(request, target.field, principal.department_id)
                    return
                if target.when_empty == "skip":
                    return
                if target.when_empty == "root" and resources.is_root(uow, principal.department_id):
                    return
                raise self.deny(principal, method, "unfiltered", target.field)
            mine = resources.subtree(uow, principal.department_id)
            if target.kind == "expert_import":
                inside = all(d is not None and d in mine for d in resources.expert_import_sides(uow, request))
            elif target.kind == "transfer":
                kind = record_kind_from_pb(request.kind)
                sides = resources.transfer_sides(uow, kind, value, request.to_department_id.strip())
                inside = kind is not None and all(side is not None and side in mine for side in sides)
            else:
                owner = resources.department_of(uow, target.kind, value)
                if owner is None and target.unknown_allowed:
                    return
                inside = owner is not None and (
                    owner == principal.department_id if target.exact else owner in mine
                )
            if inside and principal.role in policy.team_member:
                if target.kind in ("assignment", "inspection_record"):
                    draw_id, position = resources.assignment_key(uow, target.kind, value) or ("", 0)
                else:
                    draw_id = value
                    position = int(_get_field(request, target.field.rsplit(".", 1)[0] + ".position") or 0)
                inside = principal.subject in resources.team_of(uow, draw_id, position)
        if not inside:
            raise self.deny(principal, method, "jurisdiction", f"{target.kind}:{value}")

    def guard_import(self, principal: Principal, method: str, chunks: Iterator[Any]) -> Iterator[Any]:
        """Passes import chunks through, denying the call at the first record outside the subtree.

        A record is inside when the department it names is inside *and*, when it replaces a stored record,
        the stored record's owner is inside too (an import never takes over another branch's record). The
        stored owners are read in bulk: one query per chunk and record kind.
        """
        if principal.unrestricted:
            yield from chunks
            return
        with self._reader() as uow:
            allowed = set(resources.subtree(uow, principal.department_id))
        batch_codes: set[str] = set()
        for chunk in chunks:
            with self._reader() as uow:
                outside = resources.first_outside(uow, chunk, allowed, batch_codes)
            if outside is not None:
                raise self.deny(principal, method, "jurisdiction", outside)
            yield chunk


def _get_field(message: Any, path: str) -> str:
    if not path:
        return ""
    value = message
    for part in path.split("."):
        value = getattr(value, part)
    return str(value).strip()


def _set_field(message: Any, path: str, value: str) -> None:
    if not path:
        return
    *parents, last = path.split(".")
    for part in parents:
        message = getattr(message, part)
    setattr(message, last, value)


class SecurityInterceptor(grpc.ServerInterceptor):
    """Admits each call (see the module docstring); health and reflection stay open."""

    def __init__(self, authenticator: Authenticator, guard: AccessGuard) -> None:
        self._authenticator = authenticator
        self._guard = guard

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method.startswith(OPEN_PREFIXES):
            return handler
        return wrap_handler(handler, lambda behaviour, shape: self._admitting(behaviour, shape, method))

    def _admit(self, method: str, context: grpc.ServicerContext, request: Any) -> Principal:
        metadata = {k: v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)}
        # refusals of this call, import chunks included, are counted against it
        bind_peer(caller_address(context.peer(), metadata))
        policy = policy_for(method)
        try:
            principal = self._authenticator.authenticate(metadata, policy)
        except Unauthenticated as error:
            refusal = self._guard.deny(ANONYMOUS, method, f"unauthenticated: {error.reason}")
            if isinstance(refusal, Throttled):
                raise refusal from error
            raise
        if policy is None:
            log.error("no authorization policy for %s: denied (add it to security/policy.py)", method)
            raise self._guard.deny(principal, method, "role", "no policy")
        self._guard.authorize(principal, method, policy, request)
        return principal

    def _admitting(self, behaviour: Behaviour, shape: Shape, method: str) -> Behaviour:
        if shape == "unary_unary":

            def unary(request: Any, context: grpc.ServicerContext) -> Any:
                token = _CURRENT.set(self._admit(method, context, request))
                try:
                    return behaviour(request, context)
                finally:
                    _CURRENT.reset(token)

            return unary
        if shape == "unary_stream":

            def unary_stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                token = _CURRENT.set(self._admit(method, context, request))
                try:
                    yield from behaviour(request, context)
                finally:
                    _CURRENT.reset(token)

            return unary_stream

        def streaming(requests: Iterator[Any], context: grpc.ServicerContext) -> Any:
            principal = self._admit(method, context, None)
            policy = policy_for(method)
            if policy is not None and policy.on is not None and policy.on.kind == "import":
                requests = self._guard.guard_import(principal, method, requests)
            token = _CURRENT.set(principal)
            try:
                return behaviour(requests, context)
            finally:
                _CURRENT.reset(token)

        return streaming
