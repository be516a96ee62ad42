"""Rich menus linked to and unlinked from members, one at a time and in bulk."""

from __future__ import annotations

from segmentry.activation.line import LineClient
from segmentry.testing.line import FakeLine, user_id


def test_link_and_unlink_one_user(line: FakeLine, client: LineClient) -> None:
    alice, bob = line.add_user(), line.add_user()
    menu = line.add_rich_menu()
    outcome = client.link_rich_menu(alice, menu)
    assert (outcome.ok, outcome.http_status) == (True, 200)
    assert (line.rich_menu_of(alice), line.rich_menu_of(bob)) == (menu, None)
    assert client.api.get_rich_menu_id_of_user(alice).rich_menu_id == menu
    assert client.unlink_rich_menu(alice).ok
    assert line.rich_menu_of(alice) is None


def test_a_link_to_a_menu_that_does_not_exist_is_a_recorded_failure(
        line: FakeLine, client: LineClient) -> None:
    alice = line.add_user()
    outcome = client.link_rich_menu(alice, "richmenu-missing")
    assert (outcome.ok, outcome.http_status, outcome.reason) == \
        (False, 400, "richmenu not found")
    assert line.rich_menu_of(alice) is None


def test_bulk_link_and_unlink(line: FakeLine, client: LineClient) -> None:
    members = [line.add_user() for _ in range(4)]
    menu, other = line.add_rich_menu(), line.add_rich_menu()
    line.channel.links[members[3]] = other
    outcome = client.link_rich_menu_bulk(menu, [*members[:3], user_id(777)])
    assert (outcome.ok, outcome.http_status) == (True, 202)
    assert [line.rich_menu_of(m) for m in members] == [menu, menu, menu, other]
    assert line.rich_menu_of(user_id(777)) is None  # not a friend: nothing to link
    assert client.unlink_rich_menu_bulk(members[:2]).ok
    assert [line.rich_menu_of(m) for m in members] == [None, None, menu, other]
