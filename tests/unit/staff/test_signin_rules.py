"""The pure rules of sign-in and user management: where a link may send the browser, and who
may create or manage whom."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from staff.access import Role, Viewer
from staff.links import safe_next
from staff.users import StaffUser, may_create, may_manage


@pytest.mark.parametrize(
    "value",
    [
        "/ansatt",
        "/ansatt/",
        "/ansatt/venteliste",
        "/ansatt/venteliste?tema=angst&side=2",
        "/ansatt/grupper/8efb8060-4b02-4afc-ba61-6ca9970752c2",
    ],
)
def test_console_paths_are_kept(value: str) -> None:
    assert safe_next(value) == value


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "//evil.example/ansatt",
        "https://evil.example/ansatt",
        "http:/ansatt",
        "/ansatt.evil.example",
        "/ansattx",
        "/\\evil.example",
        "/ansatt\\..\\x",
        "/ansatt/../meld-interesse",
        "/ansatt/\r\nSet-Cookie: x=1",
        "/meld-interesse",
        "javascript:alert(1)",
        "ansatt",
    ],
)
def test_anything_else_goes_to_the_console_start(value: str | None) -> None:
    assert safe_next(value) == "/ansatt"


def _viewer(role: Role, region: str | None = None) -> Viewer:
    return Viewer(
        user_id=uuid.uuid4(),
        name="V",
        email="v@example.no",
        role=role,
        organisation_id=uuid.uuid4() if role is Role.STAFF else None,
        region_slug=region,
        two_factor=True,
    )


def test_who_may_create_whom() -> None:
    admin = _viewer(Role.ADMINISTRATOR)
    west = _viewer(Role.COORDINATOR, "vestland")
    staff = _viewer(Role.STAFF)
    for role in Role:
        assert may_create(admin, role, organisation_region="oslo", region_slug="oslo")
        assert not may_create(staff, role, organisation_region=None, region_slug=None)
    assert may_create(west, Role.STAFF, organisation_region="vestland", region_slug=None)
    assert not may_create(west, Role.STAFF, organisation_region="oslo", region_slug=None)
    assert may_create(west, Role.COORDINATOR, organisation_region=None, region_slug="vestland")
    assert not may_create(west, Role.COORDINATOR, organisation_region=None, region_slug="oslo")
    assert not may_create(west, Role.ADMINISTRATOR, organisation_region=None, region_slug=None)


def _user(role: Role, region: str | None, user_id: uuid.UUID | None = None) -> StaffUser:
    return StaffUser(
        id=user_id or uuid.uuid4(),
        name="U",
        email="u@example.no",
        role=role,
        organisation_id=None,
        organisation_name=None,
        region_slug=region,
        scope_region=region,
        region_name=None,
        created_at=datetime(2026, 12, 1, tzinfo=UTC),
        last_sign_in_at=None,
        disabled_at=None,
    )


def test_who_may_disable_whom() -> None:
    admin = _viewer(Role.ADMINISTRATOR)
    west = _viewer(Role.COORDINATOR, "vestland")
    assert may_manage(admin, _user(Role.ADMINISTRATOR, None))
    assert not may_manage(admin, _user(Role.ADMINISTRATOR, None, admin.user_id))  # not oneself
    assert may_manage(west, _user(Role.STAFF, "vestland"))
    assert may_manage(west, _user(Role.COORDINATOR, "vestland"))
    assert not may_manage(west, _user(Role.STAFF, "oslo"))
    assert not may_manage(west, _user(Role.ADMINISTRATOR, None))
    assert not may_manage(_viewer(Role.STAFF), _user(Role.STAFF, "vestland"))
