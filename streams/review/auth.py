"""Authentication and roles as FastAPI dependencies, checked on the server for every call; ``/users``.

Every call needs ``Authorization: Bearer <token>``: no token or a bad one is 401, a role the call
needs and the user lacks is 403. Four-eyes is the rules' (:mod:`streams.review.service`), also on
the server.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from streams.review.service import ReviewService
from streams.review.users import Role, User

_bearer = HTTPBearer(auto_error=False, description="a token made by txscreen users add")


def service_of(request: Request) -> ReviewService:
    """The app's review service."""
    service: ReviewService = request.app.state.service
    return service


def current_user(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> User:
    """The authenticated caller (401 with no token or a bad one)."""
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None or not credentials.credentials:
        raise HTTPException(
            401, "this call needs an Authorization: Bearer <token> header.", headers=challenge
        )
    user = service_of(request).users.authenticate(credentials.credentials)
    if user is None:
        raise HTTPException(401, "the bearer token is not valid.", headers=challenge)
    return user


def require(role: Role) -> Any:
    """A dependency: the caller, who must hold ``role`` (403 otherwise)."""

    def check(user: Annotated[User, Depends(current_user)]) -> User:
        if not user.has(role):
            raise HTTPException(403, f"{user.name} lacks the {role.value} role this call needs.")
        return user

    return check


CurrentUser = Annotated[User, Depends(current_user)]
Service = Annotated[ReviewService, Depends(service_of)]

router = APIRouter(prefix="/users", tags=["users"])


@router.get("/me")
def me(user: CurrentUser) -> dict[str, Any]:
    """Who the token belongs to, and their roles."""
    return {"name": user.name, "roles": user.role_names}
